"""What the sandbox's MCP tools share: argument types, results, and running one tool call.

A tool call counts in the stats' `endpoints` as `MCP <tool>` and runs one backend
operation; a `ZohoError` becomes a tool error (`isError`) whose structured content is
Zoho's error JSON.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any

import orjson
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from sergas.sandbox import errors as E
from sergas.sandbox.http.common import names_param
from sergas.sandbox.paging import Page
from sergas.sandbox.records import NotModified

if TYPE_CHECKING:
    from sergas.sandbox.backend import Caller, Sandbox

CALLER_STATE_KEY = "zoho_caller"  # where the checked caller waits for the tool, in scope["state"]

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


def page_body(page: Page | NotModified | None) -> Body:
    """A list answer as structured content: REST's 204 and 304 are an empty page."""
    if page is None or isinstance(page, NotModified):
        return {"data": [], "info": {"count": 0, "more_records": False}}
    return {"data": page.data, "info": page.info}


def names(value: list[str] | str | None) -> list[str] | None:
    """Field names given as a list or as Zoho's comma-separated string."""
    return names_param(",".join(value) if isinstance(value, list) else value)


def caller_of(ctx: ToolContext) -> Caller:
    """The caller the HTTP layer authenticated for this request."""
    request = ctx.request_context.request
    caller = getattr(getattr(request, "state", None), CALLER_STATE_KEY, None)
    if caller is None:
        raise E.InvalidToken()
    result: Caller = caller
    return result


Call = Callable[["Caller"], Awaitable["Body | CallToolResult"]]


async def run(sb: Sandbox, ctx: ToolContext, tool: str, call: Call) -> CallToolResult:
    """Count the tool call and run its backend operation; a ZohoError becomes a tool error
    carrying Zoho's error JSON."""
    sb.endpoints[f"MCP {tool}"] += 1
    try:
        result = await call(caller_of(ctx))
    except E.ZohoError as exc:
        return tool_result(exc.to_json(), error=True)
    return result if isinstance(result, CallToolResult) else tool_result(result)
