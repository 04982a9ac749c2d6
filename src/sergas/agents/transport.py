"""The MCP server on its two transports.

- stdio (`run_stdio`): one client, the process that started us. Its identity is the API key
  in SERGAS_MCP_API_KEY; without one it is a read-only local client ("local (stdio)").
- streamable HTTP (`create_mcp_app`): any number of clients at /mcp, each sending its API
  key as `Authorization: Bearer …` on every request; checked here, before the MCP layer,
  and handed to the tools in the request's state. /healthz answers without a key.

Sergas does not use OAuth. MCP's authorization spec has clients answer a 401 by discovering
an authorization server (`/.well-known/oauth-protected-resource`, then
`/.well-known/oauth-authorization-server`, then registering at `/register`), and many show
only that flow's failure. So a 401 says in its body and in its `WWW-Authenticate`
`error_description` how to pass the key, and every discovery and OAuth path answers 404
with the same message: a client that reports a failed discovery or registration reports
it. No protected-resource metadata is served: MCP requires it to name at least one
authorization server, and there is none to name.

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


HOW = (
    "send a Sergas API key (sgk_…, from `sergas apikeys create`) as "
    "`Authorization: Bearer <key>` on every request; Sergas does not use OAuth"
)
_HOW_DETAILS = {
    "header": "Authorization: Bearer <Sergas API key>",
    "create_key": "sergas apikeys create --name NAME --scope read|write",
    "oauth": False,
}
# Where clients that speak MCP's authorization spec look for OAuth (RFC 9728, RFC 8414,
# OpenID discovery, and the 2025-03-26 default endpoints).
OAUTH_PATHS = (
    "/.well-known/oauth-protected-resource",
    "/.well-known/oauth-authorization-server",
    "/.well-known/openid-configuration",
    "/register",
    "/authorize",
    "/token",
)


def _unauthorized(code: str, message: str) -> Response:
    said = f"{message}: {HOW}"
    challenge = 'Bearer realm="sergas"'
    if code != "UNAUTHENTICATED":
        challenge += ', error="invalid_token"'
    # RFC 6750: error_description is ASCII without quotes or backslashes.
    plain = said.replace("…", "...").replace('"', "'").replace("`", "")
    challenge += f', error_description="{plain}"'
    return JSONResponse(
        {"error": {"code": code, "message": said, "details": _HOW_DETAILS}},
        status_code=401,
        headers={"WWW-Authenticate": challenge},
    )


async def _no_oauth(request: Request) -> Response:
    return JSONResponse(
        {
            "error": {
                "code": "OAUTH_NOT_SUPPORTED",
                "message": f"no OAuth here: {HOW}",
                "details": _HOW_DETAILS,
            }
        },
        status_code=404,
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

    oauth = [Route(path, _no_oauth, methods=["GET", "POST"]) for path in OAUTH_PATHS]
    oauth += [
        Route(f"{path}/{{rest:path}}", _no_oauth, methods=["GET", "POST"])
        for path in OAUTH_PATHS
        if path.startswith("/.well-known/")
    ]
    return Starlette(
        routes=[Route("/mcp", _Endpoint()), Route("/healthz", _healthz), *oauth],
        lifespan=lifespan,
    )
