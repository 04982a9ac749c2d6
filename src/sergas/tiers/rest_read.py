"""Large reads for tier 3: COQL pages in parallel, or a Bulk Read job, by expected size.

First one COQL `select COUNT(id) ... where <criteria>` (1 credit) says how many rows match.

- Up to SERGAS_BULK_READ_THRESHOLD rows (default 50,000): COQL pages of 2,000 ordered by id,
  all offsets at once (up to Zoho's 100,000-row offset cap), at most 10 in flight (the heavy
  sub-concurrency). 3 credits per 2,000 rows; wall time about ceil(pages / 10) round trips.
  Whatever lies past the offset cap, or was added after the count, is then read by id
  (`id > last order by id`) until a page comes back short; rows are de-duplicated by id.
- Above it: a Bulk Read job (create 50 credits, each poll and download 1). Credits break even
  near 35,000 rows (50 vs 3 per 2,000); a job also costs its queueing and processing time
  (minutes on a busy Zoho org) plus polls, so COQL stays cheaper in time well past that.
  50,000 is where the credit saving (over 25 credits, growing by 3 per 2,000 rows) starts to
  matter and COQL would need 25+ calls; past 100,000 COQL must page by id, one call at a
  time, and the job is faster as well as cheaper.

Bulk Read's CSV holds text; field metadata (`/settings/fields`, cached) turns cells back into
the records API's JSON: numbers, booleans, `{"name","id"}` lookups (the related record's name
is exported as an extra `Lookup.Name_Field` column), owners as `{"name","id","email"}`.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import structlog

from sergas import errors
from sergas.errors import InvalidDataError
from sergas.query import CoqlQuery, Criteria, F, api_name
from sergas.tiers.bulk_files import csv_rows, job_error
from sergas.tiers.paging import COQL_PAGE
from sergas.tiers.rest_meta import NAME_FIELDS, OWNER_TYPES, Metadata

if TYPE_CHECKING:
    from sergas.settings import Settings
    from sergas.tiers.base import ReadStrategy, Record
    from sergas.tiers.rest_http import RestHTTP

__all__ = ["COQL_OFFSET_CAP", "COQL_PAGE", "BulkReader", "Poller"]

COQL_OFFSET_CAP = 100_000
log = structlog.get_logger("sergas.tiers.rest")

INTEGER_TYPES = frozenset({"integer", "bigint", "long"})
FLOAT_TYPES = frozenset({"double", "currency", "percent", "decimal"})


class Poller:
    """Waits between bulk job polls: doubling from `initial` to `maximum`, until `deadline`."""

    def __init__(self, settings: Settings) -> None:
        self.initial = settings.bulk_poll_initial
        self.maximum = settings.bulk_poll_max
        self.timeout = settings.bulk_timeout

    async def until(self, check: Any, what: str) -> dict[str, Any]:
        """Call `check()` (async, returning the finished job or None) until it is done."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        delay = self.initial
        while True:
            done: dict[str, Any] | None = await check()
            if done is not None:
                return done
            if loop.time() + delay > deadline:
                raise errors.TimeoutError(
                    f"{what} did not finish within {self.timeout:g} s",
                    details={"timeout": self.timeout},
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.maximum)


