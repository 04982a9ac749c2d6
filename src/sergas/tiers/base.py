"""The one async interface every tier implements, and the results it returns.

Records are plain dicts in Zoho's JSON shape: ids are strings, lookups `{"name","id"}`
(owners also carry `email`), datetimes ISO 8601 strings with an offset (`+00:00`), dates
`yyyy-MM-dd`, currency and decimals floats, integers ints. The same record fetched through
any tier compares equal.

`module` is a parameter of every operation (default "Accounts"), so the names say
"accounts" only because that is what Sergas mostly works on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

from sergas.query import CoqlQuery, Criteria
from sergas.zoho_limits import RECORDS_PER_PAGE

Record = dict[str, Any]
TierName = Literal["mcp", "sdk", "rest"]
ReadStrategy = Literal["auto", "coql", "bulk"]
DeletedType = Literal["all", "recycle", "permanent"]
# The related lists Sergas reads (Zoho's api names; each is also the child module's name).
RELATED_LISTS: tuple[str, ...] = ("Contacts", "Deals", "Notes", "Tasks", "Calls", "Events")


@dataclass(frozen=True)
class RecordPage:
    """One page of records and Zoho's paging signal: `more` is `info.more_records`;
    `next_page_token` is `info.next_page_token` when Zoho gave one (pass it back as
    `page_token` to go on past 2,000 records)."""

    records: list[Record]
    more: bool
    next_page_token: str | None = None
    page: int = 1


@dataclass(frozen=True)
class RecordResult:
    """One record's outcome in a write: Zoho's per-record success item or error."""

    id: str | None
    ok: bool
    code: str
    message: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)
    index: int = 0  # position in the caller's input


@dataclass(frozen=True)
class BulkResult:
    """Every record's outcome, in input order: nothing is dropped silently."""

    results: tuple[RecordResult, ...]

    @property
    def succeeded(self) -> list[RecordResult]:
        return [r for r in self.results if r.ok]

    @property
    def failed(self) -> list[RecordResult]:
        return [r for r in self.results if not r.ok]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)


@dataclass(frozen=True)
class HealthStatus:
    tier: TierName
    healthy: bool
    latency_ms: float
    detail: str = ""


@runtime_checkable
class ZohoTier(Protocol):
    """What ZohoIntegrationManager routes between. Errors are `sergas.errors` classes only."""

    name: TierName

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
        ...

    def iter_accounts(
        self,
        *,
        criteria: Criteria | None = None,
        fields: Sequence[str] | None = None,
        module: str = "Accounts",
    ) -> AsyncIterator[Record]:
        """Every matching record, page tokens past 2,000 handled."""
        ...

    async def get_account(
        self, record_id: str, *, fields: Sequence[str] | None = None, module: str = "Accounts"
    ) -> Record:
        """One record; NotFoundError when it does not exist."""
        ...

    async def update_account(
        self, record_id: str, data: Mapping[str, Any], *, module: str = "Accounts"
    ) -> RecordResult:
        """Update one record; a rejected record raises (InvalidDataError, NotFoundError, …)."""
        ...

    async def bulk_read_accounts(
        self,
        *,
        criteria: Criteria | None = None,
        fields: Sequence[str] | None = None,
        module: str = "Accounts",
        strategy: ReadStrategy = "auto",
    ) -> list[Record]:
        """A large set, read the cheapest way for its size (pages, COQL or a Bulk Read job);
        `strategy` "coql" or "bulk" forces one way (the MCP tier has no Bulk Read jobs)."""
        ...

    async def bulk_update_accounts(
        self, records: Sequence[Mapping[str, Any]], *, module: str = "Accounts"
    ) -> BulkResult:
        """Any number of updates (each with "id"); one outcome per input record."""
        ...

    async def search_accounts(
        self,
        criteria: Criteria,
        *,
        limit: int = RECORDS_PER_PAGE,
        fields: Sequence[str] | None = None,
        module: str = "Accounts",
    ) -> list[Record]:
        """Zoho's search API (at most 2,000 results)."""
        ...

    async def coql(self, query: str | CoqlQuery) -> list[Record]:
        """A COQL SELECT; a CoqlQuery is rendered with every value escaped."""
        ...

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
        """One page of GET /{module} with its paging signal; `page_token` (from an earlier
        page) instead of `page` past 2,000 records."""
        ...

    async def search_page(
        self,
        criteria: Criteria,
        *,
        module: str = "Accounts",
        fields: Sequence[str] | None = None,
        page: int = 1,
        per_page: int = RECORDS_PER_PAGE,
    ) -> RecordPage:
        """One page of Zoho's search API with its paging signal."""
        ...

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
        """A page of a record's related list (one of RELATED_LISTS; another raises
        InvalidDataError naming them)."""
        ...

    async def get_notes(
        self, record_id: str, *, module: str = "Accounts", page: int = 1, per_page: int = 200
    ) -> RecordPage:
        """A page of the notes on a record, newest first."""
        ...

    async def add_note(
        self, record_id: str, *, content: str, title: str | None = None, module: str = "Accounts"
    ) -> RecordResult:
        """A new note on the record; its id in `.id`. A refused note raises."""
        ...

    async def get_deleted_records(
        self,
        *,
        module: str = "Accounts",
        since: datetime | None = None,
        type: DeletedType = "all",
        page: int = 1,
        per_page: int = RECORDS_PER_PAGE,
    ) -> RecordPage:
        """A page of the module's deleted records (latest first), only those deleted after
        `since` when given."""
        ...

    async def count_records(
        self, *, module: str = "Accounts", criteria: Criteria | None = None
    ) -> int:
        """How many records the module has, or how many match `criteria`."""
        ...

    async def find_users(self, query: str) -> list[dict[str, Any]]:
        """Users by email (exact, case-insensitive) or by part of their name; UnsupportedError
        on a tier without a users call."""
        ...

    async def create_records(
        self, records: Sequence[Mapping[str, Any]], *, module: str = "Accounts"
    ) -> BulkResult:
        """Insert records; one outcome per input, in input order (UnsupportedError on a tier
        that cannot create)."""
        ...

    async def describe_fields(self, module: str = "Accounts") -> list[dict[str, Any]]:
        """The module's fields as Zoho's field metadata gives them (`api_name`, `data_type`,
        `pick_list_values`, …); fetched once per tier."""
        ...

    async def health_check(self) -> HealthStatus: ...

    async def aclose(self) -> None: ...
