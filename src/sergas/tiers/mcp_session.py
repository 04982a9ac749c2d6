"""One long-lived MCP session to a Zoho MCP endpoint, kept open and re-opened after loss.

```
ZohoMCPClient ── call_tool(name, args) ──► MCPConnection: reconnect, retry once after a loss
                                             └ owner task ─► mcp.Client ─► streamable HTTP
ZohoAuth(scheme=Bearer): the httpx2 client's auth (401 INVALID_TOKEN → one refresh, one resend)
mcp_boundary: the client's hooks (per-call trace, X-Correlation-ID); translate(), the error boundary
```

The `mcp` transport runs its HTTP requests in a task group of the task that entered it, and a
failed request (a dropped connection, a timeout, a refused token refresh) cancels that whole
group. So the session lives in an *owner task* of its own: a failure ends the owner, never the
caller's task, and every waiting caller is woken with "connection closed" and the owner's
recorded reason. The next call opens a new session.

Session loss (the server restarted and answers 404 for the session id, or the connection
dropped) closes the session; an idempotent call is then sent once more on a new one, unless
Zoho had answered it already (its org slot is given back then, see `mcp_boundary`: a call
sent again would have none).

The session's own requests (initialize, the server stream, the closing DELETE) run in the
owner's empty context, so they carry no caller's correlation id (see `mcp_boundary`).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx2
from mcp import Client
from mcp.client.streamable_http import MCP_SESSION_ID, streamable_http_client
from mcp.shared.inbound import MCP_PROTOCOL_VERSION_HEADER
from mcp.types import CallToolResult, Implementation

from sergas import __version__, errors
from sergas.auth.hook import BEARER, ZohoAuth
from sergas.auth.manager import TokenManager
from sergas.errors import ConfigError, SergasError
from sergas.log import get_logger
from sergas.tiers.mcp_boundary import (
    CLOSED,
    TRACE,
    Trace,
    event_hooks,
    tool_body,
    translate,
)

__all__ = ["MCPConnection"]

log = get_logger("sergas.tiers.mcp")

T = TypeVar("T")
_CLIENT_INFO = Implementation(name="sergas", version=__version__)
_CAUSE_WAIT = 5.0  # seconds to wait for a dying session to record why it died


# -- the session --------------------------------------------------------------------------


@dataclass(eq=False)
class _Live:
    """One session: its client, the owner task that holds it, and why it ended."""

    stop: asyncio.Event = field(default_factory=asyncio.Event)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    client: Client | None = None
    error: SergasError | None = None
    lost: bool = False  # the server no longer knows it: no goodbye

    @property
    def usable(self) -> bool:
        return self.client is not None and not self.closed.is_set() and not self.stop.is_set()

    async def cause(self, default: SergasError) -> SergasError:
        """Why the session died, once its owner has recorded it."""
        try:
            await asyncio.wait_for(self.closed.wait(), _CAUSE_WAIT)
        except TimeoutError:
            return default
        return self.error or default


class MCPConnection:
    """An MCP client session to `url`, opened on first use, re-opened after loss.

    Belongs to one event loop. `sessions_opened` counts the sessions opened so far.
    """

    def __init__(
        self,
        url: str | None,
        tokens: TokenManager,
        *,
        timeout: float = 30.0,
        mode: str = "legacy",
        user: str | None = None,
    ) -> None:
        self.url = url
        self.mode = mode
        self.timeout = timeout
        self.sessions_opened = 0
        self.http = httpx2.AsyncClient(
            auth=ZohoAuth(tokens, user, scheme=BEARER),
            timeout=timeout,
            event_hooks=event_hooks(),
        )
        self._live: _Live | None = None
        self._lock = asyncio.Lock()
        self._owners: set[asyncio.Task[None]] = set()
        self._closed = False

    def __repr__(self) -> str:
        return f"MCPConnection({self.url!r}, mode={self.mode!r})"

    async def call_tool(
        self, name: str, arguments: dict[str, Any], *, idempotent: bool
    ) -> dict[str, Any]:
        """The tool's Zoho JSON; a tool error raises the Sergas error for its Zoho code."""

        async def call(client: Client) -> CallToolResult:
            return await client.call_tool(name, arguments)

        return tool_body(await self.request(call, idempotent=idempotent))

    async def list_tools(self) -> set[str]:
        async def names(client: Client) -> set[str]:
            found: set[str] = set()
            cursor: str | None = None
            while True:
                page = await client.list_tools(cursor=cursor)
                found.update(tool.name for tool in page.tools)
                cursor = page.next_cursor
                if not cursor:
                    return found

        return await self.request(names, idempotent=True)

    async def request(self, fn: Callable[[Client], Awaitable[T]], *, idempotent: bool) -> T:
        """Run `fn` on the session; after a loss, once more on a new one if idempotent."""
        live = await self._session()
        trace = Trace()
        try:
            return await self._on(live, fn, trace)
        except errors.ConnectionError as exc:
            self._discard(live, lost=True)
            # retried: no token, a new session won't help; answered: sent once is enough
            if not idempotent or exc.retried or trace.answered:
                raise
            log.info("mcp session lost, reconnecting", code=exc.code)
        live = await self._session()
        try:
            return await self._on(live, fn, Trace())
        except errors.ConnectionError:
            self._discard(live, lost=True)
            raise

    async def aclose(self) -> None:
        """End the session (the server is told) and close the HTTP client."""
        self._closed = True
        if self._live is not None:
            self._discard(self._live)
        owners = list(self._owners)
        if owners:
            _, pending = await asyncio.wait(owners, timeout=self.timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self.http.aclose()

    async def _on(self, live: _Live, fn: Callable[[Client], Awaitable[T]], trace: Trace) -> T:
        reset = TRACE.set(trace)
        try:
            assert live.client is not None
            return await fn(live.client)
        except Exception as exc:  # the library's, translated at this one boundary
            error = translate(exc, trace)
            if error.code == CLOSED:
                error = await live.cause(error)
            raise error from None
        finally:
            TRACE.reset(reset)

    async def _session(self) -> _Live:
        live = self._live
        if live is not None and live.usable:
            return live
        async with self._lock:
            live = self._live
            if live is not None and live.usable:
                return live
            if live is not None:
                self._discard(live)
            self._live = await self._open()
            return self._live

    def _discard(self, live: _Live, *, lost: bool = False) -> None:
        """Let the owner close `live` in the background (aclose waits for it)."""
        if self._live is live:
            self._live = None
        live.lost = live.lost or lost
        live.stop.set()

    async def _open(self) -> _Live:
        if self._closed:
            raise RuntimeError("the MCP connection is closed")
        if not self.url:
            raise ConfigError(
                "ZOHO_MCP_URL not set: the MCP tier needs the Zoho MCP endpoint's URL",
                details={"settings": ["ZOHO_MCP_URL"]},
            )
        live = _Live()
        started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        started.add_done_callback(lambda f: f.cancelled() or f.exception())
        # An empty context: the session's own requests carry no caller's correlation id.
        owner = asyncio.create_task(
            self._own(live, started), name="sergas-mcp-session", context=contextvars.Context()
        )
        self._owners.add(owner)
        owner.add_done_callback(self._owners.discard)
        try:
            await asyncio.shield(started)
        except BaseException:
            live.stop.set()
            raise
        return live

    async def _own(self, live: _Live, started: asyncio.Future[None]) -> None:
        """The owner task: open the session, hold it until told to stop or until it fails."""
        trace = Trace()
        TRACE.set(trace)
        assert self.url is not None
        try:
            # The goodbye (DELETE) is ours to send: not to a server that lost the session.
            transport = streamable_http_client(
                self.url, http_client=self.http, terminate_on_close=False
            )
            async with Client(
                transport,
                mode=self.mode,
                cache=None,
                client_info=_CLIENT_INFO,
                read_timeout_seconds=self.timeout * 3,
            ) as client:
                live.client = client
                self.sessions_opened += 1
                log.debug("mcp session opened", url=self.url, sessions=self.sessions_opened)
                started.set_result(None)
                await live.stop.wait()
                version = client.protocol_version
            if not live.lost and trace.session_id:
                await self._terminate(trace.session_id, version)
        except Exception as exc:
            live.error = translate(exc, trace)
            log.info("mcp session ended", code=live.error.code)
        finally:
            live.closed.set()
            if not started.done():
                started.set_exception(
                    live.error or errors.ConnectionError("the MCP session closed while opening")
                )

    async def _terminate(self, session_id: str, version: str) -> None:
        """Tell the server the session is over; best effort (it forgets idle ones anyway)."""
        headers = {MCP_SESSION_ID: session_id, MCP_PROTOCOL_VERSION_HEADER: version}
        try:
            await self.http.delete(self.url or "", headers=headers)
        except (httpx2.HTTPError, SergasError) as exc:
            log.debug("mcp session goodbye failed", error=type(exc).__name__)
