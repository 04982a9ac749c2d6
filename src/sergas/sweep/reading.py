"""Reading what the score needs, streaming: one pass per module, per-account aggregates only.

The related modules are read first, at once, each as a stream of COQL pages through the
manager's `iter_accounts` (module is a parameter of every op): open deals, open tasks, and
the calls and meetings held in the activity window. Each record is folded into its
account's aggregate as it arrives (a deal's amount and closing date, a task's due date, the
latest call and meeting and their counts) and dropped; no module is ever held whole. Then
the accounts stream through, and each active one comes out as `AccountSignals` with its
aggregates (taken out of the maps as it goes), to be scored and dropped by the caller.

Calls and meetings count when related to the account itself or to one of its open deals
(What_Id); those related to a closed deal or a lead do not. Missed calls do not count (no
one was reached), nor meetings still ahead.

After scoring, `read_details` fetches the key contacts and the latest note of the few
accounts a brief shows in detail (the at-risk ones), `COQL_IN_VALUES` accounts per query.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol, TypeVar

from sergas.query import Criteria, F
from sergas.sweep.model import AccountDetails, Contact, Note
from sergas.sweep.scoring import NO_ACTIVITY, AccountSignals, Activity, Deal, Owner
from sergas.sweep.settings import SweepSettings
from sergas.tiers.base import BulkResult, Record
from sergas.zoho_limits import COQL_IN_VALUES

__all__ = [
    "ACCOUNT_FIELDS",
    "CALL_FIELDS",
    "CONTACT_FIELDS",
    "DEAL_FIELDS",
    "KEY_CONTACTS",
    "MEETING_FIELDS",
    "NOTE_CHARS",
    "NOTE_FIELDS",
    "READ_MODULES",
    "TASK_FIELDS",
    "Gateway",
    "Reader",
    "SweepInput",
    "all_or_nothing",
    "parse_date",
    "parse_datetime",
    "read_all",
    "read_details",
    "truncate",
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
CALL_FIELDS = ("What_Id", "Call_Start_Time")
MEETING_FIELDS = ("What_Id", "Start_DateTime")
CONTACT_FIELDS = (
    "Account_Name",
    "Full_Name",
    "Title",
    "Email",
    "Phone",
    "Last_Activity_Time",
    "Modified_Time",
)
NOTE_FIELDS = ("Parent_Id", "Note_Title", "Note_Content", "Created_Time", "Created_By", "Owner")
READ_MODULES = ("Deals", "Tasks", "Calls", "Events", "Accounts")
KEY_CONTACTS = 3  # contacts per at-risk account in a brief
NOTE_CHARS = 280  # a note's content beyond this is cut, with an ellipsis
DETAIL_QUERIES = 4  # detail queries in flight (each at most COQL_IN_VALUES accounts)
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

    def iter_accounts(
        self,
        *,
        criteria: Criteria | None = None,
        fields: Sequence[str] | None = None,
        module: str = "Accounts",
    ) -> AsyncIterator[Record]: ...

    async def bulk_update_accounts(
        self, records: Sequence[Mapping[str, Any]], *, module: str = "Accounts"
    ) -> BulkResult: ...


@dataclass(frozen=True)
class SweepInput:
    accounts: list[AccountSignals]  # active accounts, in the order read
    scanned: int  # every account read, active or not
    deals: int  # open deals read
    tasks: int  # open tasks read
    calls: int = 0  # calls read (held in the window, not missed)
    meetings: int = 0  # meetings read (held in the window)


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


def _key(record_id: str | None) -> int | str | None:
    """Zoho's ids are digits: as ints they take half the memory of strings as map keys
    (any other id is kept as it is)."""
    if not record_id:
        return None
    return int(record_id) if record_id.isdigit() else record_id


def _number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    return float(value)


def _int(value: Any) -> int | None:
    number = _number(value)
    return None if number is None else int(number)


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


def _window(settings: SweepSettings, now: datetime) -> tuple[str, str]:
    start = now - timedelta(days=settings.activity_stale_days)
    return (
        start.astimezone(UTC).replace(microsecond=0).isoformat(),
        now.astimezone(UTC).replace(microsecond=0).isoformat(),
    )


def held_calls_criteria(settings: SweepSettings, now: datetime) -> Criteria:
    start, end = _window(settings, now)
    return F("Call_Start_Time").between(start, end) & (F("Call_Type") != "Missed")


def held_meetings_criteria(settings: SweepSettings, now: datetime) -> Criteria:
    start, end = _window(settings, now)
    return F("Start_DateTime").between(start, end)


class Reader:
    """One sweep's reads: `related()` first, then `accounts()` streams the active accounts.

    Per account it keeps only its open deals (tuples), its open tasks' due dates and one
    small list for its calls and meetings; each account's entries leave the maps as the
    account is yielded."""

    def __init__(
        self,
        gateway: Gateway,
        settings: SweepSettings,
        now: datetime,
        on_module: Callable[[str, int], None] | None = None,
    ) -> None:
        self.gateway, self.settings, self.now = gateway, settings, now
        self.on_module = on_module
        self.scanned = self.deals = self.tasks = self.calls = self.meetings = 0
        self._deals: dict[int | str, list[Deal]] = {}
        self._tasks: dict[int | str, list[date | None]] = {}
        # What_Id (an account or an open deal) -> [last call, calls, last meeting, meetings]
        self._activity: dict[int | str, list[Any]] = {}
        self._owners: dict[str, Owner] = {}  # one Owner per user, shared by their accounts

    def _done(self, module: str, count: int) -> None:
        if self.on_module is not None:
            self.on_module(module, count)

    async def related(self) -> None:
        """Read open deals, open tasks, held calls and meetings at once, into aggregates."""
        settings, now = self.settings, self.now
        deal_account: dict[int | str, int | str] = {}
        await all_or_nothing(
            [
                self._read_deals(deal_account),
                self._read_tasks(),
                self._read_activity("Calls", held_calls_criteria(settings, now), CALL_FIELDS, 0),
                self._read_activity(
                    "Events", held_meetings_criteria(settings, now), MEETING_FIELDS, 2
                ),
            ]
        )
        # Calls and meetings about an open deal count for the deal's account.
        for deal_key, account_key in deal_account.items():
            found = self._activity.pop(deal_key, None)
            if found is not None:
                _merge(self._activity.setdefault(account_key, [None, 0, None, 0]), found)

    def _stream(
        self, module: str, criteria: Criteria | None, fields: Sequence[str]
    ) -> AsyncIterator[Record]:
        return self.gateway.iter_accounts(criteria=criteria, fields=list(fields), module=module)

    async def _read_deals(self, deal_account: dict[int | str, int | str]) -> None:
        open_stages = set(self.settings.open_deal_stages)
        deals = self._deals
        async for deal in self._stream("Deals", open_deals_criteria(self.settings), DEAL_FIELDS):
            account = _key(_lookup_id(deal, "Account_Name"))
            if account is None or deal.get("Stage") not in open_stages:
                continue
            row = Deal(_number(deal.get("Amount")), parse_date(deal.get("Closing_Date")))
            deals.setdefault(account, []).append(row)
            deal_key = _key(str(deal.get("id") or ""))
            if deal_key is not None:
                deal_account[deal_key] = account
            self.deals += 1
        self._done("Deals", self.deals)

    async def _read_tasks(self) -> None:
        done = set(self.settings.completed_task_statuses)
        tasks = self._tasks
        async for task in self._stream("Tasks", open_tasks_criteria(self.settings), TASK_FIELDS):
            account = _key(_lookup_id(task, "What_Id"))
            if account is None or task.get("Status") in done:
                continue
            tasks.setdefault(account, []).append(parse_date(task.get("Due_Date")))
            self.tasks += 1
        self._done("Tasks", self.tasks)

    async def _read_activity(
        self, module: str, criteria: Criteria, fields: Sequence[str], slot: int
    ) -> None:
        """Calls (slot 0) or meetings (slot 2): the latest and the count per What_Id."""
        when_field = fields[1]
        activity, now, n = self._activity, self.now, 0
        async for record in self._stream(module, criteria, fields):
            about = _key(_lookup_id(record, "What_Id"))
            when = parse_datetime(record.get(when_field))
            if about is None or when is None or when > now:
                continue
            entry = activity.setdefault(about, [None, 0, None, 0])
            if entry[slot] is None or when > entry[slot]:
                entry[slot] = when
            entry[slot + 1] += 1
            n += 1
        if module == "Calls":
            self.calls = n
        else:
            self.meetings = n
        self._done(module, n)

    def _owner(self, record: Mapping[str, Any]) -> Owner:
        value = record.get("Owner")
        if not (isinstance(value, Mapping) and value.get("id")):
            return _UNASSIGNED
        owner_id = str(value["id"])
        owner = self._owners.get(owner_id)
        if owner is None:
            owner = Owner(owner_id, str(value.get("name") or owner_id), value.get("email"))
            self._owners[owner_id] = owner
        return owner

    async def accounts(self) -> AsyncIterator[AccountSignals]:
        """Every active account with its aggregates, in id order (after `related()`)."""
        inactive = set(self.settings.inactive_ratings)
        deals, tasks, activity = self._deals, self._tasks, self._activity
        async for record in self._stream("Accounts", F("id").is_not_null(), ACCOUNT_FIELDS):
            self.scanned += 1
            account_id = str(record["id"])
            key = _key(account_id)
            own_deals = deals.pop(key, ()) if key is not None else ()
            own_tasks = tasks.pop(key, ()) if key is not None else ()
            calls = activity.pop(key, None) if key is not None else None
            if record.get("Rating") in inactive:
                continue
            yield AccountSignals(
                id=account_id,
                name=str(record.get("Account_Name") or account_id),
                owner=self._owner(record),
                last_activity=parse_datetime(record.get("Last_Activity_Time")),
                annual_revenue=_number(record.get("Annual_Revenue")),
                open_deals=tuple(own_deals),
                open_task_due_dates=tuple(own_tasks),
                health_score=_int(record.get("Health_Score")),
                account_status=record.get("Account_Status") or None,
                activity=NO_ACTIVITY if calls is None else Activity(*calls),
            )
        self._done("Accounts", self.scanned)


_UNASSIGNED = Owner("unassigned", "Unassigned")


def _merge(into: list[Any], other: list[Any]) -> None:
    for slot in (0, 2):
        if other[slot] is not None and (into[slot] is None or other[slot] > into[slot]):
            into[slot] = other[slot]
        into[slot + 1] += other[slot + 1]


async def read_all(
    gateway: Gateway,
    settings: SweepSettings,
    now: datetime | None = None,
    on_module: Callable[[str, int], None] | None = None,
) -> SweepInput:
    """Every active account's signals in one list (for tests and small CRMs: the sweep
    itself scores them as they stream, see `Reader`)."""
    reader = Reader(gateway, settings, now or datetime.now(UTC), on_module)
    await reader.related()
    accounts = [a async for a in reader.accounts()]
    return SweepInput(
        accounts, reader.scanned, reader.deals, reader.tasks, reader.calls, reader.meetings
    )


def truncate(text: str, limit: int = NOTE_CHARS) -> str:
    """`text` as it is up to `limit` characters; longer, cut there with an ellipsis."""
    return text if len(text) <= limit else text[:limit].rstrip() + "…"


def _contact(record: Mapping[str, Any]) -> Contact:
    return Contact(
        name=str(record.get("Full_Name") or record.get("id")),
        title=record.get("Title") or None,
        email=record.get("Email") or None,
        phone=record.get("Phone") or None,
    )


def _contact_rank(record: Mapping[str, Any]) -> tuple[datetime, datetime]:
    """Most recently active first (Last_Activity_Time), then most recently changed."""
    floor = datetime.min.replace(tzinfo=UTC)
    return (
        parse_datetime(record.get("Last_Activity_Time")) or floor,
        parse_datetime(record.get("Modified_Time")) or floor,
    )


def _note(record: Mapping[str, Any]) -> Note:
    author = record.get("Created_By") or record.get("Owner")
    name = author.get("name") if isinstance(author, Mapping) else None
    created = parse_datetime(record.get("Created_Time"))
    return Note(
        title=record.get("Note_Title") or None,
        content=truncate(str(record.get("Note_Content") or "")),
        created=created,
        author=str(name) if name else None,
    )


async def read_details(gateway: Gateway, account_ids: Iterable[str]) -> dict[str, AccountDetails]:
    """The key contacts (at most KEY_CONTACTS: most recently active first) and the latest
    note (on the account itself) of each account, `COQL_IN_VALUES` accounts per query."""
    ids = list(dict.fromkeys(account_ids))
    chunks = [ids[i : i + COQL_IN_VALUES] for i in range(0, len(ids), COQL_IN_VALUES)]
    contacts: dict[str, list[tuple[tuple[datetime, datetime], Contact]]] = {}
    notes: dict[str, tuple[datetime, Note]] = {}
    gate = asyncio.Semaphore(DETAIL_QUERIES)

    def add_contact(account: str, record: Record) -> None:
        contacts.setdefault(account, []).append((_contact_rank(record), _contact(record)))

    def add_note(account: str, record: Record) -> None:
        note = _note(record)
        at = note.created or datetime.min.replace(tzinfo=UTC)
        if account not in notes or at > notes[account][0]:
            notes[account] = (at, note)

    async def each(
        module: str,
        link: str,
        fields: Sequence[str],
        chunk: list[str],
        add: Callable[[str, Record], None],
    ) -> None:
        async with gate:
            records = gateway.iter_accounts(
                criteria=F(link).in_(chunk), fields=list(fields), module=module
            )
            async for record in records:
                account = _lookup_id(record, link)
                if account is not None:
                    add(account, record)

    await all_or_nothing(
        [each("Contacts", "Account_Name", CONTACT_FIELDS, c, add_contact) for c in chunks]
        + [each("Notes", "Parent_Id", NOTE_FIELDS, c, add_note) for c in chunks]
    )
    details: dict[str, AccountDetails] = {}
    for account_id in ids:
        ranked = sorted(contacts.get(account_id, ()), key=lambda pair: pair[0], reverse=True)
        latest = notes.get(account_id)
        details[account_id] = AccountDetails(
            tuple(c for _, c in ranked[:KEY_CONTACTS]), latest[1] if latest else None
        )
    return details


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
