"""The sandbox's MCP endpoint: Zoho CRM tools over streamable HTTP at /mcp, on the same state.

The tools are in `mcp_tools` and `mcp_activity`: each is the MCP twin of a REST call, on
the same backend operation (same credits and limits), answering Zoho's JSON.

Transport: stateful streamable HTTP with JSON responses for handshake-era clients (the
`initialize` handshake and `Mcp-Session-Id`); 2026-era clients are served per request, with
no session. Every HTTP request must carry a sandbox access token (`Bearer`, as MCP clients
send it, or `Zoho-oauthtoken`), checked before the MCP layer. Sessions live in memory: after
a restart (or `POST /__sandbox/mcp/restart`) an old session id answers 404 and the client
initializes again; an `initialize` that still carries the stale id is served as a new
session rather than refused. The routes that load this module on the first /mcp call are in
`sergas.sandbox.http.mcp`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import anyio
import orjson
from anyio.abc import TaskGroup, TaskStatus
from mcp.server.streamable_http import MCP_SESSION_ID_HEADER
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

from sergas.sandbox import errors as E
from sergas.sandbox.http.common import error_response
from sergas.sandbox.limits import CLIENT_HEADER
from sergas.sandbox.mcp_common import CALLER_STATE_KEY
from sergas.sandbox.mcp_tools import build_server
from sergas.sandbox.oauth import MCP_SCHEMES

if TYPE_CHECKING:
    from sergas.sandbox.backend import Sandbox

SESSION_IDLE_TIMEOUT = 30 * 60.0
INITIALIZE_MAX_BYTES = 64 * 1024  # larger bodies are never an `initialize`; not inspected


# -- HTTP --------------------------------------------------------------------------------


class McpService:
    """The MCP endpoint of one sandbox app: auth in front, a restartable session manager behind.

    A `StreamableHTTPSessionManager` runs once; `restart()` swaps in a fresh one (every
    session is forgotten), as a server restart would.
    """

    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox
        self.server = build_server(sandbox)
        self._manager: StreamableHTTPSessionManager | None = None
        self._stop: anyio.Event | None = None
        self._tg: TaskGroup | None = None

    def _new_manager(self) -> StreamableHTTPSessionManager:
        # The sandbox may be served under any host name, so no DNS-rebinding host check.
        self.server.streamable_http_app(
            json_response=True,
            session_idle_timeout=SESSION_IDLE_TIMEOUT,
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )
        return self.server.session_manager

    @asynccontextmanager
    async def run(self) -> AsyncIterator[None]:
        """The app lifespan hook: session managers live in this task group."""
        async with anyio.create_task_group() as tg:
            self._tg = tg
            await self._start()
            try:
                yield
            finally:
                self._tg = None
                self._manager = None
                if self._stop is not None:
                    self._stop.set()

    async def restart(self) -> None:
        """Start a fresh session manager, then stop the old one and all its sessions."""
        old = self._stop
        await self._start()
        if old is not None:
            old.set()

    async def _start(self) -> None:
        if self._tg is None:
            raise RuntimeError("the MCP service is not running")
        manager = self._new_manager()
        stop = anyio.Event()
        await self._tg.start(self._serve, manager, stop)
        self._manager, self._stop = manager, stop

    @staticmethod
    async def _serve(
        manager: StreamableHTTPSessionManager,
        stop: anyio.Event,
        *,
        task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        async with manager.run():
            task_status.started()
            await stop.wait()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        headers = Request(scope).headers
        try:
            caller = self.sb.authenticate(
                headers.get("authorization"), headers.get(CLIENT_HEADER), schemes=MCP_SCHEMES
            )
        except E.ZohoError as exc:
            response = error_response(exc)
            response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            await response(scope, receive, send)
            return
        manager = self._manager
        if manager is None:
            # Served without its lifespan (an in-process ASGI client): nothing to answer with.
            await error_response(
                E.ServiceUnavailable("the MCP endpoint needs the app's lifespan to run")
            )(scope, receive, send)
            return
        scope.setdefault("state", {})[CALLER_STATE_KEY] = caller
        length = headers.get("content-length", "")
        if (
            scope["method"] == "POST"
            and headers.get(MCP_SESSION_ID_HEADER) is not None
            and length.isdigit()
            and int(length) <= INITIALIZE_MAX_BYTES
        ):
            scope, receive = await _fresh_initialize(scope, receive)
        await manager.handle_request(scope, receive, send)


async def _fresh_initialize(scope: Scope, receive: Receive) -> tuple[Scope, Receive]:
    """Serve an `initialize` that carries a session id as the start of a new session.

    The spec has a client whose session is gone (404) initialize again without the id;
    some clients re-send the stale one, which the session manager would answer with 404
    again, forever. `initialize` always starts a session, so the id is dropped for it.
    Other messages pass unchanged (the body is read once and replayed).
    """
    chunks: list[bytes] = []
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body = b"".join(chunks)
    if b'"initialize"' in body:
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            parsed = None
        if isinstance(parsed, dict) and parsed.get("method") == "initialize":
            name = MCP_SESSION_ID_HEADER.encode()
            kept = [(k, v) for k, v in scope["headers"] if k.lower() != name]
            scope = {**scope, "headers": kept}
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return scope, replay
