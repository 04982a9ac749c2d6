"""The sandbox's MCP endpoint: Zoho CRM tools over streamable HTTP at /mcp, on the same state.

Each tool is the MCP twin of a REST call: it calls the same backend operation (so the
same credits, concurrency caps and latency: Zoho's MCP server runs on the org's API
limits) and answers the same JSON body as structured content (plus a JSON text block).
Tool calls are counted in the stats' `endpoints` as `MCP <tool>`. A `ZohoError` becomes a tool
error (`isError`) whose structured content is Zoho's error JSON, so a client can map codes
exactly as it does for REST. An empty answer (REST's 204) is `{"data": []}`, with a
zero `info` where REST pages.

Transport: stateful streamable HTTP with JSON responses for handshake-era clients (the
`initialize` handshake and `Mcp-Session-Id`); 2026-era clients are served per request, with
no session. Every HTTP request must carry a sandbox access token, checked before the MCP
layer. Sessions live in memory: after a restart (or `POST /__sandbox/mcp/restart`) an old
session id answers 404 and the client initializes again; an `initialize` that still carries
the stale id is served as a new session rather than refused. The routes that load this
module on the first /mcp call are in `sergas.sandbox.http.mcp`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any

import anyio
import orjson
from anyio.abc import TaskGroup, TaskStatus
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.streamable_http import MCP_SESSION_ID_HEADER
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field
from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

from sergas.sandbox import errors as E
from sergas.sandbox.http.common import error_response, names_param
from sergas.sandbox.limits import CLIENT_HEADER
from sergas.sandbox.records import Page

if TYPE_CHECKING:
    from sergas.sandbox.backend import Caller, Sandbox

SERVER_NAME = "zoho-crm-sandbox"
CALLER_STATE_KEY = "zoho_caller"  # where the checked caller waits for the tool, in scope["state"]
SESSION_IDLE_TIMEOUT = 30 * 60.0
INITIALIZE_MAX_BYTES = 64 * 1024  # larger bodies are never an `initialize`; not inspected

Body = dict[str, Any]
ToolContext = Context[Any, Any]

# Argument types, described for the model on the other end.
ModuleName = Annotated[str, Field(description="Module API name, e.g. Accounts, Contacts, Deals")]
RecordId = Annotated[str, Field(description="Record id (digits, as a string)")]
Fields = Annotated[
    list[str] | str | None,
    Field(description="Field API names to return (a list or a comma-separated string)"),
]
PageNo = Annotated[int | None, Field(description="Page number, from 1")]
PerPage = Annotated[int | None, Field(description="Records per page, at most 200")]

READ = ToolAnnotations(read_only_hint=True, open_world_hint=False)
WRITE = ToolAnnotations(read_only_hint=False, idempotent_hint=True, open_world_hint=False)


# -- results ---------------------------------------------------------------------------------


def tool_result(body: Body, *, error: bool = False) -> CallToolResult:
    """Zoho's JSON as structured content and, for clients that read only text, as JSON text."""
    text = orjson.dumps(body).decode()
    return CallToolResult(
        content=[TextContent(type="text", text=text)], structured_content=body, is_error=error
    )


def _page_body(page: Page | None) -> Body:
    if page is None:
        return {"data": [], "info": {"count": 0, "more_records": False}}
    return {"data": page.data, "info": page.info}


def _names(value: list[str] | str | None) -> list[str] | None:
    """Field names given as a list or as Zoho's comma-separated string."""
    return names_param(",".join(value) if isinstance(value, list) else value)


def _caller(ctx: ToolContext) -> Caller:
    """The caller the HTTP layer authenticated for this request."""
    request = ctx.request_context.request
    caller = getattr(getattr(request, "state", None), CALLER_STATE_KEY, None)
    if caller is None:
        raise E.InvalidToken()
    result: Caller = caller
    return result


Call = Callable[["Caller"], Awaitable["Body | CallToolResult"]]


async def _run(sb: Sandbox, ctx: ToolContext, tool: str, call: Call) -> CallToolResult:
    """Count the tool call and run its backend operation; a ZohoError becomes a tool error
    carrying Zoho's error JSON."""
    sb.endpoints[f"MCP {tool}"] += 1
    try:
        result = await call(_caller(ctx))
    except E.ZohoError as exc:
        return tool_result(exc.to_json(), error=True)
    return result if isinstance(result, CallToolResult) else tool_result(result)


# -- tools -----------------------------------------------------------------------------------


