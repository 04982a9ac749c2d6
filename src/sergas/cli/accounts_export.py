"""`sergas accounts export`'s four ways to read every matching account, with progress.

- auto: `bulk_read_accounts`; the tier chooses COQL pages or a Bulk Read job by size.
- records: the records API, page by page (page tokens past 2,000), through the tier's
  `iter_accounts` (with criteria the tiers walk COQL pages by id, since Zoho's search API
  stops at 2,000 matches).
- coql: COQL pages of 2,000 keyed by id (`where id > last order by id limit 2000`).
- bulk: a Zoho Bulk Read job (`bulk_read_accounts(strategy="bulk")`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from sergas.cli._common import err_console
from sergas.cli.accounts_io import writer_for
from sergas.errors import SergasError
from sergas.files import atomic_write
from sergas.query import CoqlQuery, Criteria, F, api_name
from sergas.zoho_limits import COQL_PAGE

if TYPE_CHECKING:
    from sergas.manager import RoutingContext, ZohoIntegrationManager
    from sergas.tiers.base import Record

__all__ = ["COQL_PAGE", "STRATEGIES", "Strategy", "run_export"]

Strategy = Literal["auto", "records", "coql", "bulk"]
STRATEGIES: tuple[Strategy, ...] = ("auto", "records", "coql", "bulk")
MODULE = "Accounts"


async def run_export(
    manager: ZohoIntegrationManager,
    out: Path,
    fmt: Literal["csv", "jsonl"],
    strategy: Strategy,
    *,
    criteria: Criteria | None,
    fields: Sequence[str] | None,
    context: RoutingContext | None,
) -> int:
    """Write every matching account to `out`; return how many were written."""
    total = await _count(manager, criteria, context)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    # Written whole or not at all: a failure midway leaves any earlier file at `out` as it was.
    with atomic_write(out, newline="") as handle:
        writer = writer_for(handle, fmt, fields)
        with Progress(*columns, console=err_console, transient=False) as bars:
            task = bars.add_task(f"export ({strategy})", total=total)
            async for record in _records(manager, strategy, criteria, fields, context):
                writer.add(record)
                bars.advance(task)
            bars.update(task, total=writer.count)
        writer.finish()
    return writer.count


async def _count(
    manager: ZohoIntegrationManager, criteria: Criteria | None, context: RoutingContext | None
) -> int | None:
    """How many will come (one COQL COUNT, 1 credit), for the progress bar; None if unknown."""
    where = (criteria or F("id").is_not_null()).to_coql()
    try:
        rows = await manager.coql(f"select COUNT(id) from {MODULE} where {where}", context=context)
    except SergasError:
        return None
    return int(rows[0].get("COUNT(id)") or 0) if rows else 0


async def _records(
    manager: ZohoIntegrationManager,
    strategy: Strategy,
    criteria: Criteria | None,
    fields: Sequence[str] | None,
    context: RoutingContext | None,
) -> AsyncIterator[Record]:
    if strategy == "records":
        async for record in manager.iter_accounts(
            criteria=criteria, fields=fields, context=context
        ):
            yield record
        return
    if strategy == "coql":
        async for record in _coql_pages(manager, criteria, fields, context):
            yield record
        return
    if strategy == "bulk":
        read = await manager.bulk_read_accounts(
            criteria=criteria, fields=fields, context=context, strategy="bulk"
        )
    else:
        read = await manager.bulk_read_accounts(criteria=criteria, fields=fields, context=context)
    for record in read:
        yield record


async def _coql_pages(
    manager: ZohoIntegrationManager,
    criteria: Criteria | None,
    fields: Sequence[str] | None,
    context: RoutingContext | None,
) -> AsyncIterator[Record]:
    """`where id > last order by id limit 2000` until a page comes back short."""
    columns = list(fields) if fields else await _all_columns(manager, context)
    base = criteria or F("id").is_not_null()  # Zoho's COQL wants a WHERE clause
    last: int | None = None
    while True:
        where = base if last is None else (F("id") > last) & base
        query = CoqlQuery(MODULE, columns, where=where, order_by=(("id", "asc"),), limit=COQL_PAGE)
        page = await manager.coql(query, context=context)
        for record in page:
            yield record
        if len(page) < COQL_PAGE:
            return
        last = int(page[-1]["id"])


async def _all_columns(
    manager: ZohoIntegrationManager, context: RoutingContext | None
) -> list[str]:
    """COQL has no `select *`: the fields the records API returns for one account."""
    sample = await manager.get_accounts(limit=1, context=context)
    names = [key for key in (sample[0] if sample else {}) if _is_name(key)]
    return [name for name in names if name != "id"] or ["Account_Name"]


def _is_name(key: str) -> bool:
    try:
        api_name(key)
    except ValueError:
        return False
    return True
