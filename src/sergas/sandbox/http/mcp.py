"""The MCP endpoint's routes, the endpoint itself loaded on its first request.

Importing `mcp` and building the server's tools takes ~0.7 s. The embedded sandbox that
`sergas accounts` starts per command is usually spoken to over REST only, so that cost is
paid when /mcp is first called: `sergas.sandbox.mcp_server` is imported then, and its
service started in the app's lifespan (a task of this hook's task group), as it would have
been at start-up. Everything it answers is unchanged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from sergas.sandbox.http.common import json_response

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from sergas.sandbox.mcp_server import McpService

__all__ = ["LazyMcp", "install"]


class LazyMcp:
    """Loads and starts the app's `McpService` when /mcp is first called."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self._wanted: anyio.Event | None = None  # set by the first /mcp call
        self._ready: anyio.Event | None = None  # set once the service runs (or failed to)
        self._error: Exception | None = None

    @property
    def loaded(self) -> McpService | None:
        service: McpService | None = getattr(self.app.state, "mcp", None)
        return service

    @asynccontextmanager
    async def run(self) -> AsyncIterator[None]:
        """The app lifespan hook."""
        stop = anyio.Event()
        self._wanted, self._ready = anyio.Event(), anyio.Event()
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._serve, self._wanted, self._ready, stop)
            try:
                yield
            finally:
                self._wanted = self._ready = None
                stop.set()

    async def _serve(self, wanted: anyio.Event, ready: anyio.Event, stop: anyio.Event) -> None:
        async with anyio.create_task_group() as waiting:  # whichever comes first

            async def until(event: anyio.Event) -> None:
                await event.wait()
                waiting.cancel_scope.cancel()

            waiting.start_soon(until, wanted)
            waiting.start_soon(until, stop)
        if stop.is_set():
            return
        try:
            service = self._load()
            async with service.run():
                ready.set()
                await stop.wait()
        except Exception as exc:  # answered as a 500 by the app; the app keeps serving
            self._error = exc
            ready.set()

    def _load(self) -> McpService:
        service = self.loaded
        if service is None:
            from sergas.sandbox.mcp_server import McpService

            service = self.app.state.mcp = McpService(self.app.state.sandbox)
        return service

    async def service(self) -> McpService:
        """The endpoint's service, started first if the app's lifespan runs."""
        wanted, ready = self._wanted, self._ready
        if wanted is None or ready is None:  # no lifespan: the service answers so itself
            return self._load()
        wanted.set()
        await ready.wait()
        if self._error is not None:
            raise RuntimeError("the MCP endpoint failed to start") from self._error
        return self._load()


def _lazy(app: Starlette) -> LazyMcp:
    lazy: LazyMcp = app.state.lazy_mcp
    return lazy


class _Endpoint:
    """`/mcp` as a raw ASGI app (a Route hands a class instance scope, receive and send)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        service = await _lazy(scope["app"]).service()
        await service(scope, receive, send)


async def _restart(request: Request) -> Response:
    """Test hook: forget every MCP session, as a server restart would (none before the
    endpoint's first call)."""
    service = _lazy(request.app).loaded
    if service is not None:
        await service.restart()
    return json_response({"status": "success"})


def install(app: Starlette) -> None:
    """Give the app its lazily loaded MCP endpoint, run in the app's lifespan."""
    lazy = app.state.lazy_mcp = LazyMcp(app)
    app.state.lifespan_hooks.append(lazy.run)


ROUTES = [
    Route("/mcp", _Endpoint()),
    Route("/__sandbox/mcp/restart", _restart, methods=["POST"]),
]