def build_server(sb: Sandbox) -> MCPServer[Any]:
    """The MCP server and its tools, bound to one sandbox."""
    # MCPServer() runs logging.basicConfig (a rich handler on the root logger); building the
    # sandbox app must leave the process's logging as it found it.
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        server: MCPServer[Any] = MCPServer(
            SERVER_NAME,
            title="Zoho CRM (sandbox)",
            instructions="Zoho CRM v8 records, search, COQL and field metadata. Tool results "
            "are Zoho's JSON; failed calls carry Zoho's error JSON (code, message, details).",
            version="8",
        )
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)

    @server.tool(annotations=READ)
    async def search_records(
        module: ModuleName,
        ctx: ToolContext,
        criteria: Annotated[
            str | None, Field(description="Zoho criteria, e.g. (Account_Name:starts_with:Acme)")
        ] = None,
        email: str | None = None,
        phone: str | None = None,
        word: str | None = None,
        page: PageNo = None,
        per_page: PerPage = None,
        fields: Fields = None,
    ) -> CallToolResult:
        """Search a module's records by criteria, email, phone or word (one of them)."""

        async def call(caller: Caller) -> Body:
            found = await sb.queries.search_records(
                caller,
                module,
                criteria=criteria,
                email=email,
                phone=phone,
                word=word,
                page=page,
                per_page=per_page,
                fields=_names(fields),
            )
            return _page_body(found)

        return await _run(sb, ctx, "search_records", call)

    @server.tool(annotations=READ)
    async def get_record(
        module: ModuleName, record_id: RecordId, ctx: ToolContext, fields: Fields = None
    ) -> CallToolResult:
        """Fetch one record by id."""

        async def call(caller: Caller) -> Body:
            record = await sb.records.get_record(caller, module, record_id, fields=_names(fields))
            return {"data": [] if record is None else [record]}

        return await _run(sb, ctx, "get_record", call)

    @server.tool(annotations=READ)
    async def list_records(
        module: ModuleName,
        fields: Annotated[
            list[str] | str,
            Field(description="Field API names to return (required by Zoho v8; at most 50)"),
        ],
        ctx: ToolContext,
        page: PageNo = None,
        per_page: PerPage = None,
        page_token: Annotated[
            str | None, Field(description="next_page_token from the previous page (past 2,000)")
        ] = None,
        sort_by: Annotated[
            str | None, Field(description="id, Created_Time or Modified_Time")
        ] = None,
        sort_order: Annotated[str | None, Field(description="asc or desc")] = None,
    ) -> CallToolResult:
        """List a module's records, a page at a time."""

        async def call(caller: Caller) -> Body:
            found = await sb.records.list_records(
                caller,
                module,
                fields=_names(fields),
                page=page,
                per_page=per_page,
                page_token=page_token or None,
                sort_by=sort_by or None,
                sort_order=sort_order or None,
            )
            return _page_body(found)

        return await _run(sb, ctx, "list_records", call)

    @server.tool(annotations=WRITE)
    async def update_record(
        module: ModuleName,
        record_id: RecordId,
        data: Annotated[dict[str, Any], Field(description="Field API names to new values")],
        ctx: ToolContext,
    ) -> CallToolResult:
        """Update one record's fields."""

        async def call(caller: Caller) -> Body | CallToolResult:
            result = await sb.records.update_records(caller, module, [data], record_id=record_id)
            if result.items[0].get("status") == "error":
                # One record, so its failure is the call's failure.
                return tool_result(result.items[0], error=True)
            return {"data": result.items}

        return await _run(sb, ctx, "update_record", call)

    @server.tool(annotations=WRITE)
    async def bulk_update_records(
        module: ModuleName,
        records: Annotated[
            list[dict[str, Any]],
            Field(description="Up to 100 records, each with its id and the fields to change"),
        ],
        ctx: ToolContext,
    ) -> CallToolResult:
        """Update up to 100 records; each gets its own result, in input order."""

        async def call(caller: Caller) -> Body:
            return {"data": (await sb.records.update_records(caller, module, records)).items}

        return await _run(sb, ctx, "bulk_update_records", call)

    @server.tool(annotations=READ)
    async def coql_query(
        query: Annotated[
            str,
            Field(
                description="A COQL SELECT, e.g. select Account_Name from Accounts "
                "where Industry = 'Retail' limit 10"
            ),
        ],
        ctx: ToolContext,
    ) -> CallToolResult:
        """Run a COQL query; costs credits by its LIMIT, like the REST call."""

        async def call(caller: Caller) -> Body:
            return _page_body(await sb.queries.coql(caller, query))

        return await _run(sb, ctx, "coql_query", call)

    @server.tool(annotations=READ)
    async def describe_module(module: ModuleName, ctx: ToolContext) -> CallToolResult:
        """A module's fields metadata, as GET /settings/fields returns it."""

        async def call(caller: Caller) -> Body:
            return {"fields": await sb.metadata.fields(caller, module)}

        return await _run(sb, ctx, "describe_module", call)

    return server


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
            caller = self.sb.authenticate(headers.get("authorization"), headers.get(CLIENT_HEADER))
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
