"""`Tier`: the `ZohoTier` interface, implemented once over a tier adapter's primitives.

Each tier class (`ZohoRESTClient`, `ZohoSDKClient`, `ZohoMCPClient`) is a `Tier` built with
its own adapter; the operations, their strategies and their shapes are the same for all.
Records come back in the records API's shape whichever path served them (COQL rows get the
records API's owner lookups, Bulk Read's CSV is typed back into JSON); `coql()` returns
COQL's rows unchanged: the caller chose the columns. `fields=None` means every field of the
module (at most 50).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from sergas.errors import InvalidDataError, NotFoundError, SergasError
from sergas.query import CoqlQuery, Criteria, api_name
from sergas.tiers.base import (
    BulkResult,
    DeletedType,
    HealthStatus,
    ReadStrategy,
    Record,
    RecordPage,
    RecordResult,
    TierName,
)
from sergas.tiers.core import reads, writes
from sergas.tiers.core.jobs import Poller
from sergas.tiers.core.metadata import Metadata
from sergas.tiers.core.primitives import PageQuery, Primitives, RelatedQuery
from sergas.zoho_limits import DELETED_TYPES, RECORDS_PER_PAGE

if TYPE_CHECKING:
    from sergas.settings import Settings

__all__ = ["Tier"]


class Tier:
    """A ZohoTier over `adapter`. Subclasses only build their adapter."""

    name: TierName

    def __init__(self, adapter: Primitives, settings: Settings) -> None:
        self.adapter = adapter
        self.name = adapter.name
        self.meta = Metadata(adapter)
        self.poller = Poller(settings)
        self.bulk_read_threshold = settings.bulk_read_threshold
        self.bulk_write_threshold = settings.bulk_write_threshold

    async def aclose(self) -> None:
        await self.adapter.aclose()

    # -- reads -------------------------------------------------------------------------------

    async def get_accounts(
        self,
        *,
        limit: int = RECORDS_PER_PAGE,
        page: int = 1,
        sort_by: str | None = None,
        sort_order: Literal["asc", "desc"] | None = None,
        fields: Sequence[str] | None = None,
        module: str = "Accounts",
    ) -> list[Record]:
        """One page (limit ≤ 200) of records, as Zoho's GET /{module} returns them."""
        query = PageQuery(
            api_name(module),
            await self._columns(module, fields),
            page=page,
            per_page=limit,
            sort_by=api_name(sort_by) if sort_by else None,
            sort_order=sort_order,
        )
        return (await self.adapter.list_page(query)).records

    async def iter_accounts(
        self,
        *,
        criteria: Criteria | None = None,
        fields: Sequence[str] | None = None,
        module: str = "Accounts",
    ) -> AsyncIterator[Record]:
        """Every matching record once (see `core.reads`)."""
        columns = await self._columns(module, fields)
        async for record in reads.iter_records(
            self.adapter, self.meta, api_name(module), columns, criteria
        ):
            yield record

    async def get_account(
        self, record_id: str, *, fields: Sequence[str] | None = None, module: str = "Accounts"
    ) -> Record:
        """One record; NotFoundError when it does not exist."""
        _check_id(record_id)
        found = await self.adapter.get_record(
            api_name(module), str(record_id), [api_name(f) for f in fields] if fields else None
        )
        if found is None:
            raise NotFoundError(
                f"no {module} record with id {record_id}",
                details={"module": module, "id": record_id},
            )
        return found

    async def search_accounts(
        self,
        criteria: Criteria,
        *,
        limit: int = RECORDS_PER_PAGE,
        fields: Sequence[str] | None = None,
        module: str = "Accounts",
    ) -> list[Record]:
        """Zoho's search API; `limit` is capped at its 2,000 results."""
        wanted = [api_name(f) for f in fields] if fields else None
        return await reads.search(self.adapter, api_name(module), criteria, limit, wanted)

    async def coql(self, query: str | CoqlQuery) -> list[Record]:
        """A COQL SELECT; a CoqlQuery is rendered with every value escaped."""
        return await self.adapter.coql(query.render() if isinstance(query, CoqlQuery) else query)

    async def list_records(
        self,
        *,
        module: str = "Accounts",
        fields: Sequence[str] | None = None,
        page: int = 1,
        per_page: int = RECORDS_PER_PAGE,
        page_token: str | None = None,
        sort_by: str | None = None,
        sort_order: Literal["asc", "desc"] | None = None,
    ) -> RecordPage:
        """One page of GET /{module} and its paging signal; `page_token` replaces `page`."""
        query = PageQuery(
            api_name(module),
            await self._columns(module, fields),
            page=None if page_token else page,
            per_page=per_page,
            page_token=page_token,
            sort_by=api_name(sort_by) if sort_by else None,
            sort_order=sort_order,
        )
        return reads.record_page(await self.adapter.list_page(query), page)

    async def search_page(
        self,
        criteria: Criteria,
        *,
        module: str = "Accounts",
        fields: Sequence[str] | None = None,
        page: int = 1,
        per_page: int = RECORDS_PER_PAGE,
    ) -> RecordPage:
        """One page of Zoho's search API and its paging signal."""
        query = PageQuery(
            api_name(module),
            [api_name(f) for f in fields] if fields else None,
            page=page,
            per_page=per_page,
            criteria=criteria.to_search(),
        )
        return reads.record_page(await self.adapter.search_page(query), page)

    async def get_related_records(
        self,
        record_id: str,
        related_list: str,
        *,
        module: str = "Accounts",
        page: int = 1,
        per_page: int = RECORDS_PER_PAGE,
        fields: Sequence[str] | None = None,
    ) -> RecordPage:
        """A page of the record's related list; `fields=None` is every field of the list's
        module (at most 50)."""
        listed = reads.related_list(related_list)
        _check_id(record_id)
        columns = await self._columns(listed, fields)
        query = RelatedQuery(api_name(module), str(record_id), listed, columns, page, per_page)
        return await reads.related(self.adapter, self.meta, query)

    async def get_notes(
        self,
        record_id: str,
        *,
        module: str = "Accounts",
        page: int = 1,
        per_page: int = RECORDS_PER_PAGE,
    ) -> RecordPage:
        """A page of the notes on the record, newest first."""
        _check_id(record_id)
        fields = list(reads.NOTE_FIELDS)
        query = RelatedQuery(api_name(module), str(record_id), "Notes", fields, page, per_page)
        return await reads.related(self.adapter, self.meta, query, notes=True)

    async def get_deleted_records(
        self,
        *,
        module: str = "Accounts",
        since: datetime | None = None,
        type: DeletedType = "all",
        page: int = 1,
        per_page: int = RECORDS_PER_PAGE,
    ) -> RecordPage:
        """A page of the module's deleted records, latest first (after `since` when given)."""
        if type not in DELETED_TYPES:
            raise InvalidDataError(
                f"unknown type of deleted records {type!r}; use {', '.join(DELETED_TYPES)}",
                details={"param_name": "type", "supported_values": list(DELETED_TYPES)},
            )
        found = await self.adapter.deleted_page(api_name(module), type, page, per_page, since)
        return reads.record_page(found, page)

    async def count_records(
        self, *, module: str = "Accounts", criteria: Criteria | None = None
    ) -> int:
        """How many records the module has, or how many match `criteria` (1 credit)."""
        text = criteria.to_search() if criteria is not None else None
        return await self.adapter.count(api_name(module), text)

    async def find_users(self, query: str) -> list[dict[str, Any]]:
        """Users by email or part of a name, from the users copy (see `core.metadata`)."""
        return await self.meta.find_users(query)

    async def bulk_read_accounts(
        self,
        *,
        criteria: Criteria | None = None,
        fields: Sequence[str] | None = None,
        module: str = "Accounts",
        strategy: ReadStrategy = "auto",
    ) -> list[Record]:
        """COQL pages or a Bulk Read job by the count (see `core.reads`)."""
        columns = await self._columns(module, fields)
        return await reads.bulk_read(
            self.adapter,
            self.meta,
            self.poller,
            self.bulk_read_threshold,
            api_name(module),
            criteria,
            columns,
            strategy,
        )

    # -- writes ------------------------------------------------------------------------------

    async def update_account(
        self, record_id: str, data: Mapping[str, Any], *, module: str = "Accounts"
    ) -> RecordResult:
        """Update one record; a rejected record raises (InvalidDataError, NotFoundError, …)."""
        _check_id(record_id)
        return await writes.update_one(self.adapter, api_name(module), str(record_id), data)

    async def bulk_update_accounts(
        self, records: Sequence[Mapping[str, Any]], *, module: str = "Accounts"
    ) -> BulkResult:
        """One outcome per input record, in input order (see `core.writes`)."""
        return await writes.bulk_update(
            self.adapter,
            self.meta,
            self.poller,
            self.bulk_write_threshold,
            api_name(module),
            records,
        )

    async def create_records(
        self, records: Sequence[Mapping[str, Any]], *, module: str = "Accounts"
    ) -> BulkResult:
        """Insert records; one outcome per input, in input order (see `core.writes`)."""
        return await writes.create(self.adapter, api_name(module), records)

    async def add_note(
        self, record_id: str, *, content: str, title: str | None = None, module: str = "Accounts"
    ) -> RecordResult:
        """A new note on the record; its id in `.id`."""
        _check_id(record_id)
        return await writes.add_note(self.adapter, api_name(module), str(record_id), content, title)

    # -- metadata ----------------------------------------------------------------------------

    async def describe_fields(self, module: str = "Accounts") -> list[dict[str, Any]]:
        """The module's fields as Zoho's field metadata gives them (fetched once per tier)."""
        return [dict(f) for f in await self.meta.fields(module)]

    # -- health ------------------------------------------------------------------------------

    async def health_check(self) -> HealthStatus:
        """One probe, no retries: the tier as it is right now."""
        started = time.perf_counter()
        try:
            detail = await self.adapter.health()
        except SergasError as exc:
            elapsed = (time.perf_counter() - started) * 1000
            return HealthStatus(self.name, False, elapsed, f"{exc.code}: {exc.message}")
        return HealthStatus(self.name, not detail, (time.perf_counter() - started) * 1000, detail)

    async def _columns(self, module: str, fields: Sequence[str] | None) -> list[str]:
        if fields:
            return [api_name(f) for f in fields]
        return await self.meta.default_fields(module)


def _check_id(record_id: str) -> None:
    """Zoho's record ids are digits: anything else names no record (and never reaches a URL)."""
    if not str(record_id).isdigit():
        raise NotFoundError(f"not a Zoho record id: {record_id!r}", details={"id": record_id})
