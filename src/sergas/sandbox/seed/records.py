"""The seeded records: one builder per module, driven by one stream of creation events.

Every random draw comes from one `random.Random(seed)` in a fixed order: first the
per-account draws (`_plan`), then the creation times of related records (`_events`), then
each record's own draws as it is built, in creation order. Builders are closures over
locals (`_accounts`, `_contacts`, `_deals`, `_tasks`): the loop runs ~8 times per account,
so attribute look-ups in it are kept out.
"""

from __future__ import annotations

import random
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sergas.sandbox.clock import iso
from sergas.sandbox.schema import DEAL_STAGES, OPEN_DEAL_STAGES
from sergas.sandbox.seed.words import (
    ACCOUNT_INDUSTRIES,
    ACCOUNT_TYPES,
    CITIES,
    CITY_WEIGHTS,
    CONTACTS_PER_ACCOUNT,
    DEAL_PRODUCTS,
    DEALS_PER_ACCOUNT,
    DESCRIPTIONS,
    DIGITS4,
    FIRST_NAMES,
    HHMM,
    LAST_NAMES,
    OPEN_TASK_STATUSES,
    OWNERSHIPS,
    PRIORITIES,
    RATINGS,
    SITES,
    SS_UTC,
    STAGE_WEIGHTS,
    TASK_SUBJECTS,
    TASKS_PER_ACCOUNT,
    TITLES,
    CompanyNamer,
    cumulative,
)
from sergas.sandbox.store import Record

DAY = 86_400
THREE_YEARS = 3 * 365 * DAY
SEEDED = ("Accounts", "Contacts", "Deals", "Tasks")  # in the order of an event's module tag

# Zoho's default probability per stage.
DEAL_PROBABILITY: dict[str, int] = {
    "Qualification": 10,
    "Needs Analysis": 20,
    "Value Proposition": 40,
    "Id. Decision Makers": 60,
    "Proposal/Price Quote": 75,
    "Negotiation/Review": 90,
    "Closed Won": 100,
    "Closed Lost": 0,
}

Builder = Callable[[int, int], Record]  # (account index, created at) -> record


def build_book(
    new_id: Callable[[], str], seed: int, n: int, users: list[dict[str, Any]], now_ts: int
) -> tuple[tuple[list[Record], ...], Book, Plan]:
    """The records of each module in SEEDED, with ids from `new_id`, ascending; and the
    random source and plan, for what is seeded after them (`activity`)."""
    rng = random.Random(seed)
    plan = _plan(rng, n, len(users), now_ts)
    events = _events(rng, plan, now_ts)
    book = Book(rng, new_id, users, plan.owner, now_ts)
    builders = (_accounts(book, plan), _contacts(book), _deals(book), _tasks(book))
    batches: tuple[list[Record], ...] = tuple([] for _ in SEEDED)
    adders = tuple(batch.append for batch in batches)
    for event in events:
        kind = event & 3
        adders[kind](builders[kind]((event >> 2) & 0x3FFF_FFFF, event >> 32))
    return batches, book, plan


@dataclass
class Plan:
    """The per-account draws, by account index (index order is creation order)."""

    owner: list[int]
    city: list[int]
    account_type: list[str | None]
    industry: list[str | None]
    rating: list[str | None]
    ownership: list[str | None]
    site: list[str | None]
    contacts: list[int]
    deals: list[int]
    tasks: list[int]
    created_at: list[int]


def _plan(rng: random.Random, n: int, n_users: int, now_ts: int) -> Plan:
    rand, choices = rng.random, rng.choices
    # Uneven books: a few reps own many accounts, the admin only a handful.
    owner_cum = cumulative([0.25] + [rng.lognormvariate(0.0, 0.7) for _ in range(n_users - 1)])
    owner_total = owner_cum[-1]
    return Plan(
        owner=[bisect_left(owner_cum, rand() * owner_total) for _ in range(n)],
        city=choices(range(len(CITIES)), CITY_WEIGHTS, k=n),
        account_type=choices(*ACCOUNT_TYPES, k=n),
        industry=choices(*ACCOUNT_INDUSTRIES, k=n),
        rating=choices(*RATINGS, k=n),
        ownership=choices(*OWNERSHIPS, k=n),
        site=choices(*SITES, k=n),
        contacts=choices(*CONTACTS_PER_ACCOUNT, k=n),
        deals=choices(*DEALS_PER_ACCOUNT, k=n),
        tasks=choices(*TASKS_PER_ACCOUNT, k=n),
        created_at=sorted(now_ts - int(rand() * THREE_YEARS) for _ in range(n)),
    )


