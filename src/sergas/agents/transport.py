"""The MCP server on its two transports.

- stdio (`run_stdio`): one client, the process that started us. Its identity is the API key
  in SERGAS_MCP_API_KEY; without one it is a read-only local client ("local (stdio)").
- streamable HTTP (`create_mcp_app`): any number of clients at /mcp, each sending its API
  key as `Authorization: Bearer …` on every request; checked here, before the MCP layer,
  and handed to the tools in the request's state. /healthz answers without a key.

A refused key is audited and logged on both (`sergas.agents.audit.record_refusal`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from sergas.access.approvals import ApprovalStore
from sergas.access.audit import AuditLog
from sergas.access.keys import ApiKeyStore
from sergas.access.principal import Principal
from sergas.agents.audit import record_refusal
from sergas.agents.server import PRINCIPAL_STATE_KEY, AgentServices, build_server
from sergas.agents.settings import AgentSettings, load_agent_settings
from sergas.agents.sweep_view import SweepView
from sergas.errors import AuthError
from sergas.manager import IntegrationConfig
from sergas.runtime import Runtime, open_runtime
from sergas.settings import Settings

__all__ = ["LOCAL_CLIENT", "create_mcp_app", "run_stdio", "services_for"]

LOCAL_CLIENT = Principal(None, "local (stdio)", "read")


def services_for(runtime: Runtime, agent: AgentSettings) -> AgentServices:
    return AgentServices(
        manager=runtime.manager,
        approvals=ApprovalStore(runtime.engine),
        audit=AuditLog(runtime.engine),
        sweep=SweepView(runtime.engine, runtime.scope),
        max_results=agent.max_results,
    )


@contextlib.asynccontextmanager
async def _runtime(
    runtime: Runtime | None,
    settings: Settings | None,
    config: IntegrationConfig | None,
    agent: AgentSettings,
) -> AsyncIterator[Runtime]:
    if runtime is not None:
        yield runtime
        return
    async with open_runtime(settings, config) as opened:
        yield opened


def _keys(runtime: Runtime, agent: AgentSettings) -> ApiKeyStore:
    return ApiKeyStore(runtime.engine, cache_seconds=agent.api_key_cache_seconds)


async def run_stdio(
    runtime: Runtime | None = None,
    *,
    settings: Settings | None = None,
    config: IntegrationConfig | None = None,
    agent: AgentSettings | None = None,
) -> None:
    """Serve one client on stdin/stdout until it closes them."""
    agent = agent or load_agent_settings()
    async with _runtime(runtime, settings, config, agent) as rt:
        key, keys = agent.api_key, _keys(rt, agent)

        async def identity() -> Principal:
            if key is None:
                return LOCAL_CLIENT
            return await keys.authenticate(key.get_secret_value())

        services = services_for(rt, agent)
        try:
            await identity()  # a bad key fails here, before the client connects
        except AuthError as exc:
            await record_refusal(services.audit, "stdio", exc, "(session start)")
            raise
        server = build_server(services, transport="stdio", identity=identity)
        await server.run_stdio_async()


def _unauthorized(code: str, message: str) -> Response:
    return JSONResponse(
        {"error": {"code": code, "message": message, "details": {}}},
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer realm="sergas"'},
    )


class _Endpoint:
    """/mcp: the caller's API key checked, then the MCP session manager."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = scope["app"].state
        keys: ApiKeyStore = state.keys
        try:
            who = await keys.authenticate_header(Headers(scope=scope).get("authorization"))
        except AuthError as exc:
            client = scope.get("client")
            await record_refusal(
                state.audit,
                "http",
                exc,
                f"{scope['method']} {scope['path']}"[:64],
                remote=client[0] if client else None,
            )
            await _unauthorized(exc.code, exc.message)(scope, receive, send)
            return
        scope.setdefault("state", {})[PRINCIPAL_STATE_KEY] = who
        manager: StreamableHTTPSessionManager = state.mcp
        await manager.handle_request(scope, receive, send)


async def _healthz(_: Request) -> Response:
    return JSONResponse({"status": "ok"})


def create_mcp_app(
    runtime: Runtime | None = None,
    *,
    settings: Settings | None = None,
    config: IntegrationConfig | None = None,
    agent: AgentSettings | None = None,
) -> Starlette:
    """The streamable HTTP app (/mcp, /healthz); its lifespan opens the runtime."""
    agent = agent or load_agent_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with _runtime(runtime, settings, config, agent) as rt:
            services = services_for(rt, agent)
            server = build_server(services, transport="http")
            server.streamable_http_app(host=agent.host)  # builds the session manager
            manager = server.session_manager
            async with manager.run():
                app.state.keys, app.state.mcp = _keys(rt, agent), manager
                app.state.audit = services.audit
                yield

    return Starlette(
        routes=[Route("/mcp", _Endpoint()), Route("/healthz", _healthz)], lifespan=lifespan
    )
