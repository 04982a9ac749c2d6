"""Tier 1: Zoho CRM through a Zoho MCP endpoint, with the `mcp` package's client.

    client = ZohoMCPClient(settings, tokens)
    account = await client.get_account("5725767000000001001")

`ZohoMCPClient` is the core's `Tier` (sergas.tiers.core) over `MCPPrimitives`: each
primitive is one tool call. The tools' names come from a map (canonical name → the server's
name), so an endpoint that names them differently needs no code. Who may call what is the
manager's to check (`sergas.manager.caller`), for every tier alike. The session, its
loss and re-opening live in `mcp_session`; auth and the translation of every library error
into a Sergas error in `mcp_boundary`. Every tool call passes the choke point (retries, the
process's cap).

Zoho's MCP tools have no users call, no create tool and no bulk jobs, so this tier has none
of those capabilities: bulk reads use COQL pages whatever the size ("bulk" is refused), bulk
updates use bulk_update_records in chunks of 100 whatever the size, COQL rows get their user
lookups from search (see `core.metadata`), and `find_users` and `create_records` raise
UnsupportedError (the manager moves on to another tier). The tools used:

- list_records (pages, page tokens), get_record, search_records, coql_query;
- get_related_records, get_notes, get_deleted_records, get_record_count;
- update_record, bulk_update_records, add_note; describe_module (fields, once per module;
  it takes no If-Modified-Since, so a stale copy is read again in full);
- health_check: the server's tool list (it must offer every core tool), timed.

The account-work tools (`OPTIONAL_TOOLS`: related records, notes, deletions, counts) are
newer than the rest, and an endpoint may lack them: the first call of one lists the server's
tools once, and a tool it does not offer raises UnsupportedError, so the manager moves that
operation on to another tier.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sergas.auth.manager import TokenManager
from sergas.errors import ConfigError, UnsupportedError
from sergas.settings import Settings
from sergas.tiers.base import Record, TierName
from sergas.tiers.core import CallKind, Tier, ZohoCalls
from sergas.tiers.core.primitives import Page, PageQuery, RelatedQuery, WriteAnswer
from sergas.tiers.mcp_session import MCPConnection
from sergas.tiers.retry import RetryPolicy

__all__ = [
    "DEFAULT_TOOLS",
    "OPTIONAL_TOOLS",
    "READ_TOOLS",
    "TOOLS",
    "WRITE_TOOLS",
    "MCPPrimitives",
    "ZohoMCPClient",
]

# The tools this tier calls, by their canonical names (the sandbox's).
READ_TOOLS = frozenset(
    {
        "search_records",
        "get_record",
        "list_records",
        "coql_query",
        "describe_module",
        "get_related_records",
        "get_notes",
        "get_deleted_records",
        "get_record_count",
    }
)
WRITE_TOOLS = frozenset({"update_record", "bulk_update_records", "add_note"})
TOOLS = READ_TOOLS | WRITE_TOOLS
# Tools an endpoint may lack without being unhealthy: what they serve goes to another tier.
OPTIONAL_TOOLS = frozenset(
    {"get_related_records", "get_notes", "add_note", "get_deleted_records", "get_record_count"}
)

# Canonical tool name → the server's tool name. The sandbox's names are the canonical ones.
DEFAULT_TOOLS: dict[str, str] = {name: name for name in sorted(TOOLS)}


class ZohoMCPClient(Tier):
    """The MCP tier. `tools` overrides tool names (over ZOHO_MCP_TOOLS, over the canonical
    names); `protocol` is the `mcp` client's mode:
    "legacy" (the initialize handshake and one session, as Zoho's endpoints speak) or "auto"
    (probe for the 2026 stateless protocol first)."""

    name: TierName = "mcp"

    def __init__(
        self,
        settings: Settings,
        tokens: TokenManager,
        *,
        tools: Mapping[str, str] | None = None,
        protocol: str = "legacy",
        retry: RetryPolicy | None = None,
    ) -> None:
        self.mcp = MCPPrimitives(settings, tokens, tools=tools, protocol=protocol, retry=retry)
        self.settings = settings
        self.tools = self.mcp.tools
        self.connection = self.mcp.connection
        super().__init__(self.mcp, settings)

    def __repr__(self) -> str:
        return f"ZohoMCPClient({self.settings.zoho_mcp_url!r})"


class MCPPrimitives:
    """Zoho's calls as MCP tool calls (see `core.primitives`)."""

    name: TierName = "mcp"

    def __init__(
        self,
        settings: Settings,
        tokens: TokenManager,
        *,
        tools: Mapping[str, str] | None,
        protocol: str,
        retry: RetryPolicy | None,
    ) -> None:
        names = {**settings.zoho_mcp_tools, **(tools or {})}
        unknown = set(names) - TOOLS
        if unknown:
            raise ConfigError(
                f"unknown MCP tools in the tool-name map (ZOHO_MCP_TOOLS): "
                f"{', '.join(sorted(unknown))}; known: {', '.join(sorted(TOOLS))}",
                details={"settings": ["ZOHO_MCP_TOOLS"]},
            )
        self.tools: dict[str, str] = {**DEFAULT_TOOLS, **names}
        self.offered: set[str] | None = None  # the server's tools, once listed
        self.calls = ZohoCalls("mcp", settings, tokens.user, retry=retry)
        self.connection = MCPConnection(
            settings.zoho_mcp_url, tokens, timeout=settings.http_timeout, mode=protocol
        )

    async def aclose(self) -> None:
        await self.connection.aclose()

    async def call(
        self,
        tool: str,
        kind: CallKind,
        arguments: Mapping[str, Any],
        *,
        records: int = 0,
        idempotent: bool = True,
    ) -> dict[str, Any]:
        """Call a tool by its canonical name through the choke point; None arguments are left
        out. Reads, and updates of given ids to given values, are idempotent; adding a note
        is not."""
        name = self.tools[tool]
        if tool in OPTIONAL_TOOLS and name not in await self._offered():
            raise UnsupportedError(
                f"the MCP endpoint has no {name} tool; use the sdk or rest tier",
                details={"tier": "mcp", "tool": name},
            )
        args = {k: v for k, v in arguments.items() if v is not None}
        call = self.calls.call(kind, records=records, idempotent=idempotent)
        return await self.calls.run(
            call, lambda: self.connection.call_tool(name, args, idempotent=idempotent)
        )

    # -- records -----------------------------------------------------------------------------

    async def list_page(self, query: PageQuery) -> Page:
        # A page token is bound to the other arguments: they stay the same throughout.
        arguments = {
            "module": query.module,
            "fields": list(query.fields or []),
            "page": query.page,
            "per_page": query.per_page,
            "page_token": query.page_token,
            "sort_by": query.sort_by,
            "sort_order": query.sort_order,
        }
        body = await self.call("list_records", CallKind.READ, arguments)
        return _page(body)

    async def search_page(self, query: PageQuery) -> Page:
        arguments = {
            "module": query.module,
            "criteria": query.criteria,
            "page": query.page,
            "per_page": query.per_page,
            "fields": list(query.fields) if query.fields else None,
        }
        body = await self.call("search_records", CallKind.SEARCH, arguments)
        return _page(body)

    async def get_record(
        self, module: str, record_id: str, fields: Sequence[str] | None
    ) -> Record | None:
        arguments = {
            "module": module,
            "record_id": record_id,
            "fields": list(fields) if fields else None,
        }
        body = await self.call("get_record", CallKind.READ, arguments)
        data = _data(body)
        return data[0] if data else None

    async def coql(self, query: str) -> list[Record]:
        return _data(await self.call("coql_query", CallKind.COQL, {"query": query}))

    async def related_page(self, query: RelatedQuery) -> Page:
        arguments = {
            "module": query.module,
            "record_id": query.record_id,
            "related_list": query.related_list,
            "fields": list(query.fields),
            "page": query.page,
            "per_page": query.per_page,
        }
        return _page(await self.call("get_related_records", CallKind.READ, arguments))

    async def notes_page(self, query: RelatedQuery) -> Page:
        arguments = {
            "module": query.module,
            "record_id": query.record_id,
            "fields": list(query.fields),
            "page": query.page,
            "per_page": query.per_page,
        }
        return _page(await self.call("get_notes", CallKind.READ, arguments))

    async def deleted_page(
        self, module: str, kind: str, page: int, per_page: int, since: datetime | None
    ) -> Page:
        arguments = {
            "module": module,
            "type": kind,
            "page": page,
            "per_page": per_page,
            "since": since.isoformat() if since else None,
        }
        return _page(await self.call("get_deleted_records", CallKind.READ, arguments))

    async def count(self, module: str, criteria: str | None) -> int:
        arguments = {"module": module, "criteria": criteria}
        body = await self.call("get_record_count", CallKind.READ, arguments)
        return int(body.get("count") or 0)

    async def add_note(self, module: str, record_id: str, note: Mapping[str, Any]) -> WriteAnswer:
        arguments = {
            "module": module,
            "record_id": record_id,
            "content": note.get("Note_Content"),
            "title": note.get("Note_Title"),
        }
        # Not idempotent (a resent note is a second note): sent once, retried only after a 429.
        body = await self.call("add_note", CallKind.WRITE, arguments, records=1, idempotent=False)
        return WriteAnswer(_items(body))

    async def update_one(self, module: str, record_id: str, data: Mapping[str, Any]) -> WriteAnswer:
        arguments = {"module": module, "record_id": record_id, "data": dict(data)}
        body = await self.call("update_record", CallKind.WRITE, arguments, records=1)
        return WriteAnswer(_items(body))

    async def put_chunk(self, module: str, records: Sequence[Mapping[str, Any]]) -> WriteAnswer:
        arguments = {"module": module, "records": [dict(r) for r in records]}
        body = await self.call(
            "bulk_update_records", CallKind.WRITE, arguments, records=len(records)
        )
        return WriteAnswer(_items(body))

    # -- metadata and health -----------------------------------------------------------------

    async def fields(
        self, module: str, since: datetime | None = None
    ) -> list[dict[str, Any]] | None:
        """Always in full: describe_module takes no If-Modified-Since."""
        body = await self.call("describe_module", CallKind.METADATA, {"module": module})
        return [f for f in body.get("fields") or [] if isinstance(f, dict)]

    async def _offered(self) -> set[str]:
        if self.offered is None:
            call = self.calls.call(CallKind.HEALTH)
            self.offered = await self.calls.run(call, self.connection.list_tools)
        return self.offered

    async def health(self) -> str:
        """Healthy when the endpoint answers and offers every core tool (no retries)."""
        call = self.calls.call(CallKind.HEALTH)
        offered = await self.calls.run(call, self.connection.list_tools, retry=False)
        self.offered = offered
        core = {name for tool, name in self.tools.items() if tool not in OPTIONAL_TOOLS}
        missing = sorted(core - offered)
        return f"missing tools: {', '.join(missing)}" if missing else ""


def _data(body: Mapping[str, Any]) -> list[Record]:
    data = body.get("data")
    return [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []


def _items(body: Mapping[str, Any]) -> list[dict[str, Any] | None]:
    data = body.get("data")
    return [i if isinstance(i, dict) else None for i in data] if isinstance(data, list) else []


def _page(body: Mapping[str, Any]) -> Page:
    return Page.of(_data(body), body.get("info"))
