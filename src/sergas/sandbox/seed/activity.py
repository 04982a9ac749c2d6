"""The seeded leads, notes, calls and meetings, and the recycle bin.

Built after the accounts and their contacts, deals and tasks (`records.build_book`), with
the same random source continuing, so adding them left every earlier record, value and id
as it was. Their ids therefore come after all of those: ascending id means ascending
Created_Time within each of these modules, not across them and the first four.

Activity is shaped for the health sweep: an account's calls and meetings happened between
its creation and its Last_Activity_Time, so most of them agree with it; but about a third of
the quiet accounts (no activity for 60 days, or none at all) had a call or a meeting in the
last two weeks, so they are recently active through calls and meetings only. Some meetings
are still ahead.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from typing import Any

from sergas.sandbox.schema import MODULES, NOTE_EXTRAS, SE_MODULE_KEY
from sergas.sandbox.seed.records import DAY, Book, Plan
from sergas.sandbox.seed.words import (
    CALL_SUBJECTS,
    CALL_TYPES_WEIGHTED,
    CALLS_PER_ACCOUNT,
    CITIES,
    CITY_WEIGHTS,
    FIRST_NAMES,
    LAST_NAMES,
    LEAD_SOURCES_WEIGHTED,
    LEAD_STATUSES_WEIGHTED,
    MEETING_TITLES,
    MEETINGS_PER_ACCOUNT,
    NOTE_TEXTS,
    NOTE_TITLES,
    NOTES_PER_ACCOUNT,
    NOTES_PER_DEAL,
    TITLES,
    VENUES,
    CompanyNamer,
    cumulative,
)
from sergas.sandbox.store import Record

ACTIVITY = ("Leads", "Notes", "Calls", "Events")
QUIET_DAYS = 60  # no activity for this long: quiet; a third of those were called lately
RECYCLE_MODULES = ("Accounts", "Contacts", "Deals", "Leads", "Calls")
_LEAD, _ACCOUNT_NOTE, _DEAL_NOTE, _CALL, _MEETING = range(5)
_MODULE_OF_KIND = (0, 1, 1, 2, 3)  # index into ACTIVITY
_CALL_PURPOSES = ("Prospecting", "Administrative", "Negotiation", "Demo", "Project", None)
_CALL_RESULTS = ("Interested", "Requested more info", "Requested call back", None)


def build_activity(
    book: Book, plan: Plan, accounts: list[Record], deals: list[Record]
) -> tuple[tuple[list[Record], ...], dict[str, list[Record]]]:
    """Records of each module in ACTIVITY (ids ascending), and the recycle bin's entries."""
    rng, now = book.rng, book.now_ts
    rand, choices = rng.random, rng.choices
    n = len(accounts)

    # Per-account draws, then one creation event per record: created << 32 | index << 3 | kind.
    notes = choices(*NOTES_PER_ACCOUNT, k=n)
    calls = choices(*CALLS_PER_ACCOUNT, k=n)
    meetings = choices(*MEETINGS_PER_ACCOUNT, k=n)
    deal_notes = choices(*NOTES_PER_DEAL, k=len(deals))
    events: list[int] = []
    add = events.append
    starts: list[int] = []  # per meeting: its start
    meeting_account: list[int] = []
    active_at, quiet_before, fortnight = book.active_at, now - QUIET_DAYS * DAY, 14 * DAY
    for i, created in enumerate(plan.created_at):
        anchor = active_at[i]
        span = anchor - created if anchor > created else 0
        revived = anchor < quiet_before and rand() < 0.35
        tag = i << 3
        n_calls, n_meetings = calls[i], meetings[i]
        if notes[i]:
            age = now - created
            for _ in range(notes[i]):
                add((created + int(rand() * age)) << 32 | tag | _ACCOUNT_NOTE)
        if revived and not n_calls and not n_meetings:
            n_calls = 1
        for k in range(n_calls):
            if revived and k == 0:
                at = now - int(rand() * fortnight)
            else:
                at = created + int(rand() * span)
            add(at << 32 | tag | _CALL)
        for k in range(n_meetings):
            if revived and not n_calls and k == 0:
                start = now - int(rand() * fortnight)
            elif rand() < 0.2:
                start = now + DAY + int(rand() * 30 * DAY)  # still ahead
            else:
                start = created + int(rand() * span)
            start -= start % 1800  # on the half hour
            booked = max(created, min(start, now) - int(rand() * fortnight))
            add(booked << 32 | len(starts) << 3 | _MEETING)
            starts.append(start)
            meeting_account.append(i)
    for d, deal_created in enumerate(book.deal_created):
        for _ in range(deal_notes[d]):
            add((deal_created + int(rand() * (now - deal_created))) << 32 | d << 3 | _DEAL_NOTE)
    for lead in range(n // 5):
        add((now - int(rand() * 365 * DAY)) << 32 | lead << 3 | _LEAD)
    events.sort()

    ctx = _Context(book, accounts, deals, starts, meeting_account)
    builders: tuple[Callable[[int, int], Record], ...] = (
        _lead(ctx),
        _note(ctx, deal=False),
        _note(ctx, deal=True),
        _call(ctx),
        _meeting(ctx),
    )
    batches: tuple[list[Record], ...] = tuple([] for _ in ACTIVITY)
    adders = tuple(batches[m].append for m in _MODULE_OF_KIND)
    for event in events:
        kind = event & 7
        adders[kind](builders[kind]((event >> 3) & 0x1FFF_FFFF, event >> 32))
    return batches, _recycle_bin(book, n)


class _Context:
    """What the builders share."""

    def __init__(
        self,
        book: Book,
        accounts: list[Record],
        deals: list[Record],
        starts: list[int],
        meeting_account: list[int],
    ) -> None:
        self.book = book
        self.accounts = accounts
        self.deals = deals
        self.starts = starts
        self.meeting_account = meeting_account
        self.refs = book.refs

    def about(self, i: int) -> tuple[dict[str, Any], str, dict[str, Any] | None, dict[str, Any]]:
        """What an activity of account i is related to (the account, or one of its deals,
        with the module), who it was with (one of its contacts, or nobody), and its owner."""
        rand, book = self.book.rng.random, self.book
        account = self.accounts[i]
        related: dict[str, Any] = {"name": account["Account_Name"], "id": account["id"]}
        module = "Accounts"
        deal_indexes = book.deals_of[i]
        if deal_indexes and rand() < 0.2:
            deal = self.deals[deal_indexes[int(rand() * len(deal_indexes))]]
            related, module = {"name": deal["Deal_Name"], "id": deal["id"]}, "Deals"
        who: dict[str, Any] | None = None
        people = book.people[i]
        if people and rand() < 0.75:
            person_id, name = people[int(rand() * len(people))]
            who = {"name": name, "id": person_id}
        owner = account["Owner"] if rand() < 0.85 else self.refs[int(rand() * len(self.refs))]
        return related, module, who, owner


def _picker(rand: Callable[[], float], weighted: tuple[tuple[Any, ...], tuple[int, ...]]) -> Any:
    """A weighted pick per call, from one random draw (as `Random.choices`, cheaper)."""
    values, cum = weighted[0], cumulative(weighted[1])
    total = cum[-1]
    return lambda: values[bisect_left(cum, rand() * total)]


def _lead(ctx: _Context) -> Callable[[int, int], Record]:
    book = ctx.book
    rng, dt, now, new_id = book.rng, book.dt, book.now_ts, book.new_id
    rand = rng.random
    source = _picker(rand, LEAD_SOURCES_WEIGHTED)
    status = _picker(rand, LEAD_STATUSES_WEIGHTED)
    city_of = _picker(rand, (tuple(range(len(CITIES))), CITY_WEIGHTS))
    namer = CompanyNamer(rng)
    industries = MODULES["Leads"].by_name["Industry"].picklist

    def build(_: int, ts: int) -> Record:
        first = FIRST_NAMES[int(rand() * len(FIRST_NAMES))]
        last = LAST_NAMES[int(rand() * len(LAST_NAMES))]
        city, country, prefix, _ = CITIES[city_of()]
        company, domain = namer(city)
        owner = ctx.refs[int(rand() * len(ctx.refs))]
        modified = dt(ts + int(rand() * rand() * (now - ts)))
        revenue = round(rng.lognormvariate(14.0, 1.5), 2) if rand() < 0.6 else None
        return {
            "id": new_id(),
            "First_Name": first,
            "Last_Name": last,
            "Full_Name": f"{first} {last}",
            "Company": company,
            "Designation": TITLES[int(rand() * len(TITLES))],
            "Email": f"{first.lower()}.{last.lower()}@{domain}",
            "Phone": f"{prefix}{int(rand() * 10_000):04d}",
            "Mobile": None,
            "Website": f"https://www.{domain}" if rand() < 0.7 else None,
            "Lead_Source": source(),
            "Lead_Status": status(),
            "Industry": industries[int(rand() * len(industries))] if rand() < 0.8 else None,
            "Annual_Revenue": revenue,
            "No_of_Employees": int(rng.lognormvariate(3.5, 1.3)) + 1 if rand() < 0.6 else None,
            "Rating": None,
            "City": city,
            "Country": country,
            "Description": None,
            "Owner": owner.copy(),
            "Created_By": owner.copy(),
            "Modified_By": owner.copy(),
            "Created_Time": dt(ts),
            "Modified_Time": modified,
            "Last_Activity_Time": modified if rand() < 0.5 else None,
        }

    return build


def _note(ctx: _Context, *, deal: bool) -> Callable[[int, int], Record]:
    book = ctx.book
    rand, dt, now, new_id = book.rng.random, book.dt, book.now_ts, book.new_id
    parent_module = MODULES["Deals" if deal else "Accounts"]
    module_ref = {"api_name": parent_module.api_name, "id": parent_module.id}
    parents, name_field = (ctx.deals, "Deal_Name") if deal else (ctx.accounts, "Account_Name")

    def build(i: int, ts: int) -> Record:
        parent = parents[i]
        owner = parent["Owner"]
        modified = ts if rand() < 0.8 else ts + int(rand() * (now - ts))
        return {
            "id": new_id(),
            "Note_Title": NOTE_TITLES[int(rand() * len(NOTE_TITLES))],
            "Note_Content": NOTE_TEXTS[int(rand() * len(NOTE_TEXTS))],
            "Parent_Id": {
                "module": dict(module_ref),
                "name": parent[name_field],
                "id": parent["id"],
            },
            "Owner": owner.copy(),
            "Created_By": owner.copy(),
            "Modified_By": owner.copy(),
            "Created_Time": dt(ts),
            "Modified_Time": dt(modified),
            "Last_Activity_Time": None,
            **NOTE_EXTRAS,
            "$attachments": [],  # a list of its own
        }

    return build


def _call(ctx: _Context) -> Callable[[int, int], Record]:
    book = ctx.book
    rand, dt, now, new_id = book.rng.random, book.dt, book.now_ts, book.new_id
    call_type_of = _picker(rand, CALL_TYPES_WEIGHTED)

    def build(i: int, ts: int) -> Record:
        related, module, who, owner = ctx.about(i)
        call_type = call_type_of()
        seconds = 0 if call_type == "Missed" else 60 + int(rand() * rand() * 3600)
        logged = min(ts + seconds + int(rand() * 600), now)
        started, ended = dt(ts), dt(logged)
        return {
            "id": new_id(),
            "Subject": CALL_SUBJECTS[int(rand() * len(CALL_SUBJECTS))],
            "Call_Type": call_type,
            "Call_Purpose": _CALL_PURPOSES[int(rand() * len(_CALL_PURPOSES))],
            "Call_Start_Time": started,
            "Call_Duration": f"{seconds // 60:02d}:{seconds % 60:02d}",
            "Call_Duration_in_seconds": seconds,
            "Call_Result": None if call_type == "Missed" else _CALL_RESULTS[int(rand() * 4)],
            "Description": None,
            "What_Id": related,
            "Who_Id": who,
            "Owner": owner.copy(),
            "Created_By": owner.copy(),
            "Modified_By": owner.copy(),
            "Created_Time": started,  # logged as it started; finished when modified
            "Modified_Time": ended,
            "Last_Activity_Time": ended,
            SE_MODULE_KEY: module,
        }

    return build


def _meeting(ctx: _Context) -> Callable[[int, int], Record]:
    book = ctx.book
    rand, dt, now, new_id = book.rng.random, book.dt, book.now_ts, book.new_id

    def build(m: int, ts: int) -> Record:
        start = ctx.starts[m]
        related, module, who, owner = ctx.about(ctx.meeting_account[m])
        modified = ts + int(rand() * (min(start, now) - ts)) if start > ts else ts
        changed = dt(modified)
        return {
            "id": new_id(),
            "Event_Title": MEETING_TITLES[int(rand() * len(MEETING_TITLES))],
            "Start_DateTime": dt(start),
            "End_DateTime": dt(start + (1800 if rand() < 0.4 else 3600)),
            "All_day": False,
            "Venue": VENUES[int(rand() * len(VENUES))],
            "Description": None,
            "What_Id": related,
            "Who_Id": who,
            "Owner": owner.copy(),
            "Created_By": owner.copy(),
            "Modified_By": owner.copy(),
            "Created_Time": dt(ts),
            "Modified_Time": changed,
            "Last_Activity_Time": changed,
            SE_MODULE_KEY: module,
        }

    return build


def _recycle_bin(book: Book, n: int) -> dict[str, list[Record]]:
    """A few deleted records per module, deleted over the last 90 days: those deleted more
    than 60 days ago read as permanently deleted (see `recycle.py`)."""
    rand, dt, now = book.rng.random, book.dt, book.now_ts
    refs = book.refs
    namer = CompanyNamer(book.rng)
    bins: dict[str, list[Record]] = {}
    for module in RECYCLE_MODULES:
        entries: list[tuple[int, Record]] = []
        for _ in range(n // 1000 + 2):
            if module in ("Accounts", "Deals"):
                name = namer("Deleted")[0]
            elif module == "Calls":
                name = CALL_SUBJECTS[int(rand() * len(CALL_SUBJECTS))]
            else:
                first = FIRST_NAMES[int(rand() * len(FIRST_NAMES))]
                name = f"{first} {LAST_NAMES[int(rand() * len(LAST_NAMES))]}"
            deleted_at = now - int(rand() * 90 * DAY)
            deleter = refs[int(rand() * len(refs))]
            creator = refs[int(rand() * len(refs))]
            entries.append(
                (
                    deleted_at,
                    {
                        "deleted_by": {"name": deleter["name"], "id": deleter["id"]},
                        "id": book.new_id(),
                        "display_name": name,
                        "created_by": {"name": creator["name"], "id": creator["id"]},
                        "deleted_time": dt(deleted_at),
                    },
                )
            )
        entries.sort(key=lambda pair: pair[0])
        bins[module] = [entry for _, entry in entries]
    return bins
