"""The read strategies, once for every tier: records pages, COQL walks, search pages, bulk reads,
and a record's related records and notes.

Iteration (`iter_records`): records-API pages of 200 through page tokens; Zoho's chain of page
tokens ends at 100,000 records (PAGINATION_LIMIT_EXCEEDED), and past it COQL carries on by id
below the last id seen (the records API's default order is id descending). With criteria,
COQL pages of 2,000 keyed by id (`id > last order by id`): the search API stops at 2,000
matches and COQL's offset at 100,000.

Bulk read (`bulk_read`): first one COQL `select COUNT(id) ... where <criteria>` (1 credit).
A count of zero returns at once.

- Up to SERGAS_BULK_READ_THRESHOLD rows (default 50,000): COQL pages of 2,000 ordered by id,
  all offsets at once up to Zoho's 100,000-row offset cap (the choke point holds them to the
  heavy sub-concurrency of 10). 3 credits per 2,000 rows; about ceil(pages / 10) round trips.
  Done when exactly the counted rows arrived (within the cap) or the last page came back
  short; otherwise (past the cap, rows added since the count, no count) by id
  (`id > last order by id`) until a page comes back short. Rows are de-duplicated by id.
- Above it, on a tier with Bulk Read jobs: a job (create 50 credits, each poll and download
  1). Credits break even near 35,000 rows (50 vs 3 per 2,000); a job also costs its queueing
  and processing time (minutes on a busy org), so COQL stays cheaper in time well past that.
  50,000 is where the credit saving starts to matter and COQL would need 25+ calls; past
  100,000 COQL must page by id, one call at a time, and the job is faster as well as cheaper.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Literal

from sergas.errors import InvalidDataError, LimitExceededError, SergasError
from sergas.log import get_logger
from sergas.query import CoqlQuery, Criteria, F, api_name
from sergas.tiers.base import RELATED_LISTS, ReadStrategy, Record, RecordPage
from sergas.tiers.core.jobs import Poller, read_by_job
from sergas.tiers.core.metadata import Metadata
from sergas.tiers.core.primitives import BulkReadJobs, Page, PageQuery, Primitives, RelatedQuery
from sergas.tiers.core.writes import missing_record, not_found
from sergas.zoho_limits import (
    COQL_OFFSET_CAP,
    COQL_PAGE,
    RECORDS_PER_PAGE,
    SEARCH_CAP,
)

__all__ = [
    "NOTE_FIELDS",
    "bulk_read",
    "count",
    "iter_records",
    "record_page",
    "related",
    "related_list",
    "search",
    "walk_by_id",
]

log = get_logger("sergas.tiers")

Coql = Callable[[str], Awaitable[list[Record]]]


# -- iteration -----------------------------------------------------------------------------


async def iter_records(
    tier: Primitives, meta: Metadata, module: str, columns: list[str], criteria: Criteria | None
) -> AsyncIterator[Record]:
    """Every matching record exactly once (see the module doc)."""
    if criteria is not None:
        source = walk_by_id(tier.coql, meta, module, columns, criteria)
    else:
        source = _pages_then_walk(
            _pages(tier, module, columns),
            lambda below: walk_by_id(tier.coql, meta, module, columns, None, below),
        )
    async for record in source:
        yield record


async def _pages(tier: Primitives, module: str, columns: list[str]) -> AsyncIterator[Record]:
    query = PageQuery(module, columns)
    while True:
        page = await tier.list_page(query)
        for record in page.records:
            yield record
        if not page.more:
            return
        if page.next_page_token:
            query = PageQuery(module, columns, page=None, page_token=page.next_page_token)
        else:
            query = PageQuery(module, columns, page=(query.page or 1) + 1)


async def _pages_then_walk(
    pages: AsyncIterator[Record], walk_below: Callable[[int], AsyncIterator[Record]]
) -> AsyncIterator[Record]:
    """Records-API pages until Zoho's page-token chain ends, then COQL by id below the last
    id seen (`walk_below`), so every record comes exactly once."""
    last: str | None = None
    try:
        async for record in pages:
            last = record["id"]
            yield record
        return
    except LimitExceededError as exc:
        if exc.code != "PAGINATION_LIMIT_EXCEEDED" or last is None:
            raise
    async for record in walk_below(int(last)):
        yield record


async def walk_by_id(
    coql: Coql,
    meta: Metadata,
    module: str,
    columns: list[str],
    criteria: Criteria | None,
    below: int | None = None,
) -> AsyncIterator[Record]:
    """COQL pages by id: ascending from the start, or descending below `below`. Rows get the
    records API's owner lookups."""
    base = criteria or F("id").is_not_null()  # Zoho's COQL wants a WHERE clause
    descending = below is not None
    bound = below
    while True:
        if bound is None:
            where = base
        else:
            where = ((F("id") < bound) if descending else (F("id") > bound)) & base
        order: Literal["asc", "desc"] = "desc" if descending else "asc"
        query = CoqlQuery(module, columns, where=where, order_by=(("id", order),), limit=COQL_PAGE)
        rows = await meta.with_owner_emails(module, await coql(query.render()))
        for row in rows:
            yield row
        if len(rows) < COQL_PAGE:
            return
        bound = int(rows[-1]["id"])


# -- search --------------------------------------------------------------------------------