def _events(rng: random.Random, plan: Plan, now_ts: int) -> list[int]:
    """One creation event per record, `created << 32 | account << 2 | module`, sorted.

    Records are then built, and given ids, in creation order. A related record is created
    no earlier than its account and sorts after it, so its account already has an id.
    """
    rand = rng.random
    events: list[int] = []
    add_event = events.append
    for i, a_created in enumerate(plan.created_at):
        span = now_ts - a_created
        tag = i << 2
        add_event(a_created << 32 | tag)
        for _ in range(plan.contacts[i]):
            add_event((a_created + int(rand() * span)) << 32 | tag | 1)
        for _ in range(plan.deals[i]):
            add_event((a_created + int(rand() * span)) << 32 | tag | 2)
        for _ in range(plan.tasks[i]):
            add_event((a_created + int(rand() * span)) << 32 | tag | 3)
    events.sort()
    return events


class Book:
    """What the builders share: the random source, the clock, the users, ids, and what
    related records need of their account (by account index)."""

    def __init__(
        self,
        rng: random.Random,
        new_id: Callable[[], str],
        users: list[dict[str, Any]],
        owners: list[int],
        now_ts: int,
    ) -> None:
        n = len(owners)
        self.rng = rng
        self.new_id = new_id
        self.now_ts = now_ts
        self.today = now_ts // DAY
        self.refs = [{"name": u["full_name"], "id": u["id"], "email": u["email"]} for u in users]
        self.owners = owners  # user index per account
        self.names = [""] * n
        self.ids = [""] * n
        self.domains = [""] * n
        self.phones = [""] * n
        # For what is seeded after (`activity`): each account's last activity (or its
        # creation) and each deal's creation as timestamps; each account's contacts and
        # deals.
        self.active_at = [0] * n
        self.deal_created: list[int] = []
        self.people: list[list[tuple[str, str]]] = [[] for _ in range(n)]  # (id, name)
        self.deals_of: list[list[int]] = [[] for _ in range(n)]  # indexes in the deals
        self.first_day = (now_ts - THREE_YEARS) // DAY - 1
        self.dates = _day_strings(self.first_day, self.today + 400)
        dates, first_day = self.dates, self.first_day

        def dt(ts: int) -> str:
            return f"{dates[ts // DAY - first_day]}T{HHMM[ts % DAY // 60]}{SS_UTC[ts % 60]}"

        self.dt = dt


def _day_strings(first_day: int, last_day: int) -> list[str]:
    """`yyyy-MM-dd` for each day (days since the epoch) from first_day to last_day."""
    return [iso(day * DAY)[:10] for day in range(first_day, last_day + 1)]


