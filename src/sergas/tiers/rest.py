"""Tier 3: Zoho CRM's REST API, straight over HTTP.

One `httpx2.AsyncClient` per ZohoRESTClient, pooled and kept alive, authenticated by the
TokenManager's hook; see `rest_http` for the request layer (caps, retries, error mapping),
`rest_read` and `rest_write` for the bulk strategies, `rest_meta` for what is cached.

Shapes: records come back as Zoho's records API returns them. Where Zoho itself answers in
another shape (COQL shows owners without email, Bulk Read gives CSV text), the bulk and
criteria paths convert to the records API's shape, so `iter_accounts` and
`bulk_read_accounts` look the same whichever path served them. `coql()` returns COQL's rows
unchanged: the caller chose the columns.

`fields=None` means every field of the module (Zoho's list call requires the list; at most 50).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import httpx2

from sergas.errors import NotFoundError, SergasError, error_from_zoho
from sergas.query import CoqlQuery, Criteria, api_name
from sergas.tiers.base import (
    BulkResult,
    HealthStatus,
    ReadStrategy,
    Record,
    RecordResult,
    TierName,
)
from sergas.tiers.paging import pages_then_walk, walk_by_id
from sergas.tiers.rest_http import RestHTTP
from sergas.tiers.rest_meta import Metadata
from sergas.tiers.rest_read import BulkReader
from sergas.tiers.rest_write import BulkWriter, item_result

if TYPE_CHECKING:
    from sergas.auth.manager import TokenManager
    from sergas.settings import Settings

__all__ = ["ZohoRESTClient"]

PAGE = 200  # Zoho's records per page
SEARCH_CAP = 2000  # Zoho's search API stops here (LIMIT_REACHED)


class ZohoRESTClient:
    """Tier 3. `transport` lets tests run in process (an ASGI transport over the sandbox)."""

    name: TierName = "rest"

    def __init__(
        self,
        settings: Settings,
        tokens: TokenManager,
        *,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        self.http = RestHTTP(settings, tokens, transport=transport)
        self.meta = Metadata(self.http)
        self.reader = BulkReader(self.http, self.meta, settings)
        self.writer = BulkWriter(self.http, self.meta, settings)

    def __repr__(self) -> str:
        return f"ZohoRESTClient(api_domain={self.http.api_domain!r})"

    async def aclose(self) -> None:
        await self.http.aclose()

    # -- reads -------------------------------------------------------------------------------

    async def get_accounts(
        self,
        *,
        limit: int = PAGE,
        page: int = 1,
        sort_by: str | None = None,
        sort_order: Literal["asc", "desc"] | None = None,
        fields: Sequence[str] | None = None,
        module: str = "Accounts",
    ) -> list[Record]:
        params = {
            "fields": await self._fields(module, fields),
            "page": page,
            "per_page": limit,
            "sort_by": api_name(sort_by) if sort_by else None,
            "sort_order": sort_order,
        }
        reply = await self.http.request("GET", _path(module), params=params)
        return _data(reply.body)

    async def iter_accounts(
        self,
        *,
        criteria: Criteria | None = None,
        fields: Sequence[str] | None = None,
        module: str = "Accounts",
    ) -> AsyncIterator[Record]:
        """Pages of 200 through page tokens; with criteria, COQL pages of 2,000 keyed by id
        (the search API stops at 2,000 matches, COQL's offset at 100,000). Page tokens stop
        at 100,000 records too: past that, COQL by id carries on below the last id seen."""
        columns = await self._fields(module, fields)
        if criteria is not None:
            source = self._walk(module, columns, criteria)
        else:
            source = pages_then_walk(
                self._pages(module, columns),
                lambda below: self._walk(module, columns, None, below=below),
            )
        async for record in source:
            yield record

    def _walk(
        self, module: str, columns: list[str], criteria: Criteria | None, below: int | None = None
    ) -> AsyncIterator[Record]:
        return walk_by_id(self.coql, self.meta.with_owner_emails, module, columns, criteria, below)

    async def _pages(self, module: str, columns: list[str]) -> AsyncIterator[Record]:
        params: dict[str, Any] = {"fields": columns, "per_page": PAGE, "page": 1}
        while True:
            reply = await self.http.request("GET", _path(module), params=params)
            for record in _data(reply.body):
                yield record
            info = (reply.body or {}).get("info") or {}
            if not info.get("more_records"):
                return
            token = info.get("next_page_token")
            if token:
                params = {"fields": columns, "per_page": PAGE, "page_token": token}
            else:
                params = {**params, "page": int(params.get("page", 1)) + 1}

    async def get_account(
        self, record_id: str, *, fields: Sequence[str] | None = None, module: str = "Accounts"
    ) -> Record:
        params = {"fields": [api_name(f) for f in fields] if fields else None}
        reply = await self.http.request("GET", _path(module, record_id), params=params)
        found = _data(reply.body)
        if not found:
            raise NotFoundError(
                f"no {module} record with id {record_id}",
                http_status=reply.status,
                details={"module": module, "id": record_id},
            )
        return found[0]

    async def search_accounts(
        self,
        criteria: Criteria,
        *,
        limit: int = PAGE,
        fields: Sequence[str] | None = None,
        module: str = "Accounts",
    ) -> list[Record]:
        """Zoho's search API; `limit` is capped at its 2,000 results."""
        wanted = max(0, min(limit, SEARCH_CAP))
        found: list[Record] = []
        page = 1
        while len(found) < wanted:
            per_page = min(PAGE, wanted)
            params = {
                "criteria": criteria.to_search(),
                "page": page,
                "per_page": per_page,
                "fields": [api_name(f) for f in fields] if fields else None,
            }
            reply = await self.http.request(
                "GET", _path(module) + "/search", params=params, heavy=True
            )
            found.extend(_data(reply.body))
            if not ((reply.body or {}).get("info") or {}).get("more_records"):
                break
            page += 1
        return found[:wanted]

    async def coql(self, query: str | CoqlQuery) -> list[Record]:
        text = query.render() if isinstance(query, CoqlQuery) else query
        reply = await self.http.request(
            "POST", "/crm/v8/coql", json={"select_query": text}, heavy=True, idempotent=True
        )
        return _data(reply.body)

    async def bulk_read_accounts(
        self,
        *,
        criteria: Criteria | None = None,
        fields: Sequence[str] | None = None,
        module: str = "Accounts",
        strategy: ReadStrategy = "auto",
    ) -> list[Record]:
        columns = await self._fields(module, fields)
        return await self.reader.read(module, criteria, columns, strategy)

    # -- writes ------------------------------------------------------------------------------

    async def update_account(
        self, record_id: str, data: Mapping[str, Any], *, module: str = "Accounts"
    ) -> RecordResult:
        """PUT one record; a rejected record raises the mapped error (InvalidDataError, …)."""
        item = {k: v for k, v in data.items() if k != "id"}
        reply = await self.http.request(
            "PUT", _path(module, record_id), json={"data": [item]}, items=True
        )
        items = (reply.body or {}).get("data") or []
        if not items or not isinstance(items[0], dict):
            raise SergasError(f"Zoho returned no outcome for record {record_id}")
        result = item_result(items[0], 0, record_id)
        if not result.ok:
            raise error_from_zoho(result.code, reply.status, result.message, dict(result.details))
        return result

    async def bulk_update_accounts(
        self, records: Sequence[Mapping[str, Any]], *, module: str = "Accounts"
    ) -> BulkResult:
        return await self.writer.update(api_name(module), records)

    # -- health ------------------------------------------------------------------------------

    async def health_check(self) -> HealthStatus:
        """GET /crm/v8/org once, no retries: the tier as it is right now."""
        started = time.perf_counter()
        try:
            await self.http.request("GET", "/crm/v8/org", retry=False)
        except SergasError as exc:
            elapsed = (time.perf_counter() - started) * 1000
            return HealthStatus(self.name, False, elapsed, f"{exc.code}: {exc.message}")
        return HealthStatus(self.name, True, (time.perf_counter() - started) * 1000)

    async def _fields(self, module: str, fields: Sequence[str] | None) -> list[str]:
        if fields:
            return [api_name(f) for f in fields]
        return await self.meta.default_fields(module)


def _path(module: str, record_id: str | None = None) -> str:
    """/crm/v8/{module}[/{id}]; ids are digits, so nothing else reaches the path."""
    path = "/crm/v8/" + api_name(module)
    if record_id is None:
        return path
    if not str(record_id).isdigit():
        raise NotFoundError(f"not a Zoho record id: {record_id!r}", details={"id": record_id})
    return f"{path}/{record_id}"


def _data(body: Any) -> list[Record]:
    if not isinstance(body, dict):
        return []
    data = body.get("data")
    return [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []
