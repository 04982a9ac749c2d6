"""The sandbox's MCP tools for records, search, COQL and field metadata.

Each tool is the MCP twin of a REST call: it calls the same backend operation (so the same
credits, concurrency caps and latency: Zoho's MCP server runs on the org's API limits) and
answers the same JSON body as structured content (plus a JSON text block). An empty answer
(REST's 204) is `{"data": []}`, with a zero `info` where REST pages. The tools for related
records, notes, deleted records and counts are in `mcp_activity`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult
from pydantic import Field

from sergas.sandbox.mcp_activity import activity_tools
from sergas.sandbox.mcp_common import (
    READ,
    WRITE,
    Body,
    Fields,
    ModuleName,
    PageNo,
    PerPage,
    RecordId,
    ToolContext,
    names,
    page_body,
    run,
    tool_result,
)

if TYPE_CHECKING:
    from sergas.sandbox.backend import Caller, Sandbox

SERVER_NAME = "zoho-crm-sandbox"


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
                fields=names(fields),
            )
            return page_body(found)

        return await run(sb, ctx, "search_records", call)

    @server.tool(annotations=READ)
    async def get_record(
        module: ModuleName, record_id: RecordId, ctx: ToolContext, fields: Fields = None
    ) -> CallToolResult:
        """Fetch one record by id."""

        async def call(caller: Caller) -> Body:
            record = await sb.records.get_record(caller, module, record_id, fields=names(fields))
            return {"data": [] if record is None else [record]}

        return await run(sb, ctx, "get_record", call)

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
                fields=names(fields),
                page=page,
                per_page=per_page,
                page_token=page_token or None,
                sort_by=sort_by or None,
                sort_order=sort_order or None,
            )
            return page_body(found)

        return await run(sb, ctx, "list_records", call)

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

        return await run(sb, ctx, "update_record", call)

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

        return await run(sb, ctx, "bulk_update_records", call)

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
            return page_body(await sb.queries.coql(caller, query))

        return await run(sb, ctx, "coql_query", call)

    @server.tool(annotations=READ)
    async def describe_module(module: ModuleName, ctx: ToolContext) -> CallToolResult:
        """A module's fields metadata, as GET /settings/fields returns it."""

        async def call(caller: Caller) -> Body:
            return {"fields": await sb.metadata.fields(caller, module)}

        return await run(sb, ctx, "describe_module", call)

    activity_tools(server, sb)
    return server