class BulkReader:
    def __init__(self, http: RestHTTP, meta: Metadata, settings: Settings) -> None:
        self.http = http
        self.meta = meta
        self.threshold = settings.bulk_read_threshold
        self.poller = Poller(settings)
        self.last_strategy = ""  # "coql" or "bulk", for tests and logs

    async def read(
        self,
        module: str,
        criteria: Criteria | None,
        columns: list[str],
        strategy: ReadStrategy = "auto",
    ) -> list[Record]:
        if strategy == "bulk":  # no count needed: the job reads whatever matches
            self.last_strategy = "bulk"
            return await self.via_bulk_job(module, criteria, columns)
        # The count and the metadata the conversion needs, side by side: one round trip.
        expected, _ = await asyncio.gather(
            self.count(module, criteria), self._prefetch(module, columns)
        )
        bulk = strategy == "auto" and expected is not None and expected > self.threshold
        self.last_strategy = "bulk" if bulk else "coql"
        log.info("bulk read", module=module, expected=expected, strategy=self.last_strategy)
        if expected == 0:
            return []
        if bulk:
            return await self.via_bulk_job(module, criteria, columns)
        return await self.via_coql(module, criteria, columns, expected)

    async def _prefetch(self, module: str, columns: list[str]) -> None:
        types = await self.meta.field_types(module)
        if any(_is_owner(types.get(c)) for c in columns):
            await self.meta.users()

    async def count(self, module: str, criteria: Criteria | None) -> int | None:
        """Matching rows by COQL COUNT (1 credit); None when Zoho will not count them."""
        where = (criteria or F("id").is_not_null()).to_coql()
        text = f"select COUNT(id) from {api_name(module)} where {where}"
        try:
            reply = await self.http.request(
                "POST", "/crm/v8/coql", json={"select_query": text}, heavy=True, idempotent=True
            )
        except InvalidDataError:
            return None
        rows = (reply.body or {}).get("data") or []
        return int(rows[0].get("COUNT(id)") or 0) if rows else 0

    # -- COQL ---------------------------------------------------------------------------------

    async def via_coql(
        self, module: str, criteria: Criteria | None, columns: list[str], expected: int | None
    ) -> list[Record]:
        base = criteria or F("id").is_not_null()  # Zoho's COQL wants a WHERE clause
        offsets = range(0, min(expected or 0, COQL_OFFSET_CAP), COQL_PAGE)
        pages = await asyncio.gather(*(self._page(module, columns, base, o) for o in offsets))
        rows = [row for page in pages for row in page]
        # Done when the last page came back short, or when exactly the counted rows (all
        # within the offset cap) arrived; otherwise carry on by id: past the cap, rows added
        # since the count, or no count at all.
        exact = expected is not None and len(rows) == expected < COQL_OFFSET_CAP
        done = bool(pages) and (len(pages[-1]) < COQL_PAGE or exact)
        last = max((int(r["id"]) for r in rows), default=None)
        while not done:
            where = base if last is None else (F("id") > last) & base
            page = await self._page(module, columns, where, 0)
            rows.extend(page)
            done = len(page) < COQL_PAGE
            last = int(page[-1]["id"]) if page else last
        unique = list({str(r["id"]): r for r in rows}.values())
        return await self.meta.with_owner_emails(module, unique)

    async def _page(
        self, module: str, columns: list[str], where: Criteria, offset: int
    ) -> list[Record]:
        query = CoqlQuery(
            module, columns, where=where, order_by=(("id", "asc"),), limit=COQL_PAGE, offset=offset
        )
        reply = await self.http.request(
            "POST",
            "/crm/v8/coql",
            json={"select_query": query.render()},
            heavy=True,
            idempotent=True,
        )
        data = (reply.body or {}).get("data") if isinstance(reply.body, dict) else None
        return [r for r in data or [] if isinstance(r, dict)]

    # -- Bulk Read ----------------------------------------------------------------------------

    async def via_bulk_job(
        self, module: str, criteria: Criteria | None, columns: list[str]
    ) -> list[Record]:
        types = await self.meta.field_types(module)
        names = _name_columns(columns, types)
        query: dict[str, Any] = {
            "module": {"api_name": api_name(module)},
            "fields": [c for c in columns if c != "id"] + list(names.values()),
            "page": 1,
        }
        if criteria is not None:
            query["criteria"] = criteria.to_bulk()
        records: list[Record] = []
        while True:
            result = await self._run_job(query)
            archive = await self.http.download(str(result["download_url"]))
            records.extend(await self._records(archive, columns, types, names))
            if not result.get("more_records"):
                return records
            query.pop("page", None)
            if result.get("next_page_token"):
                query["page_token"] = result["next_page_token"]
            else:
                query["page"] = int(result.get("page") or 1) + 1

    async def _run_job(self, query: dict[str, Any]) -> dict[str, Any]:
        reply = await self.http.request(
            "POST", "/crm/bulk/v8/read", json={"query": query, "file_type": "csv"}
        )
        job_id = str(reply.body["data"][0]["details"]["id"])

        async def check() -> dict[str, Any] | None:
            status = await self.http.request("GET", f"/crm/bulk/v8/read/{job_id}")
            job = status.body["data"][0]
            if job.get("state") == "COMPLETED":
                return dict(job.get("result") or {})
            if job.get("state") == "FAILURE":
                raise job_error(job, job_id)
            return None

        return await self.poller.until(check, f"Bulk Read job {job_id}")

    async def _records(
        self,
        archive: bytes,
        columns: list[str],
        types: dict[str, dict[str, Any]],
        names: dict[str, str],
    ) -> list[Record]:
        users = await self.meta.users() if any(_is_owner(types.get(c)) for c in columns) else {}
        out: list[Record] = []
        for row in csv_rows(archive):
            record: Record = {"id": row.get("Id") or row.get("id")}
            for column in columns:
                if column == "id":
                    continue
                record[column] = _typed(row.get(column, ""), types.get(column), row, names, users)
            out.append(record)
        return out


def _name_columns(columns: list[str], types: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Lookup column -> the extra column that exports the related record's name."""
    extra: dict[str, str] = {}
    for column in columns:
        meta = types.get(column) or {}
        if meta.get("data_type") == "lookup":
            target = ((meta.get("lookup") or {}).get("module") or {}).get("api_name", "")
            extra[column] = f"{column}.{NAME_FIELDS.get(target, 'Name')}"
    return extra


def _is_owner(meta: dict[str, Any] | None) -> bool:
    return (meta or {}).get("data_type") in OWNER_TYPES


def _typed(
    cell: str,
    meta: dict[str, Any] | None,
    row: dict[str, str],
    names: dict[str, str],
    users: dict[str, dict[str, Any]],
) -> Any:
    """A CSV cell as the records API's JSON value for the field's type."""
    if cell == "":
        return None
    kind = (meta or {}).get("data_type", "text")
    name = (meta or {}).get("api_name", "")
    if kind in INTEGER_TYPES:
        return int(cell)
    if kind in FLOAT_TYPES:
        return float(cell)
    if kind == "boolean":
        return cell.lower() == "true"
    if kind == "multiselectpicklist":
        return cell.split(";")
    if kind == "lookup":
        return {"name": row.get(names.get(name, "")) or None, "id": cell}
    if kind in OWNER_TYPES:
        return dict(users.get(cell) or {"name": None, "id": cell})
    return cell