def _accounts(book: Book, plan: Plan) -> Builder:
    rand, lognormal, dt, now_ts = book.rng.random, book.rng.lognormvariate, book.dt, book.now_ts
    refs, n_users, owners, new_id = book.refs, len(book.refs), book.owners, book.new_id
    names, ids, domains, phones = book.names, book.ids, book.domains, book.phones
    sites, types, industries, ratings = plan.site, plan.account_type, plan.industry, plan.rating
    ownerships, cities = plan.ownership, plan.city
    new_name = CompanyNamer(book.rng)

    def build(i: int, ts: int) -> Record:
        owner = owners[i]
        # Last activity within the last two years: mostly recent, with a tail of quiet
        # accounts and a few never touched since they were created.
        span = now_ts - ts
        u = rand()
        last_activity: int | None = None
        if u >= 0.04:
            if u < 0.55:
                age = int(rand() * 30 * DAY)
            elif u < 0.8:
                age = 30 * DAY + int(rand() * 60 * DAY)
            else:
                age = 90 * DAY + int(rand() * 640 * DAY)
            last_activity = now_ts - age
            if last_activity < ts:
                last_activity = ts + int(rand() * span)
        modified = ts + int(rand() * rand() * span)
        if last_activity is not None and last_activity > modified:
            modified = last_activity

        employees: int | None = None
        revenue: float | None = None
        if rand() < 0.08:
            if rand() < 0.5:
                employees = int(lognormal(4.0, 1.5)) + 1
        else:
            revenue = round(min(max(lognormal(15.4, 1.6), 50_000.0), 500_000_000.0), 2)
            employees = max(1, int(revenue / (60_000 + rand() * 340_000)))
        own = ownerships[i]
        parent = None
        if own == "Subsidiary" and i:
            p = int(rand() * i)  # an account created earlier
            parent = {"name": names[p], "id": ids[p]}
        city, country, phone_prefix, _ = CITIES[cities[i]]
        name, domain = new_name(city)
        record_id = new_id()
        names[i], ids[i], domains[i], phones[i] = name, record_id, domain, phone_prefix
        book.active_at[i] = ts if last_activity is None else last_activity
        return {
            "id": record_id,
            "Account_Name": name,
            "Account_Number": f"AC-{i + 1:06d}",
            "Account_Site": sites[i],
            "Account_Type": types[i],
            "Industry": industries[i],
            "Annual_Revenue": revenue,
            "Employees": employees,
            "Rating": ratings[i],
            "Ownership": own,
            "Phone": phone_prefix + DIGITS4[int(rand() * 10_000)],
            "Website": f"https://www.{domain}",
            "Ticker_Symbol": name[:4].upper() if own == "Public" else None,
            "Billing_City": city,
            "Billing_Country": country,
            "Description": (
                DESCRIPTIONS[int(rand() * len(DESCRIPTIONS))] if rand() < 0.2 else None
            ),
            "Parent_Account": parent,
            "Health_Score": None,
            "Account_Status": None,
            "Last_Health_Check": None,
            "Owner": refs[owner].copy(),
            "Created_By": refs[owner if rand() < 0.7 else int(rand() * n_users)].copy(),
            "Modified_By": refs[owner if rand() < 0.6 else int(rand() * n_users)].copy(),
            "Created_Time": dt(ts),
            "Modified_Time": dt(modified),
            "Last_Activity_Time": None if last_activity is None else dt(last_activity),
        }

    return build


def _contacts(book: Book) -> Builder:
    """A contact at the account, its email unique (domains are unique per account)."""
    rand, dt, now_ts, new_id = book.rng.random, book.dt, book.now_ts, book.new_id
    refs, n_users, owners = book.refs, len(book.refs), book.owners
    names, ids, domains, phones = book.names, book.ids, book.domains, book.phones
    n_first, n_last, n_titles = len(FIRST_NAMES), len(LAST_NAMES), len(TITLES)
    first_lower = [name.lower() for name in FIRST_NAMES]
    last_lower = [name.lower() for name in LAST_NAMES]
    emails: set[str] = set()
    people = book.people

    def build(i: int, ts: int) -> Record:
        fi = int(rand() * n_first)
        li = int(rand() * n_last)
        first, last = FIRST_NAMES[fi], LAST_NAMES[li]
        local = f"{first_lower[fi]}.{last_lower[li]}"
        domain = domains[i]
        email = f"{local}@{domain}"
        k = 2
        while email in emails:
            email = f"{local}{k}@{domain}"
            k += 1
        emails.add(email)
        ref = refs[owners[i] if rand() < 0.85 else int(rand() * n_users)]
        modified_time = dt(ts + int(rand() * rand() * (now_ts - ts)))
        record: Record = {
            "id": new_id(),
            "First_Name": first,
            "Last_Name": last,
            "Full_Name": f"{first} {last}",
            "Email": email,
            "Phone": phones[i] + DIGITS4[int(rand() * 10_000)],
            "Title": TITLES[int(rand() * n_titles)],
            "Account_Name": {"name": names[i], "id": ids[i]},
            "Owner": ref.copy(),
            "Created_By": ref.copy(),
            "Modified_By": ref.copy(),
            "Created_Time": dt(ts),
            "Modified_Time": modified_time,
            "Last_Activity_Time": modified_time if rand() < 0.7 else None,
        }
        people[i].append((record["id"], record["Full_Name"]))
        return record

    return build


