"""The sandbox as one ASGI app: routes as data, cross-cutting behaviour as middleware."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import anyio
import orjson
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

from sergas.sandbox import errors as E
from sergas.sandbox.backend import Sandbox
from sergas.sandbox.config import SandboxConfig
from sergas.sandbox.http import bulk, control, crm, mcp, oauth, related, settings
from sergas.sandbox.http.common import JSON_TYPE, SLOT_HELD, error_response
from sergas.sandbox.limits import CLIENT_HEADER, client_name
from sergas.sandbox.oauth import bearer_token

_DIGITS = re.compile(r"/\d{6,}")
_FAULT_ERRORS: dict[int, type[E.ZohoError]] = {
    413: E.FileTooLarge,
    429: E.TooManyRequests,
    500: E.InternalError,
    503: E.ServiceUnavailable,
}


_TEMPLATES_KEPT = 1024


def endpoint_name(method: str, path: str) -> str:
    """A bounded stats key: record and job ids collapse to {id}."""
    return f"{method} {_DIGITS.sub('/{id}', path)}"


class SandboxMiddleware:
    """Counts calls (per path and per route template), injects faults, holds the org's
    concurrency slot for CRM requests, and simulates the latency of the Accounts routes.

    A CRM request holds its slot from arrival until its response is sent, as Zoho counts
    it; the backend operation it runs (`Sandbox.api_call`) then adds the sub-concurrency
    slot of heavy APIs and the latency. MCP tool calls take their slot in the operation.
    """

    def __init__(self, app: ASGIApp, sandbox: Sandbox, routes: list[BaseRoute]) -> None:
        self.app = app
        self.sb = sandbox
        self.routes = routes
        self._templates: dict[str, str | None] = {}

    def template(self, scope: Scope, name: str) -> str | None:
        """`GET /crm/v8/{module}` for `GET /crm/v8/Accounts`: the route the call matches."""
        if name in self._templates:
            return self._templates[name]
        found: str | None = None
        for route in self.routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                found = f"{scope['method']} {getattr(route, 'path', '')}"
                break
        if len(self._templates) >= _TEMPLATES_KEPT:
            self._templates.clear()
        self._templates[name] = found
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/__sandbox"):
            await self.app(scope, receive, send)
            return
        sb = self.sb
        method, path = scope["method"], scope["path"]
        name = endpoint_name(method, path)
        sb.calls[name] += 1
        template = self.template(scope, name)
        if template is not None:
            sb.endpoints[template] += 1
        headers = (
            frozenset(key.decode("latin-1").lower() for key, _ in scope["headers"])
            if sb.faults.targeted
            else frozenset()
        )
        fault = sb.faults.pick(method, path, headers)
        if fault == "hang":
            await anyio.sleep(sb.faults.hang_seconds)
            fault = "drop"
        if fault == "drop":
            await self._drop(send)
            return
        if isinstance(fault, int):
            await self._fail(fault, scope, receive, send, sb.faults.retry_after)
            return
        if path.startswith("/crm/"):
            await self._crm(scope, receive, send)
            return
        if not path.startswith("/mcp"):
            delay = sb.faults.latency()
            if delay:
                await anyio.sleep(delay)
        await self.app(scope, receive, send)

    async def _crm(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        client = client_name(headers.get(CLIENT_HEADER), bearer_token(headers.get("authorization")))
        try:
            self.sb.limits.enter(client)
        except E.ZohoError as exc:
            await error_response(exc)(scope, receive, send)
            return
        scope.setdefault("state", {})[SLOT_HELD] = True
        try:
            await self.app(scope, receive, send)
        finally:
            self.sb.limits.leave(client)

    @staticmethod
    async def _drop(send: Send) -> None:
        """Promise a body, send half of it and stop: the client sees the connection break."""
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", JSON_TYPE.encode()), (b"content-length", b"64")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"data":[', "more_body": True})

    @staticmethod
    async def _fail(
        status: int, scope: Scope, receive: Receive, send: Send, retry_after: int | None
    ) -> None:
        cls = _FAULT_ERRORS.get(status)
        if cls is not None:
            response = error_response(cls())
        else:
            body = {
                "code": "INTERNAL_ERROR",
                "details": {},
                "message": "injected fault",
                "status": "error",
            }
            response = Response(orjson.dumps(body), status_code=status, media_type=JSON_TYPE)
        if status == 429 and retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
        await response(scope, receive, send)


async def _not_found(request: Request, exc: Exception) -> Response:
    if isinstance(exc, HTTPException) and exc.status_code == 405:
        return error_response(E.InvalidRequestMethod())
    return error_response(E.InvalidUrlPattern())


async def _internal(request: Request, exc: Exception) -> Response:
    return error_response(E.InternalError())


def create_app(config: SandboxConfig | None = None, *, sandbox: Sandbox | None = None) -> Starlette:
    """The sandbox ASGI app over a new (or the given) backend."""
    sb = sandbox or Sandbox(config)
    # Fixed paths before templates: POST /crm/v8/upload would otherwise match
    # /crm/v8/{module}, GET /crm/v8/users/{id} /crm/v8/{module}/{id}, and
    # GET /crm/v8/Accounts/actions/count /crm/v8/{module}/{id}/{related}.
    routes: list[Any] = [
        *control.ROUTES,
        *oauth.ROUTES,
        *bulk.ROUTES,
        *settings.ROUTES,
        *crm.ROUTES,
        *related.ROUTES,
        *crm.RECORD_ROUTES,
        *mcp.ROUTES,
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            for hook in app.state.lifespan_hooks:
                await stack.enter_async_context(hook())
            yield

    app = Starlette(
        routes=routes,
        exception_handlers={404: _not_found, 405: _not_found, Exception: _internal},
        lifespan=lifespan,
    )
    app.state.sandbox = sb
    app.state.lifespan_hooks = []
    mcp.install(app)
    app.add_middleware(SandboxMiddleware, sandbox=sb, routes=routes)
    return app
