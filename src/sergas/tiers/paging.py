"""Walking a module by id through COQL: what the REST and SDK tiers use where page tokens
stop (past Zoho's 100,000-record chain) or cannot go (criteria: search stops at 2,000)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Literal

from sergas.errors import LimitExceededError
from sergas.query import CoqlQuery, Criteria, F
from sergas.tiers.base import Record

__all__ = ["COQL_PAGE", "pages_then_walk", "walk_by_id"]

COQL_PAGE = 2000  # Zoho's most rows per COQL call


async def walk_by_id(
    coql: Callable[[CoqlQuery], Awaitable[list[Record]]],
    finish: Callable[[str, list[Record]], Awaitable[list[Record]]],
    module: str,
    columns: list[str],
    criteria: Criteria | None,
    below: int | None = None,
) -> AsyncIterator[Record]:
    """COQL pages by id: ascending from the start, or descending below `below` (the records
    API's default order is id descending). `finish` completes a page's rows (owner emails)."""
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
        rows = await finish(module, await coql(query))
        for row in rows:
            yield row
        if len(rows) < COQL_PAGE:
            return
        bound = int(rows[-1]["id"])


async def pages_then_walk(
    pages: AsyncIterator[Record], walk_below: Callable[[int], AsyncIterator[Record]]
) -> AsyncIterator[Record]:
    """Records-API pages until Zoho's page-token chain ends (100,000 records), then COQL by
    id below the last id seen (`walk_below`), so every record comes exactly once."""
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
