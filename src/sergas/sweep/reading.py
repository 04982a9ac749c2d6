"""Reading what the score needs: accounts, open deals and open tasks, joined in memory.

Three bulk reads through the manager (one per module, each routed to the bulk tier), then
one pass over the deals and one over the tasks to hang them on their accounts. Joining in
memory costs nothing next to one call per account for its related records.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol, TypeVar

from sergas.query import Criteria, F
from sergas.sweep.scoring import AccountSignals, Deal, Owner
from sergas.sweep.settings import SweepSettings
from sergas.tiers.base import BulkResult, Record

__all__ = [
    "ACCOUNT_FIELDS",
    "DEAL_FIELDS",
    "TASK_FIELDS",
    "Gateway",
    "SweepInput",
    "all_or_nothing",
    "join",
    "parse_date",
    "parse_datetime",
    "read_all",
]

ACCOUNT_FIELDS = (
    "Account_Name",
    "Owner",
    "Last_Activity_Time",
    "Annual_Revenue",
    "Rating",
    "Health_Score",
    "Account_Status",
    "Last_Health_Check",
)
DEAL_FIELDS = ("Account_Name", "Amount", "Stage", "Closing_Date")
TASK_FIELDS = ("What_Id", "Status", "Due_Date")
T = TypeVar("T")


class Gateway(Protocol):
    """The part of ZohoIntegrationManager the sweep uses."""

    async def bulk_read_accounts(
        self,
        *,
        criteria: Criteria | None = None,
        fields: Sequence[str] | None = None,
        module: str = "Accounts",
    ) -> list[Record]: ...

    async def bulk_update_accounts(
        self, records: Sequence[Mapping[str, Any]], *, module: str = "Accounts"
    ) -> BulkResult: ...


@dataclass(frozen=True)
class SweepInput:
    accounts: list[AccountSignals]  # active accounts, in the order read
    scanned: int  # every account read, active or not
    deals: int  # open deals read
    tasks: int  # open tasks read


def parse_datetime(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value))


def parse_date(value: Any) -> date | None:
    if not value:
        return None
    return date.fromisoformat(str(value)[:10])


def _lookup_id(record: Mapping[str, Any], name: str) -> str | None:
    value = record.get(name)
    if isinstance(value, Mapping):
        found = value.get("id")
        return str(found) if found else None
    flat = record.get(f"{name}.id")  # bulk-read CSV columns, if a tier leaves them flat
    return str(flat) if flat else None


def _owner(record: Mapping[str, Any]) -> Owner:
    value = record.get("Owner")
    if isinstance(value, Mapping) and value.get("id"):
        return Owner(str(value["id"]), str(value.get("name") or value["id"]), value.get("email"))
    return Owner("unassigned", "Unassigned")


def _number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    return float(value)


def _int(value: Any) -> int | None:
    number = _number(value)
    return None if number is None else int(number)


def join(
    accounts: Iterable[Record],
    deals: Iterable[Record],
    tasks: Iterable[Record],
    settings: SweepSettings,
) -> SweepInput:
    """AccountSignals for each active account, with its open deals and open tasks."""
    open_stages = set(settings.open_deal_stages)
    done = set(settings.completed_task_statuses)
    inactive = set(settings.inactive_ratings)
    deals_by: dict[str, list[Deal]] = defaultdict(list)
    tasks_by: dict[str, list[date | None]] = defaultdict(list)
    n_deals = n_tasks = 0
    for deal in deals:
        account_id = _lookup_id(deal, "Account_Name")
        if account_id and deal.get("Stage") in open_stages:
            deals_by[account_id].append(
                Deal(_number(deal.get("Amount")), parse_date(deal.get("Closing_Date")))
            )
            n_deals += 1
    for task in tasks:
        account_id = _lookup_id(task, "What_Id")
        if account_id and task.get("Status") not in done:
            tasks_by[account_id].append(parse_date(task.get("Due_Date")))
            n_tasks += 1
    active: list[AccountSignals] = []
    scanned = 0
    for record in accounts:
        scanned += 1
        if record.get("Rating") in inactive:
            continue
        account_id = str(record["id"])
        active.append(
            AccountSignals(
                id=account_id,
                name=str(record.get("Account_Name") or account_id),
                owner=_owner(record),
                last_activity=parse_datetime(record.get("Last_Activity_Time")),
                annual_revenue=_number(record.get("Annual_Revenue")),
                open_deals=tuple(deals_by.get(account_id, ())),
                open_task_due_dates=tuple(tasks_by.get(account_id, ())),
                health_score=_int(record.get("Health_Score")),
                account_status=record.get("Account_Status") or None,
            )
        )
    return SweepInput(active, scanned, n_deals, n_tasks)


def open_deals_criteria(settings: SweepSettings) -> Criteria:
    return F("Stage").in_(list(settings.open_deal_stages))


def open_tasks_criteria(settings: SweepSettings) -> Criteria | None:
    statuses = list(settings.completed_task_statuses)
    if not statuses:
        return None
    combined: Criteria = F("Status") != statuses[0]
    for status in statuses[1:]:
        combined = combined & (F("Status") != status)
    return combined


async def read_all(
    gateway: Gateway,
    settings: SweepSettings,
    on_module: Callable[[str, int], None] | None = None,
) -> SweepInput:
    """Read accounts, open deals and open tasks (one bulk read each, at once) and join them.

    `on_module(module, count)` is called as each read finishes (progress bars).
    """
    reads: list[tuple[str, Criteria | None, tuple[str, ...]]] = [
        ("Accounts", None, ACCOUNT_FIELDS),
        ("Deals", open_deals_criteria(settings), DEAL_FIELDS),
        ("Tasks", open_tasks_criteria(settings), TASK_FIELDS),
    ]

    async def one(module: str, criteria: Criteria | None, fields: tuple[str, ...]) -> list[Record]:
        records = await gateway.bulk_read_accounts(
            criteria=criteria, fields=list(fields), module=module
        )
        if on_module is not None:
            on_module(module, len(records))
        return records

    # Concurrent: each read is mostly waiting on Zoho (a bulk job, or pages).
    accounts, deals, tasks = await all_or_nothing([one(*read) for read in reads])
    return join(accounts, deals, tasks, settings)


async def all_or_nothing(coros: Sequence[Coroutine[Any, Any, T]]) -> list[T]:
    """Run concurrently; if one fails, cancel the others and raise its error as it is.

    Unlike gather(), nothing is left running behind the caller's back; unlike a bare
    TaskGroup, the caller sees the error itself, not an ExceptionGroup around it.
    """
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(c) for c in coros]
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None
    return [t.result() for t in tasks]