async def search(
    tier: Primitives,
    module: str,
    criteria: Criteria,
    limit: int,
    fields: list[str] | None,
) -> list[Record]:
    """Zoho's search API, pages of up to 200; `limit` is capped at its 2,000 results."""
    wanted = max(0, min(limit, SEARCH_CAP))
    text = criteria.to_search()
    found: list[Record] = []
    page = 1
    while len(found) < wanted:
        query = PageQuery(
            module, fields, page=page, per_page=min(RECORDS_PER_PAGE, wanted), criteria=text
        )
        result = await tier.search_page(query)
        found.extend(result.records)
        if not result.more:
            break
        page += 1
    return found[:wanted]


# -- bulk read -----------------------------------------------------------------------------


async def count(coql: Coql, module: str, criteria: Criteria | None) -> int | None:
    """Matching rows by COQL COUNT (1 credit); None when Zoho will not count them."""
    where = (criteria or F("id").is_not_null()).to_coql()
    try:
        rows = await coql(f"select COUNT(id) from {api_name(module)} where {where}")
    except InvalidDataError:
        return None
    return int(rows[0].get("COUNT(id)") or 0) if rows else 0


async def bulk_read(
    tier: Primitives,
    meta: Metadata,
    poller: Poller,
    threshold: int,
    module: str,
    criteria: Criteria | None,
    columns: list[str],
    strategy: ReadStrategy,
) -> list[Record]:
    """The cheapest way for the size (see the module doc); "coql" or "bulk" forces one."""
    jobs = tier if isinstance(tier, BulkReadJobs) else None
    if strategy == "bulk":  # no count needed: the job reads whatever matches
        if jobs is None:
            raise InvalidDataError(
                f"the {tier.name} tier cannot run a Bulk Read job; use the sdk or rest tier",
                code="NOT_SUPPORTED",
                details={"tier": tier.name, "strategy": strategy},
            )
        return await read_by_job(jobs, meta, poller, module, criteria, columns)
    # The count and the metadata the conversion needs, side by side: one round trip.
    expected, _ = await asyncio.gather(
        count(tier.coql, module, criteria), _prefetch(meta, module, columns)
    )
    by_job = jobs is not None and strategy == "auto" and (expected or 0) > threshold
    log.info(
        "bulk read",
        tier=tier.name,
        module=module,
        expected=expected,
        strategy="bulk" if by_job else "coql",
    )
    if expected == 0:
        return []
    if by_job and jobs is not None:
        return await read_by_job(jobs, meta, poller, module, criteria, columns)
    return await _coql_pages(tier.coql, meta, module, criteria, columns, expected)


async def _prefetch(meta: Metadata, module: str, columns: list[str]) -> None:
    owners = await meta.owner_fields(module)
    if any(c in owners for c in columns):
        await meta.users()


async def _coql_pages(
    coql: Coql,
    meta: Metadata,
    module: str,
    criteria: Criteria | None,
    columns: list[str],
    expected: int | None,
) -> list[Record]:
    base = criteria or F("id").is_not_null()  # Zoho's COQL wants a WHERE clause

    def page(where: Criteria, offset: int) -> Awaitable[list[Record]]:
        query = CoqlQuery(
            module, columns, where=where, order_by=(("id", "asc"),), limit=COQL_PAGE, offset=offset
        )
        return coql(query.render())

    offsets = range(0, min(expected or 0, COQL_OFFSET_CAP), COQL_PAGE)
    pages = await asyncio.gather(*(page(base, o) for o in offsets))
    rows = [row for p in pages for row in p]
    # Done when the last page came back short, or when exactly the counted rows (all within
    # the offset cap) arrived; otherwise carry on by id: past the cap, rows added since the
    # count, or no count at all.
    exact = expected is not None and len(rows) == expected < COQL_OFFSET_CAP
    done = bool(pages) and (len(pages[-1]) < COQL_PAGE or exact)
    last = max((int(r["id"]) for r in rows), default=None)
    while not done:
        more = await page(base if last is None else (F("id") > last) & base, 0)
        rows.extend(more)
        done = len(more) < COQL_PAGE
        last = int(more[-1]["id"]) if more else last
    unique = list({str(r["id"]): r for r in rows}.values())
    return await meta.with_owner_emails(module, unique)


# -- related records and notes ---------------------------------------------------------------

# A note's fields, as every tier asks for them (MCP's get_notes answers these by default).
NOTE_FIELDS = ("Note_Title", "Note_Content", "Parent_Id", "Owner", "Created_Time", "Modified_Time")


def related_list(name: str) -> str:
    """Zoho's api name of one of RELATED_LISTS (any case); InvalidDataError names them."""
    found = next((known for known in RELATED_LISTS if known.casefold() == name.casefold()), None)
    if found is None:
        raise InvalidDataError(
            f"unknown related list {name!r}; use one of {', '.join(RELATED_LISTS)}",
            details={"param_name": "related_list", "supported_values": list(RELATED_LISTS)},
        )
    return found


def record_page(page: Page, number: int) -> RecordPage:
    return RecordPage(page.records, page.more, page.next_page_token, page.page or number)


async def related(
    tier: Primitives, meta: Metadata, query: RelatedQuery, notes: bool = False
) -> RecordPage:
    """A page of a record's related list (of its notes, newest first, with `notes`); a
    parent that does not exist is NotFoundError."""
    try:
        page = await (tier.notes_page(query) if notes else tier.related_page(query))
    except SergasError as exc:
        if missing_record(exc):
            raise not_found(query.module, query.record_id, exc) from None
        raise
    return record_page(page, query.page)
