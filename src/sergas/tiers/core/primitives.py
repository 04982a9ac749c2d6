"""What each tier adapter provides: Zoho's calls one by one, in plain shapes. The strategies
(paging, counting, chunking, jobs, caches) are the core's and written once over these.

Every adapter has `Primitives`. The optional capabilities are protocols of their own, and a
tier has one when its adapter implements it (`isinstance`): `UserDirectory` (a users call),
`RecordCreation` (inserts), `BulkReadJobs`, `BulkWriteJobs`. The MCP tier has none of them:
its strategies use COQL and record updates, its user lookups come from search (see
`core.metadata`), and what needs one of them raises `UnsupportedError` there.

Reads of what Sergas holds a copy of (`fields`, `users_page`) take `since`: sent as
If-Modified-Since, and None comes back when Zoho answers 304 (nothing changed).

Every primitive sends through the tier's `ZohoCalls` (the choke point), and raises only
`sergas.errors` classes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

from sergas.query import Criteria
from sergas.tiers.base import Record, TierName
from sergas.tiers.core.calls import ZohoCalls
from sergas.zoho_limits import RECORDS_PER_PAGE

__all__ = [
    "BulkReadJobs",
    "BulkWriteJobs",
    "Item",
    "Page",
    "PageQuery",
    "Primitives",
    "ReadJob",
    "RecordCreation",
    "RelatedQuery",
    "UserDirectory",
    "WriteAnswer",
]

Item = Mapping[str, Any]  # one record's outcome in a write answer: Zoho's JSON item


@dataclass(frozen=True)
class PageQuery:
    """One page of the records API (list) or of the search API (`criteria` set)."""

    module: str
    fields: Sequence[str] | None = None
    page: int | None = 1
    per_page: int = RECORDS_PER_PAGE
    page_token: str | None = None
    sort_by: str | None = None
    sort_order: Literal["asc", "desc"] | None = None
    criteria: str | None = None  # the search API's criteria text


@dataclass(frozen=True)
class Page:
    records: list[Record]
    more: bool = False
    next_page_token: str | None = None
    page: int | None = None  # Zoho's info.page, when it says

    @classmethod
    def of(cls, records: list[Record], info: Any) -> Page:
        """Records and Zoho's `info` object (more_records, next_page_token, page)."""
        info = info if isinstance(info, Mapping) else {}
        number = info.get("page")
        return cls(
            records,
            bool(info.get("more_records")),
            info.get("next_page_token") or None,
            number if isinstance(number, int) else None,
        )


@dataclass(frozen=True)
class RelatedQuery:
    """One page of GET /{module}/{record_id}/{related_list}; `fields` always given."""

    module: str
    record_id: str
    related_list: str
    fields: Sequence[str]
    page: int = 1
    per_page: int = RECORDS_PER_PAGE


@dataclass(frozen=True)
class ReadJob:
    """A Bulk Read job for one page: `columns` as Zoho's job wants them (no id, lookups'
    name columns included); `page_token` when Zoho gave one, else `page`."""

    module: str
    columns: list[str]
    criteria: Criteria | None = None
    page: int | None = 1
    page_token: str | None = None


@dataclass(frozen=True)
class WriteAnswer:
    """A write's answer: the HTTP status (None where the tier does not see it) and one item
    per record sent, by position (shorter when Zoho left some out)."""

    items: Sequence[Item | None]
    status: int | None = None


class Primitives(Protocol):
    """What every tier has. `calls` is the tier's way through the choke point."""

    name: TierName
    calls: ZohoCalls

    async def list_page(self, query: PageQuery) -> Page:
        """GET /{module}: `query.fields` always given."""
        ...

    async def search_page(self, query: PageQuery) -> Page:
        """GET /{module}/search with `query.criteria`."""
        ...

    async def get_record(
        self, module: str, record_id: str, fields: Sequence[str] | None
    ) -> Record | None:
        """GET /{module}/{id} (`record_id` is digits); None when Zoho has no such record."""
        ...

    async def coql(self, query: str) -> list[Record]:
        """One COQL query's rows, as Zoho sends them."""
        ...

    async def update_one(self, module: str, record_id: str, data: Mapping[str, Any]) -> WriteAnswer:
        """PUT /{module}/{id}: `data` without the id."""
        ...

    async def put_chunk(self, module: str, records: Sequence[Mapping[str, Any]]) -> WriteAnswer:
        """PUT /{module} with at most WRITE_CHUNK records (each with a numeric "id")."""
        ...

    async def related_page(self, query: RelatedQuery) -> Page:
        """GET /{module}/{id}/{related list}."""
        ...

    async def notes_page(self, query: RelatedQuery) -> Page:
        """The record's notes (`query.related_list` is "Notes"), newest first."""
        ...

    async def add_note(self, module: str, record_id: str, note: Mapping[str, Any]) -> WriteAnswer:
        """POST /{module}/{id}/Notes with one note (Note_Content, maybe Note_Title)."""
        ...

    async def deleted_page(
        self, module: str, kind: str, page: int, per_page: int, since: datetime | None
    ) -> Page:
        """GET /{module}/deleted?type=kind; `since` as If-Modified-Since (304: no records)."""
        ...

    async def count(self, module: str, criteria: str | None) -> int:
        """GET /{module}/actions/count, with the search API's criteria text when given."""
        ...

    async def fields(
        self, module: str, since: datetime | None = None
    ) -> list[dict[str, Any]] | None:
        """The module's field metadata as GET /settings/fields shows it; None when `since`
        was sent and Zoho answered 304 (a tier that cannot send it reads them in full)."""
        ...

    async def health(self) -> str:
        """One probe, no retries: "" when healthy, else what is wrong; raises when the tier
        cannot be reached."""
        ...

    async def aclose(self) -> None: ...


@runtime_checkable
class UserDirectory(Protocol):
    async def users_page(
        self, page: int, since: datetime | None = None
    ) -> tuple[list[dict[str, Any]], bool] | None:
        """GET /users?type=AllUsers: one page of users and whether more follow; with `since`
        (If-Modified-Since) only those changed after it, None for Zoho's 304."""
        ...


@runtime_checkable
class RecordCreation(Protocol):
    async def create_chunk(self, module: str, records: Sequence[Mapping[str, Any]]) -> WriteAnswer:
        """POST /{module} with at most WRITE_CHUNK new records."""
        ...


@runtime_checkable
class BulkReadJobs(Protocol):
    async def create_read_job(self, job: ReadJob) -> str:
        """The new job's id."""
        ...

    async def read_job(self, job_id: str) -> dict[str, Any]:
        """The job as Zoho describes it: `state`, `result` (download_url, more_records, …)."""
        ...

    async def download_read(self, job_id: str, result: Mapping[str, Any]) -> list[dict[str, str]]:
        """The finished job's CSV rows, by header."""
        ...


@runtime_checkable
class BulkWriteJobs(Protocol):
    async def org_zgid(self) -> str:
        """The org's zgid (Bulk Write uploads name it)."""
        ...

    async def upload(self, module: str, archive: bytes, rows: int, zgid: str) -> str:
        """Upload a zipped CSV of `rows` rows for Bulk Write; the file id."""
        ...

    async def create_write_job(self, module: str, file_id: str) -> str:
        """An update job over the uploaded file, found by id, empty cells ignored."""
        ...

    async def write_job(self, job_id: str) -> dict[str, Any]:
        """The job as Zoho describes it: `status`, `result` (download_url)."""
        ...

    async def download_write(self, url: str) -> list[dict[str, str]]:
        """The finished job's result CSV rows, in upload order."""
        ...
