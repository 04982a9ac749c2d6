"""MCP tools for a record's related records and notes, deleted records and record counts.

Twins of GET /{module}/{id}/{related list}, GET and POST /{module}/{id}/Notes,
GET /{module}/deleted and GET /{module}/actions/count: the same backend operations, so the
same credits and limits, and the same JSON.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult
from mcp.types import ToolAnnotations as Annotations
from pydantic import Field

from sergas.sandbox import errors as E
from sergas.sandbox.mcp_common import (
    READ,
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
from sergas.sandbox.related import NOTES

if TYPE_CHECKING:
    from sergas.sandbox.backend import Caller, Sandbox

NOTE_FIELDS = ("Note_Title", "Note_Content", "Parent_Id", "Owner", "Created_Time", "Modified_Time")
ADD = Annotations(read_only_hint=False, idempotent_hint=False, open_world_hint=False)

RelatedList = Annotated[
    str,
    Field(
        description="Related list API name, e.g. Contacts, Deals, Notes, Tasks, Calls, Events "
        "(GET /settings/related_lists?module= lists a module's)"
    ),
]
Since = Annotated[
    str | None,
    Field(description="ISO 8601 date-time; only what changed after it (If-Modified-Since)"),
]


def _since(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        since = datetime.fromisoformat(value)
    except ValueError:
        raise E.InvalidData(
            "invalid data", {"param_name": "since", "expected_data_type": "datetime"}
        ) from None
    return since if since.tzinfo else since.replace(tzinfo=UTC)


def activity_tools(server: MCPServer[Any], sb: Sandbox) -> None:
    """Register the tools on `server`, bound to `sb`."""

    @server.tool(annotations=READ)
    async def get_related_records(
        module: ModuleName,
        record_id: RecordId,
        related_list: RelatedList,
        fields: Annotated[
            list[str] | str,
            Field(description="Field API names of the related module to return (required)"),
        ],
        ctx: ToolContext,
        page: PageNo = None,
        per_page: PerPage = None,
        since: Since = None,
    ) -> CallToolResult:
        """A record's related records (e.g. an account's contacts, deals, calls), a page
        at a time."""

        async def call(caller: Caller) -> Body:
            found = await sb.related.list_related(
                caller,
                module,
                record_id,
                related_list,
                fields=names(fields),
                page=page,
                per_page=per_page,
                modified_since=_since(since),
            )
            return page_body(found)

        return await run(sb, ctx, "get_related_records", call)

    @server.tool(annotations=READ)
    async def get_notes(
        module: ModuleName,
        record_id: RecordId,
        ctx: ToolContext,
        fields: Fields = None,
        page: PageNo = None,
        per_page: PerPage = None,
    ) -> CallToolResult:
        """The notes on a record, newest first."""

        async def call(caller: Caller) -> Body:
            found = await sb.related.list_related(
                caller,
                module,
                record_id,
                NOTES,
                fields=names(fields) or list(NOTE_FIELDS),
                page=page,
                per_page=per_page,
                sort_by="Created_Time",
                sort_order="desc",
            )
            return page_body(found)

        return await run(sb, ctx, "get_notes", call)

    @server.tool(annotations=ADD)
    async def add_note(
        module: ModuleName,
        record_id: RecordId,
        content: Annotated[str, Field(description="The note's text")],
        ctx: ToolContext,
        title: Annotated[str | None, Field(description="The note's title")] = None,
    ) -> CallToolResult:
        """Add a note to a record (an account, contact, deal or lead)."""

        async def call(caller: Caller) -> Body | CallToolResult:
            note: dict[str, Any] = {"Note_Content": content}
            if title:
                note["Note_Title"] = title
            result = await sb.related.add_notes(caller, module, record_id, [note])
            if result.items[0].get("status") == "error":
                return tool_result(result.items[0], error=True)
            return {"data": result.items}

        return await run(sb, ctx, "add_note", call)

    @server.tool(annotations=READ)
    async def get_deleted_records(
        module: ModuleName,
        ctx: ToolContext,
        type: Annotated[
            str | None,
            Field(description="all (default), recycle (still in the recycle bin) or permanent"),
        ] = None,
        page: PageNo = None,
        per_page: PerPage = None,
        since: Since = None,
    ) -> CallToolResult:
        """Records deleted from a module, latest first: id, display_name, deleted_by,
        deleted_time and type."""

        async def call(caller: Caller) -> Body:
            found = await sb.actions.deleted(
                caller,
                module,
                kind=type,
                page=page,
                per_page=per_page,
                modified_since=_since(since),
            )
            return page_body(found)

        return await run(sb, ctx, "get_deleted_records", call)

    @server.tool(annotations=READ)
    async def get_record_count(
        module: ModuleName,
        ctx: ToolContext,
        criteria: Annotated[
            str | None, Field(description="Zoho criteria, e.g. (Account_Status:equals:At Risk)")
        ] = None,
        email: str | None = None,
        phone: str | None = None,
        word: str | None = None,
        cvid: Annotated[str | None, Field(description="A custom view id")] = None,
    ) -> CallToolResult:
        """How many records a module has, or how many a search or a custom view selects
        (a view and a search cannot be combined)."""

        async def call(caller: Caller) -> Body:
            found = await sb.actions.count(
                caller, module, cvid=cvid, criteria=criteria, email=email, phone=phone, word=word
            )
            return {"count": found}

        return await run(sb, ctx, "get_record_count", call)
