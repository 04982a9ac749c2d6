"""The HTTP service: `create_app()` builds the FastAPI app; its lifespan opens the runtime.

```
RequestContextMiddleware  request id, access log, HTTP metrics, last-resort 500
└ BodyLimitMiddleware     413 for a body over SERGAS_SERVICE_MAX_BODY_BYTES, unread
  └ FastAPI               validation (422), errors → JSON (sergas.service.errors)
    ├ ops                 /healthz /readyz /metrics /v1/tiers/*
    ├ accounts            /v1/accounts/*   (bearer API key; writes need write scope)
    ├ activity            /v1/accounts/{id}/related/*, /notes (a read key's note: a proposal)
    ├ web                 / and its pages  (the dashboard: sergas.web)
    └ jobs                /v1/jobs/*       (the job queue: only when the database is PostgreSQL)
```

Pass a `Runtime` to serve one opened elsewhere (tests); otherwise the lifespan opens one
(`sergas.runtime.open_runtime`) and closes it at shutdown, after uvicorn has let in-flight
requests finish. API keys are checked against the runtime's database (`sergas.access`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from sergas import __version__, web
from sergas.access.keys import ApiKeyStore
from sergas.db.engine import safe_url
from sergas.jobs.queue import open_queue
from sergas.log import get_logger
from sergas.manager import IntegrationConfig, PrometheusMetrics
from sergas.runtime import Runtime, open_runtime
from sergas.service import accounts, activity, jobs, ops
from sergas.service.errors import JSONResponse, install_handlers
from sergas.service.limits import BodyLimitMiddleware
from sergas.service.middleware import HttpMetrics, RequestContextMiddleware
from sergas.service.settings import ServiceSettings, load_service_settings
from sergas.settings import Settings, get_settings

__all__ = ["create_app"]

log = get_logger("sergas.service")

DESCRIPTION = """\
A gateway to Zoho CRM: accounts through three tiers (Zoho's MCP endpoint, its SDK, its REST
API) with failover, circuit breakers and metrics.

Authenticate with `Authorization: Bearer <API key>` (`sergas apikeys create`). Keys with
read scope can read; writes need write scope. Errors are
`{"error": {"code", "message", "details"}, "request_id"}`; every response carries
`X-Request-ID` (send your own to trace a call through the logs).
"""


def create_app(
    runtime: Runtime | None = None,
    *,
    settings: Settings | None = None,
    config: IntegrationConfig | None = None,
    service: ServiceSettings | None = None,
    embedded: bool = False,
) -> FastAPI:
    service = service or load_service_settings()
    prometheus = runtime.prometheus if runtime is not None else PrometheusMetrics()
    http_metrics = HttpMetrics(prometheus.registry)

    def serve(app: FastAPI, rt: Runtime) -> None:
        app.state.runtime = rt
        app.state.keys = ApiKeyStore(rt.engine, cache_seconds=service.api_key_cache_seconds)

    # The job queue lives in PostgreSQL: on SQLite the service has no /v1/jobs at all.
    with_jobs = (
        runtime.engine.dialect.name == "postgresql"
        if runtime is not None
        else (settings or get_settings()).effective_database_url.startswith("postgres")
    )

    @contextlib.asynccontextmanager
    async def queue_for(app: FastAPI, rt: Runtime) -> AsyncIterator[None]:
        if not with_jobs:
            yield
            return
        async with open_queue(rt.settings, engine=rt.engine) as queue:
            app.state.queue = queue
            yield

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if runtime is not None:  # served since create_app()
            async with queue_for(app, runtime):
                yield
            return
        # The embedded sandbox in a process of its own: in a thread, its searches would
        # take turns with every page and API call for this process's GIL.
        async with (
            open_runtime(
                settings, config, prometheus=prometheus, embedded=embedded, sandbox_process=True
            ) as opened,
            queue_for(app, opened),
        ):
            serve(app, opened)
            tiers = opened.manager.config.enabled_tiers
            log.info("service started", tiers=tiers, database=safe_url(opened.engine.url))
            yield
            log.info("service stopping: closing the manager and the database")
        log.info("service stopped")

    app = FastAPI(
        title="Sergas",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        default_response_class=JSONResponse,
    )
    if runtime is not None:
        serve(app, runtime)  # usable without the lifespan (an in-process client)
    app.state.service_settings = service
    app.state.readiness = ops.Readiness(service.readiness_cache_seconds)
    install_handlers(app)
    app.include_router(ops.router)
    app.include_router(accounts.router)
    app.include_router(activity.router)
    app.include_router(web.router)
    if with_jobs:
        app.include_router(jobs.router)
    app.add_middleware(BodyLimitMiddleware, max_bytes=service.max_body_bytes)
    app.add_middleware(RequestContextMiddleware, metrics=http_metrics)
    return app
