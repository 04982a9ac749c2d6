"""Operations: /healthz, /readyz, /metrics (no key needed), and /v1/tiers (a key needed).

/readyz is ready when the database answers and a read can succeed: at least one tier is
usable, i.e. reads are routed to it now (switched on, configured, its breaker not open; only
the first choice when failover is off) and its last health check passed. Health checks are
real Zoho calls, so /readyz runs them at most once per `readiness_cache_seconds` (concurrent
probes share one run); the routing and the breakers are read live on every probe.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict
from starlette.responses import Response

from sergas.manager.config import parse_tier_name
from sergas.runtime import Runtime
from sergas.service.auth import Reader, Writer, get_runtime
from sergas.service.errors import JSONResponse
from sergas.service.responses import Health, ResetResult, TierReport, errors
from sergas.service.responses import Readiness as ReadinessBody
from sergas.tiers.base import TierName

__all__ = ["Readiness", "router"]

router = APIRouter()


class Readiness:
    """The cached half of /readyz: the tiers' last health checks."""

    def __init__(self, cache_seconds: float) -> None:
        self.cache_seconds = cache_seconds
        self._checked: dict[TierName, dict[str, Any]] | None = None
        self._at = 0.0
        self._lock = asyncio.Lock()

    async def tiers(self, runtime: Runtime) -> dict[TierName, dict[str, Any]]:
        if self._fresh():
            assert self._checked is not None
            return self._checked
        async with self._lock:
            if not self._fresh():
                self._checked = await runtime.manager.get_tier_health()
                self._at = time.monotonic()
            assert self._checked is not None
            return self._checked

    def _fresh(self) -> bool:
        return self._checked is not None and time.monotonic() - self._at < self.cache_seconds


@router.get("/healthz", tags=["operations"], summary="The process is alive", response_model=Health)
async def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@router.get(
    "/readyz",
    tags=["operations"],
    summary="Database reachable, reads can succeed",
    response_model=ReadinessBody,
    responses={503: {"model": ReadinessBody, "description": "Not ready (the same body)"}},
)
async def readyz(request: Request) -> JSONResponse:
    runtime = get_runtime(request)
    readiness: Readiness = request.app.state.readiness
    database, checked = await asyncio.gather(runtime.database_ok(), readiness.tiers(runtime))
    reads = runtime.manager.routed("get_account")
    tiers: dict[str, Any] = {}
    for name, entry in checked.items():
        breaker_open = runtime.manager.breaker(name).is_open()
        usable = bool(name in reads and entry.get("healthy") and not breaker_open)
        tiers[name] = {
            "enabled": entry["enabled"],
            "configured": entry["configured"],
            "healthy": entry.get("healthy"),
            "breaker_open": breaker_open,
            "reads": name in reads,
            "usable": usable,
            "detail": entry.get("detail", ""),
        }
    down = runtime.target.down() if runtime.target.down else None
    ready = database and down is None and any(t["usable"] for t in tiers.values())
    body: dict[str, Any] = {
        "status": "ready" if ready else "not ready",
        "database": database,
        "tiers": tiers,
    }
    if down is not None:
        body["crm"] = down
    return JSONResponse(body, 200 if ready else 503)


@router.get(
    "/metrics",
    tags=["operations"],
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text exposition",
            "content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}},
        }
    },
)
async def metrics(request: Request) -> Response:
    registry = get_runtime(request).prometheus.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


@router.get(
    "/v1/tiers/health",
    tags=["tiers"],
    summary="Run every tier's health check now",
    response_model=TierReport,
    responses=errors(401),
)
async def tiers_health(request: Request, _: Reader) -> JSONResponse:
    return JSONResponse({"tiers": await get_runtime(request).manager.get_tier_health()})


@router.get(
    "/v1/tiers/metrics",
    tags=["tiers"],
    summary="Per-tier counts and latencies",
    response_model=TierReport,
    responses=errors(401),
)
async def tiers_metrics(request: Request, _: Reader) -> JSONResponse:
    return JSONResponse({"tiers": get_runtime(request).manager.get_tier_metrics()})


class ResetRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tier: TierName | None = None  # all tiers when absent


@router.post(
    "/v1/tiers/reset",
    tags=["tiers"],
    summary="Close circuit breakers",
    response_model=ResetResult,
    responses=errors(401, 403, 413, 422),
)
async def tiers_reset(
    request: Request,
    _: Writer,
    body: Annotated[ResetRequest | None, Body()] = None,
) -> JSONResponse:
    manager = get_runtime(request).manager
    tier = parse_tier_name(body.tier) if body and body.tier else None
    manager.reset_circuit_breakers(tier)
    names: list[TierName] = [tier] if tier else ["mcp", "sdk", "rest"]
    return JSONResponse(
        {"reset": names, "breakers": {n: manager.breaker(n).status() for n in names}}
    )