def _deals(book: Book) -> Builder:
    """A deal: closed ones closed within the last year; open ones mostly close ahead, but a
    quarter are already past their closing date."""
    rand, lognormal, dt = book.rng.random, book.rng.lognormvariate, book.dt
    now_ts, today, new_id = book.now_ts, book.today, book.new_id
    dates, first_day = book.dates, book.first_day
    refs, n_users, owners, names, ids = book.refs, len(book.refs), book.owners, book.names, book.ids
    stage_cum = cumulative(STAGE_WEIGHTS)
    stage_total = stage_cum[-1]
    closed_stages = frozenset(DEAL_STAGES) - frozenset(OPEN_DEAL_STAGES)
    n_products = len(DEAL_PRODUCTS)
    deal_created, deals_of = book.deal_created, book.deals_of

    def build(i: int, ts: int) -> Record:
        deals_of[i].append(len(deal_created))
        deal_created.append(ts)
        stage = DEAL_STAGES[bisect_left(stage_cum, rand() * stage_total)]
        earliest = max(ts // DAY, today - 365)
        if stage in closed_stages:
            close_day = earliest + int(rand() * (today - earliest + 1))
            modified = max(ts, min(close_day * DAY + int(rand() * DAY), now_ts))
        else:
            if rand() < 0.25 and today - 1 > earliest:
                lo = max(earliest, today - 180)
                close_day = lo + int(rand() * (today - lo))
            else:
                close_day = today + 1 + int(rand() * 270)
            modified = ts + int(rand() * (now_ts - ts))
        ref = refs[owners[i] if rand() < 0.9 else int(rand() * n_users)]
        modified_time = dt(modified)
        name = names[i]
        return {
            "id": new_id(),
            "Deal_Name": f"{name} - {DEAL_PRODUCTS[int(rand() * n_products)]}",
            "Account_Name": {"name": name, "id": ids[i]},
            "Amount": (
                round(min(max(lognormal(10.6, 1.1), 500.0), 5_000_000.0), 2)
                if rand() < 0.97
                else None
            ),
            "Stage": stage,
            "Probability": DEAL_PROBABILITY[stage],
            "Closing_Date": dates[close_day - first_day],
            "Owner": ref.copy(),
            "Created_By": ref.copy(),
            "Modified_By": ref.copy(),
            "Created_Time": dt(ts),
            "Modified_Time": modified_time,
            "Last_Activity_Time": modified_time if rand() < 0.8 else None,
        }

    return build


def _tasks(book: Book) -> Builder:
    """A task due from six months ago to two months ahead; most past-due ones are
    completed, the rest are overdue."""
    rand, dt, now_ts, today, new_id = book.rng.random, book.dt, book.now_ts, book.today, book.new_id
    dates, first_day = book.dates, book.first_day
    refs, n_users, owners, names, ids = book.refs, len(book.refs), book.owners, book.names, book.ids
    priorities, priority_cum = PRIORITIES[0], cumulative(PRIORITIES[1])
    open_statuses, open_status_cum = OPEN_TASK_STATUSES[0], cumulative(OPEN_TASK_STATUSES[1])
    priority_total, open_status_total = priority_cum[-1], open_status_cum[-1]
    n_subjects = len(TASK_SUBJECTS)

    def build(i: int, ts: int) -> Record:
        due_day = max(today - 180 + int(rand() * 241), ts // DAY)
        if rand() < (0.7 if due_day < today else 0.1):
            status = "Completed"
        else:
            status = open_statuses[bisect_left(open_status_cum, rand() * open_status_total)]
        owner = owners[i]
        ref = refs[owner if rand() < 0.8 else int(rand() * n_users)]
        modified_time = dt(ts + int(rand() * (now_ts - ts)))
        return {
            "id": new_id(),
            "Subject": TASK_SUBJECTS[int(rand() * n_subjects)],
            "Due_Date": dates[due_day - first_day],
            "Status": status,
            "Priority": priorities[bisect_left(priority_cum, rand() * priority_total)],
            "What_Id": {"name": names[i], "id": ids[i]},
            "Owner": ref.copy(),
            "Created_By": ref.copy(),
            "Modified_By": refs[owner if rand() < 0.8 else int(rand() * n_users)].copy(),
            "Created_Time": dt(ts),
            "Modified_Time": modified_time,
            "Last_Activity_Time": modified_time,
        }

    return build
