"""Tier 1: Zoho CRM through a Zoho MCP endpoint, with the `mcp` package's client.

    client = ZohoMCPClient(settings, tokens, context=MCPContext.reader(caller="agent"))
    account = await client.get_account("5725767000000001001")

Each operation is one or more tool calls; the tools' names come from a map (canonical name →
the server's name), so an endpoint that names them differently needs no code. The caller's
permission context (`sergas.tiers.mcp_context`) is checked before anything is sent. The
session, its loss and re-opening live in `mcp_session`; auth and the translation of every
library error into a Sergas error in `mcp_boundary`. Retryable errors (429, 5xx, timeouts,
connection loss) are retried by the shared `RetryPolicy`.

How each operation uses the tools:

- get_accounts: one list_records page; get_account: get_record; search_accounts: search
  pages up to `limit` (Zoho stops at 2,000); coql: coql_query;
- iter_accounts: list_records pages following `next_page_token` (so past 2,000), in Zoho's
  default order; with criteria, COQL pages of 2,000 keyed by id (`id > last order by id`),
  as search stops at 2,000;
- bulk_read_accounts: the same COQL pages;
- update_account: update_record; bulk_update_accounts: bulk_update_records in chunks of 100,
  at most 10 at once, one RecordResult per input in input order;
- health_check: the server's tool list (it must offer every mapped tool), timed.

Without `fields`, reads that need a field list (list_records, COQL) ask describe_module once
per module and request every field (up to Zoho's 50), so a record looks the same as
get_record returns it; COQL rows get the records API's user lookups (see `mcp_meta`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Literal

from sergas.auth.manager import TokenManager
from sergas.errors import ConfigError, InvalidDataError, NotFoundError, SergasError
from sergas.query import CoqlQuery, Criteria, F
from sergas.settings import Settings
from sergas.tiers.base import (
    BulkResult,
    HealthStatus,
    ReadStrategy,
    Record,
    RecordResult,
    TierName,
)
from sergas.tiers.mcp_context import (
    FULL_ACCESS,
    TOOLS,
    MCPContext,
    current_mcp_context,
    mcp_context,
)
from sergas.tiers.mcp_meta import Metadata
from sergas.tiers.mcp_session import MCPConnection
from sergas.tiers.retry import RetryPolicy

__all__ = ["DEFAULT_TOOLS", "MCPContext", "ZohoMCPClient", "mcp_context"]

# Canonical tool name → the server's tool name. The sandbox's names are the canonical ones.
DEFAULT_TOOLS: dict[str, str] = {name: name for name in sorted(TOOLS)}

PAGE_SIZE = 200  # Zoho's records per page
COQL_PAGE = 2000  # Zoho's largest COQL LIMIT
SEARCH_CAP = 2000  # search returns no more than this
WRITE_CHUNK = 100  # records per update call
MAX_PARALLEL_WRITES = 10  # Zoho's sub-concurrency for large writes


class ZohoMCPClient:
    """The MCP tier. `context` is the ceiling of what this client may call; a context bound
        with `mcp_context()` narrows it per block. `tools` overrides tool names (over
    ZOHO_MCP_TOOLS, over the canonical names); `protocol` is
        the `mcp` client's mode: "legacy" (the initialize handshake and one session, as Zoho's
        endpoints speak) or "auto" (probe for the 2026 stateless protocol first)."""

    name: TierName = "mcp"

    def __init__(
        self,
        settings: Settings,
        tokens: TokenManager,
        *,
        context: MCPContext = FULL_ACCESS,
        tools: Mapping[str, str] | None = None,
        protocol: str = "legacy",
        retry: RetryPolicy | None = None,
    ) -> None:
        names = {**settings.zoho_mcp_tools, **(tools or {})}
        unknown = set(names) - TOOLS
        if unknown:
            raise ConfigError(
                f"unknown MCP tools in the tool-name map (ZOHO_MCP_TOOLS): "
                f"{', '.join(sorted(unknown))}; known: {', '.join(sorted(TOOLS))}",
                details={"settings": ["ZOHO_MCP_TOOLS"]},
            )
        self.settings = settings
        self.context = context
        self.tools: dict[str, str] = {**DEFAULT_TOOLS, **names}
        self.retry = retry or RetryPolicy.from_settings(settings)
        self.connection = MCPConnection(
            settings.zoho_mcp_url, tokens, timeout=settings.http_timeout, mode=protocol
        )
        self._parallel = max(1, min(MAX_PARALLEL_WRITES, settings.zoho_concurrency))
        self.meta = Metadata(self.call)

    def __repr__(self) -> str:
        return f"ZohoMCPClient({self.settings.zoho_mcp_url!r}, context={self.context!r})"

    # -- the calls ---------------------------------------------------------------------------

    def authorize(self, tool: str) -> None:
        """Raise PermissionDeniedError unless both the client's and the bound context allow."""
        self.context.check(tool)
        bound = current_mcp_context()
        if bound is not None:
            bound.check(tool)

    async def call(self, tool: str, **arguments: Any) -> dict[str, Any]:
        """Call a tool by its canonical name (after the permission check), with retries.
        Every call here is idempotent: reads, and updates of given ids to given values."""
        self.authorize(tool)
        name = self.tools[tool]
        args = {k: v for k, v in arguments.items() if v is not None}
        return await self.retry.call(lambda: self.connection.call_tool(name, args, idempotent=True))

    async def _columns(self, module: str, fields: Sequence[str] | None) -> list[str]:
        return list(fields) if fields else await self.meta.default_fields(module)

    # -- reads -------------------------------------------------------------------------------

    async def get_accounts(
        self,
        *,
        limit: int = 200,
        page: int = 1,
        sort_by: str | None = None,
        sort_order: Literal["asc", "desc"] | None = None,
        fields: Sequence[str] | None = None,
        module: str = "Accounts",
    ) -> list[Record]:
        self.authorize("list_records")
        body = await self.call(
            "list_records",
            module=module,
            fields=await self._columns(module, fields),
            page=page,
            per_page=limit,
            sort_by=sort_by,
            sort_order=sort_order,
        )
        return _data(body)

    async def iter_accounts(
        self,
        *,
        criteria: Criteria | None = None,
        fields: Sequence[str] | None = None,
        module: str = "Accounts",
    ) -> AsyncIterator[Record]:
        if criteria is not None:
            async for record in self._coql_pages(module, criteria, fields):
                yield record
            return
        self.authorize("list_records")
        columns = await self._columns(module, fields)
        token: str | None = None
        while True:
            # A page token is bound to the other arguments: they stay the same throughout.
            # Zoho's default order (newest id first), as the other tiers list.
            body = await self.call(
                "list_records",
                module=module,
                fields=columns,
                per_page=PAGE_SIZE,
                page_token=token,
            )
            for record in _data(body):
                yield record
            info = body.get("info") or {}
            token = info.get("next_page_token")
            if not info.get("more_records") or not token:
                return

    async def get_account(
        self, record_id: str, *, fields: Sequence[str] | None = None, module: str = "Accounts"
    ) -> Record:
        body = await self.call(
            "get_record", module=module, record_id=record_id, fields=_listed(fields)
        )
        data = _data(body)
        if not data:
            raise NotFoundError(
                f"no {module} record with id {record_id}",
                code="RESOURCE_NOT_FOUND",
                details={"module": module, "id": record_id},
            )
        return data[0]

    async def bulk_read_accounts(
        self,
        *,
        criteria: Criteria | None = None,
        fields: Sequence[str] | None = None,
        module: str = "Accounts",
        strategy: ReadStrategy = "auto",
    ) -> list[Record]:
        if strategy == "bulk":
            raise InvalidDataError(
                "the MCP tier cannot run a Bulk Read job; use the sdk or rest tier for it",
                code="NOT_SUPPORTED",
                details={"tier": "mcp", "strategy": strategy},
            )
        return [r async for r in self._coql_pages(module, criteria, fields)]

    async def search_accounts(
        self,
        criteria: Criteria,
        *,
        limit: int = 200,
        fields: Sequence[str] | None = None,
        module: str = "Accounts",
    ) -> list[Record]:
        wanted = min(limit, SEARCH_CAP)
        per_page = min(wanted, PAGE_SIZE)
        found: list[Record] = []
        page = 1
        while len(found) < wanted:
            body = await self.call(
                "search_records",
                module=module,
                criteria=criteria.to_search(),
                page=page,
                per_page=per_page,
                fields=_listed(fields),
            )
            found.extend(_data(body))
            if not (body.get("info") or {}).get("more_records"):
                break
            page += 1
        return found[:wanted]

    async def coql(self, query: str | CoqlQuery) -> list[Record]:
        text = query.render() if isinstance(query, CoqlQuery) else query
        return _data(await self.call("coql_query", query=text))

    async def _coql_pages(
        self, module: str, criteria: Criteria | None, fields: Sequence[str] | None
    ) -> AsyncIterator[Record]:
        """COQL pages keyed by id: no offset limit, and each page is one cheap query."""
        self.authorize("coql_query")
        columns = await self._columns(module, fields)
        last = 0
        while True:
            where: Criteria = F("id") > last
            if criteria is not None:
                where = criteria & where
            query = CoqlQuery(
                module, columns, where=where, order_by=(("id", "asc"),), limit=COQL_PAGE
            )
            body = await self.call("coql_query", query=query.render())
            rows = await self.meta.with_user_lookups(module, _data(body))
            for row in rows:
                yield row
            if not rows or not (body.get("info") or {}).get("more_records"):
                return
            last = int(rows[-1]["id"])

    # -- writes ------------------------------------------------------------------------------

    async def update_account(
        self, record_id: str, data: Mapping[str, Any], *, module: str = "Accounts"
    ) -> RecordResult:
        item = {k: v for k, v in data.items() if k != "id"}  # the id is the argument
        body = await self.call("update_record", module=module, record_id=record_id, data=item)
        items = _data(body)
        return _outcome(0, record_id, items[0] if items else None)

    async def bulk_update_accounts(
        self, records: Sequence[Mapping[str, Any]], *, module: str = "Accounts"
    ) -> BulkResult:
        """Chunks of 100, at most 10 in flight. A chunk that fails as a whole (after retries)
        reports its error on each of its records; if every chunk failed, the error is raised."""
        self.authorize("bulk_update_records")
        if not records:
            return BulkResult(())
        starts = range(0, len(records), WRITE_CHUNK)
        gate = asyncio.Semaphore(self._parallel)
        failures: list[SergasError] = []

        async def chunk(start: int) -> list[RecordResult]:
            part = records[start : start + WRITE_CHUNK]
            async with gate:
                try:
                    body = await self.call(
                        "bulk_update_records", module=module, records=[dict(r) for r in part]
                    )
                except SergasError as exc:
                    failures.append(exc)
                    return [_failed(start + i, r, exc) for i, r in enumerate(part)]
            items = _data(body)
            return [
                _outcome(start + i, _id_of(r), items[i] if i < len(items) else None)
                for i, r in enumerate(part)
            ]

        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(chunk(start)) for start in starts]
        if len(failures) == len(tasks):
            raise failures[0]
        return BulkResult(tuple(r for task in tasks for r in task.result()))

    # -- health and lifecycle ----------------------------------------------------------------

    async def health_check(self) -> HealthStatus:
        """Healthy when the endpoint answers and offers every mapped tool."""
        started = time.perf_counter()
        try:
            offered = await self.connection.list_tools()
        except SergasError as exc:
            return HealthStatus("mcp", False, _ms(started), f"{exc.code}: {exc.message}")
        missing = sorted(set(self.tools.values()) - offered)
        detail = f"missing tools: {', '.join(missing)}" if missing else ""
        return HealthStatus("mcp", not missing, _ms(started), detail)

    async def aclose(self) -> None:
        await self.connection.aclose()


def _data(body: Mapping[str, Any]) -> list[Record]:
    data = body.get("data")
    return list(data) if isinstance(data, list) else []


def _listed(fields: Sequence[str] | None) -> list[str] | None:
    return list(fields) if fields else None


def _id_of(record: Mapping[str, Any]) -> str | None:
    value = record.get("id")
    return str(value) if value is not None else None


def _outcome(index: int, record_id: str | None, item: Mapping[str, Any] | None) -> RecordResult:
    """A RecordResult from Zoho's per-record item (success or error)."""
    if item is None:
        return RecordResult(
            record_id, False, "NO_RESULT", "Zoho returned no outcome for this record", index=index
        )
    details = item.get("details") or {}
    found = details.get("id") if isinstance(details, dict) else None
    return RecordResult(
        id=str(found) if found else record_id,
        ok=item.get("status") == "success",
        code=str(item.get("code", "")),
        message=str(item.get("message", "")),
        details=details if isinstance(details, dict) else {},
        index=index,
    )


def _failed(index: int, record: Mapping[str, Any], exc: SergasError) -> RecordResult:
    return RecordResult(_id_of(record), False, exc.code, exc.message, exc.details, index)


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
