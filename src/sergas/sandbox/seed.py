"""Deterministic seed data for the sandbox: the org, its users, and a book of accounts.

Everything here is a pure function of the seed (and of `now` for the records): one
`random.Random(seed)` per call, no global random state, no clock reads. The same seed gives
byte-identical users, org and records, and the same ids, because ids are taken from
`RecordStore.new_id()` in a fixed order.

`seed_store` is built for speed (10,000 accounts with their ~77,000 contacts, deals and tasks
in about a second on a slow two-core machine): picklist values and counts are drawn in bulk
with `Random.choices`, datetimes are formatted from precomputed day and time-of-day strings
instead of one `datetime` per value, records are built once in creation order (no copying,
no second pass), and they go into the store in a few large batches per module.
"""

from __future__ import annotations

import gc
import random
from bisect import bisect_left
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import accumulate
from typing import Any

from sergas.sandbox.clock import iso
from sergas.sandbox.schema import (
    DEAL_STAGES,
    ID_BASE,
    INDUSTRIES,
    OPEN_DEAL_STAGES,
)
from sergas.sandbox.store import Record, RecordStore

__all__ = [
    "DEAL_PROBABILITY",
    "ORG_ID",
    "USER_DOMAIN",
    "USER_ID_BASE",
    "build_org",
    "build_users",
    "seed_store",
]

DAY = 86_400
# Record ids start at ID_BASE + 1001, so they stay below the user ids for the first ~399,000
# records (about 45,000 seeded accounts).
USER_ID_BASE = 5725767000000400001
USER_DOMAIN = "sergas-sandbox.example"
ORG_ID = str(ID_BASE + 7)
# Role and profile ids sit below the store's first record id (ID_BASE + 1001).
_ROLE_IDS = {"CEO": str(ID_BASE + 101), "Manager": str(ID_BASE + 102),
             "Sales Rep": str(ID_BASE + 103)}
_PROFILE_IDS = {"Administrator": str(ID_BASE + 201), "Standard": str(ID_BASE + 202)}
# Users were created before any account: from 2021-03-01T09:00:00+00:00, a day apart.
_USERS_CREATED = 1_614_589_200
_MANAGERS = 3  # users 1..3 are managers; later users are sales reps reporting to them
_BATCH = 20_000  # records per put_many call
_SEEDED = ("Accounts", "Contacts", "Deals", "Tasks")

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

# -- word lists ------------------------------------------------------------------------------

_FIRST_NAMES = (
    "Aarav", "Abigail", "Adrian", "Aisha", "Alejandro", "Amelia", "Ana", "Andrew", "Anika",
    "Benjamin", "Bianca", "Carlos", "Charlotte", "Chen", "Chloe", "Daniel", "David", "Diego",
    "Elena", "Emily", "Emma", "Ethan", "Fatima", "Felix", "Gabriel", "Grace", "Hannah", "Hiro",
    "Isabella", "Ivan", "Jack", "James", "Julia", "Kenji", "Laura", "Leo", "Liam", "Lucas",
    "Maya", "Mei", "Mia", "Michael", "Nadia", "Noah", "Olivia", "Omar", "Oscar", "Priya",
    "Rahul", "Rosa", "Samuel", "Sara", "Sofia", "Thomas", "Valentina", "Victor", "William",
    "Yuki", "Zara", "Zoe",
)
_LAST_NAMES = (
    "Adams", "Ahmed", "Alvarez", "Anderson", "Bailey", "Baker", "Bauer", "Bennett", "Brooks",
    "Brown", "Campbell", "Carter", "Chen", "Clark", "Collins", "Cooper", "Costa", "Davis",
    "Dubois", "Edwards", "Evans", "Fischer", "Fernandez", "Garcia", "Gomez", "Gupta", "Hall",
    "Harris", "Hughes", "Ito", "Jackson", "Johnson", "Kim", "King", "Kowalski", "Kumar",
    "Lee", "Lewis", "Lopez", "Martin", "Meyer", "Miller", "Moore", "Morgan", "Murphy",
    "Nakamura", "Nguyen", "Novak", "Patel", "Perez", "Peterson", "Reed", "Reyes", "Richter",
    "Roberts", "Rossi", "Russo", "Sanchez", "Santos", "Schmidt", "Scott", "Shah", "Silva",
    "Singh", "Smith", "Sullivan", "Tanaka", "Taylor", "Thompson", "Turner", "Wagner",
    "Walker", "Wang", "Ward", "Watson", "White", "Williams", "Wilson", "Wright", "Young",
)
_BRANDS = (
    "Zylker", "Northwind", "Contoso", "Fabrikam", "Initech", "Globex", "Vandelay", "Acme",
    "Aperture", "Tailspin", "Wingtip", "Litware", "Proseware", "Adventure", "Alpine",
    "Apex", "Arbor", "Aurora", "Beacon", "Bluewave", "Boulder", "Brightpath", "Cascade",
    "Cedar", "Clearwater", "Cobalt", "Compass", "Copper", "Crescent", "Crystal", "Delta",
    "Ember", "Evergreen", "Falcon", "Foxglove", "Frontier", "Galaxy", "Granite", "Harbor",
    "Hawthorn", "Helix", "Horizon", "Indigo", "Ironbridge", "Juniper", "Keystone", "Kestrel",
    "Lakeside", "Lighthouse", "Lumen", "Magnolia", "Maple", "Meridian", "Monarch", "Nimbus",
    "Northstar", "Oakridge", "Obsidian", "Orchid", "Pacific", "Paragon", "Pinnacle",
    "Polaris", "Prairie", "Quantum", "Quarry", "Radiant", "Redwood", "Ridgeline", "Riverbend",
    "Sapphire", "Sequoia", "Silverline", "Skyline", "Solstice", "Sterling", "Summit",
    "Tidewater", "Timber", "Trident", "Unity", "Vanguard", "Vertex", "Willow", "Zenith",
)
_SECTORS = (
    "Aerospace", "Analytics", "Biotech", "Capital", "Cloud", "Consulting", "Data",
    "Digital", "Energy", "Foods", "Health", "Logistics", "Marine", "Media", "Medical",
    "Motors", "Networks", "Pharma", "Retail", "Robotics", "Security", "Software", "Telecom",
    "Textiles", "Trading", "Travel",
)
_SUFFIXES = (
    "Inc", "Ltd", "Group", "Labs", "Systems", "LLC", "Corp", "GmbH", "Partners", "Holdings",
    "Technologies", "Solutions", "Industries", "Co", "AG", "PLC",
)
# (city, country, phone prefix, weight): fictional 555-style numbers.
_CITIES: tuple[tuple[str, str, str, int], ...] = (
    ("New York", "United States", "+1 212-555-", 9),
    ("San Francisco", "United States", "+1 415-555-", 7),
    ("Austin", "United States", "+1 512-555-", 6),
    ("Chicago", "United States", "+1 312-555-", 6),
    ("Seattle", "United States", "+1 206-555-", 5),
    ("Boston", "United States", "+1 617-555-", 5),
    ("Denver", "United States", "+1 303-555-", 4),
    ("Atlanta", "United States", "+1 404-555-", 4),
    ("Dallas", "United States", "+1 214-555-", 4),
    ("Toronto", "Canada", "+1 416-555-", 4),
    ("Vancouver", "Canada", "+1 604-555-", 2),
    ("London", "United Kingdom", "+44 20 7946 ", 6),
    ("Manchester", "United Kingdom", "+44 161 496 ", 2),
    ("Berlin", "Germany", "+49 30 5550 ", 3),
    ("Munich", "Germany", "+49 89 5550 ", 3),
    ("Paris", "France", "+33 1 5550 ", 3),
    ("Amsterdam", "Netherlands", "+31 20 555 ", 2),
    ("Madrid", "Spain", "+34 91 555 ", 2),
    ("Milan", "Italy", "+39 02 5550 ", 2),
    ("Stockholm", "Sweden", "+46 8 555 ", 1),
    ("Dublin", "Ireland", "+353 1 555 ", 2),
    ("Zurich", "Switzerland", "+41 44 555 ", 1),
    ("Sydney", "Australia", "+61 2 5550 ", 3),
    ("Melbourne", "Australia", "+61 3 5550 ", 2),
    ("Singapore", "Singapore", "+65 6555 ", 2),
    ("Tokyo", "Japan", "+81 3 5550 ", 2),
    ("Bengaluru", "India", "+91 80 5550 ", 3),
    ("Chennai", "India", "+91 44 5550 ", 2),
    ("Mexico City", "Mexico", "+52 55 5550 ", 1),
    ("São Paulo", "Brazil", "+55 11 5550 ", 1),
    ("Dubai", "United Arab Emirates", "+971 4 555 ", 1),
    ("Cape Town", "South Africa", "+27 21 555 ", 1),
)
_TITLES = (
    "CEO", "CFO", "CTO", "COO", "VP Sales", "VP Engineering", "VP Operations",
    "Head of Procurement", "IT Director", "Operations Manager", "Purchasing Manager",
    "Account Manager", "Finance Manager", "Marketing Director", "Product Manager",
    "Software Engineer", "Office Manager", "Project Manager", None,
)
_DEAL_PRODUCTS = (
    "Annual Subscription", "Enterprise License", "Renewal", "Expansion", "Pilot",
    "Support Contract", "Onboarding Services", "Platform Upgrade", "Data Migration",
    "Training Package", "Multi-year Renewal", "Add-on Seats", "Professional Services",
    "Premium Support", "Integration Project",
)
_TASK_SUBJECTS = (
    "Follow-up call", "Send proposal", "Quarterly business review", "Renewal discussion",
    "Schedule product demo", "Check in on onboarding", "Collect product feedback",
    "Prepare contract", "Update billing details", "Executive sponsor meeting",
    "Send case study", "Resolve support escalation", "Confirm purchase order",
    "Review usage report", "Plan training session", "Introduce new account manager",
)
_DESCRIPTIONS = (
    "Key account; coordinate with the regional team before any outreach.",
    "Imported from the 2023 trade show lead list.",
    "Prefers email contact; quarterly reviews with the executive sponsor.",
    "Multi-site customer, billing handled by the head office.",
    "Referred by an existing partner.",
)

# Picklists as (values, weights); None is "-None-", the field left empty.
_ACCOUNT_TYPES = (
    ("Customer", "Prospect", "Partner", "Reseller", "Distributor", "Integrator", "Supplier",
     "Investor", "Analyst", "Competitor", "Press", "Other", None),
    (44, 24, 7, 5, 3, 3, 3, 1, 1, 2, 1, 2, 4),
)
_RATINGS = (
    ("Active", "Acquired", "Market Failed", "Project Cancelled", "Shut Down", None),
    (68, 8, 4, 6, 3, 11),
)
_OWNERSHIPS = (
    ("Private", "Public", "Subsidiary", "Partnership", "Government", "Other", None),
    (45, 17, 10, 7, 4, 7, 10),
)
_INDUSTRIES = (
    (*INDUSTRIES, None),
    (*(6 if "Enterprise" in i or "Service" in i else 4 for i in INDUSTRIES), 5),
)
_SITES = (("Headquarters", "Branch", "Regional Office", None), (22, 8, 5, 65))
_CONTACTS_PER_ACCOUNT = (range(7), (8, 14, 20, 20, 16, 12, 10))
_DEALS_PER_ACCOUNT = (range(6), (18, 26, 22, 16, 11, 7))
_TASKS_PER_ACCOUNT = (range(7), (12, 16, 20, 18, 14, 11, 9))
# Per DEAL_STAGES: the six open stages, then Closed Won and Closed Lost.
_STAGE_WEIGHTS = (16, 13, 11, 8, 7, 5, 28, 17)
_PRIORITIES = (("Normal", "High", "Low", "Highest", "Lowest"), (45, 25, 15, 8, 7))
_OPEN_TASK_STATUSES = (("Not Started", "In Progress", "Waiting for input", "Deferred"),
                       (48, 30, 13, 9))

_CITY_WEIGHTS = tuple(c[3] for c in _CITIES)
# Time-of-day pieces of clock.iso's format, for formatting many datetimes quickly.
_HHMM = tuple(f"{h:02d}:{m:02d}:" for h in range(24) for m in range(60))
_SS_UTC = tuple(f"{s:02d}+00:00" for s in range(60))
_DIGITS4 = tuple(f"{k:04d}" for k in range(10_000))  # phone line numbers


def _cum(weights: tuple[int, ...] | list[float]) -> list[float]:
    return list(accumulate(float(w) for w in weights))


# -- users and org ---------------------------------------------------------------------------


def build_users(seed: int, count: int = 20) -> list[dict[str, Any]]:
    """The org's CRM users as GET /crm/v8/users lists them; the first is the current user.

    The first user is the admin (profile Administrator, role CEO); users 1-3 are managers
    reporting to the admin and the rest sales reps reporting to a manager. A user depends
    only on the seed and its position, so `build_users(s, n)[:m] == build_users(s, m)`.
    """
    if count < 1:
        raise ValueError("an org needs at least one user")
    if count > len(_FIRST_NAMES) * len(_LAST_NAMES):
        raise ValueError(f"at most {len(_FIRST_NAMES) * len(_LAST_NAMES)} users")
    rng = random.Random(seed)
    zuid_base = rng.randrange(600_000_000, 800_000_000)
    taken: set[tuple[str, str]] = set()
    firsts: set[str] = set()
    lasts: set[str] = set()
    distinct = min(len(_FIRST_NAMES), len(_LAST_NAMES))
    users: list[dict[str, Any]] = []
    for i in range(count):
        # Distinct first and last names while the lists last, then distinct pairs.
        while True:
            first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
            if (first, last) in taken or (i < distinct and (first in firsts or last in lasts)):
                continue
            taken.add((first, last))
            firsts.add(first)
            lasts.add(last)
            break
        if i == 0:
            role, profile = "CEO", "Administrator"
        elif i <= _MANAGERS:
            role, profile = "Manager", "Standard"
        else:
            role, profile = "Sales Rep", "Standard"
        created = _USERS_CREATED + i * DAY
        modified = created + rng.randrange(30 * DAY, 400 * DAY)
        city, country, phone_prefix, _ = _CITIES[rng.randrange(9)]  # US-based team
        full_name = f"{first} {last}"
        user_id = str(USER_ID_BASE + i)
        admin = users[0] if users else None
        admin_ref = (
            {"name": admin["full_name"], "id": admin["id"]}
            if admin is not None
            else {"name": full_name, "id": user_id}  # the admin created itself
        )
        reporting_to: dict[str, Any] | None = None
        if 0 < i <= _MANAGERS:
            reporting_to = dict(admin_ref)
        elif i > _MANAGERS:
            manager = users[1 + i % _MANAGERS]
            reporting_to = {"name": manager["full_name"], "id": manager["id"]}
        users.append({
            "id": user_id,
            "first_name": first,
            "last_name": last,
            "full_name": full_name,
            "email": f"{first.lower()}.{last.lower()}@{USER_DOMAIN}",
            "status": "active",
            "role": {"name": role, "id": _ROLE_IDS[role]},
            "profile": {"name": profile, "id": _PROFILE_IDS[profile]},
            "zuid": str(zuid_base + i * 97 + rng.randrange(97)),
            "time_zone": "Etc/UTC",
            "locale": "en_US",
            "country_locale": "en_US",
            "language": "en_US",
            "confirm": True,
            "alias": None,
            "phone": f"{phone_prefix}{rng.randrange(100, 200):04d}",
            "mobile": None,
            "city": city,
            "country": country,
            "date_format": "MM/dd/yyyy",
            "time_format": "hh:mm a",
            "decimal_separator": "Period",
            "microsoft": False,
            "sandboxDeveloper": False,
            "Isonline": False,
            "type__s": "Regular User",
            "status_reason__s": None,
            "Reporting_To": reporting_to,
            "created_by": dict(admin_ref),
            "Modified_By": dict(admin_ref),
            "created_time": iso(created),
            "modified_time": iso(modified),
            "Modified_Time": iso(modified),
        })
    return users


def build_org(seed: int) -> dict[str, Any]:
    """The org as GET /crm/v8/org returns it (the item inside `{"org": [...]}`)."""
    rng = random.Random(seed)
    admin = build_users(seed, 1)[0]
    zgid = 800_000_000 + rng.getrandbits(26)
    return {
        "id": ORG_ID,
        "zgid": str(zgid),
        "ezgid": f"{zgid:x}",
        "zia_zgid": zgid,
        "domain_name": f"sergassandbox{zgid % 10_000:04d}",
        "alias": "sergas-sandbox",
        "company_name": "Sergas Sandbox Org",
        "description": "Offline Zoho CRM sandbox organisation",
        "primary_email": admin["email"],
        "primary_zuid": admin["zuid"],
        "phone": "+1 512-555-0100",
        "mobile": None,
        "fax": None,
        "website": f"https://www.{USER_DOMAIN}",
        "employee_count": "20",
        "street": "100 Congress Ave",
        "city": "Austin",
        "state": "TX",
        "zip": "78701",
        "country": "United States",
        "country_code": "US",
        "time_zone": "Etc/UTC",
        "currency": "US Dollar",
        "currency_symbol": "$",
        "currency_locale": "en_US",
        "iso_code": "USD",
        "type": "production",
        "max_per_page": 200,
        "created_time": admin["created_time"],
        "photo_id": None,
        "zia_portal_id": None,
        "mc_status": False,
        "gapps_enabled": False,
        "translation_enabled": False,
        "privacy_settings": False,
        "hipaa_compliance_enabled": False,
        "lite_users_enabled": False,
        "deletable_org_account": False,
        "oauth_presence": True,
        "call_icon": "show",
        "hierarchy_preferences": {"type": "Role_Hierarchy", "strictly_reporting": False},
        "checkin_preferences": {"restricted_event_types": None},
        "license_details": {
            "paid": True,
            "paid_type": "enterprise",
            "users_license_purchased": 20,
            "portal_users_license_purchased": 0,
            "trial_type": None,
            "trial_action": "Update Evaluation",
            "paid_expiry": None,
            "trial_expiry": None,
        },
    }


# -- records ---------------------------------------------------------------------------------


class _Namer:
    """Unique company names, each with a web domain of its own."""

    def __init__(self, rng: random.Random) -> None:
        self._random = rng.random
        self._names: set[str] = set()
        self._domains: set[str] = set()

    def __call__(self, city: str) -> tuple[str, str]:
        """(account name, domain). A taken name gets the city, then a number, appended."""
        rand = self._random
        brand = _BRANDS[int(rand() * len(_BRANDS))]
        suffix = _SUFFIXES[int(rand() * len(_SUFFIXES))]
        if rand() < 0.6:
            sector = _SECTORS[int(rand() * len(_SECTORS))]
            stem = f"{brand} {sector}"
            slug = f"{brand}{sector}".lower()
        else:
            stem = brand
            slug = brand.lower()
        name = f"{stem} {suffix}"
        if name in self._names:
            name = f"{stem} {suffix} ({city})"
            n = 2
            while name in self._names:
                name = f"{stem} {suffix} ({city} {n})"
                n += 1
        self._names.add(name)
        domain = slug
        if domain in self._domains:
            domain = slug + suffix.lower()
            n = 2
            while domain in self._domains:
                domain = f"{slug}{suffix.lower()}{n}"
                n += 1
        self._domains.add(domain)
        return name, f"{domain}.example"


def _day_strings(first_day: int, last_day: int) -> list[str]:
    """`yyyy-MM-dd` for each day (days since the epoch) from first_day to last_day."""
    return [iso(day * DAY)[:10] for day in range(first_day, last_day + 1)]


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Bulk allocation of container objects without the cyclic collector's passes.

    Seeding creates no reference cycles, so nothing is lost; the pause is process-wide but
    lasts only while the records are built and stored.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def seed_store(
    store: RecordStore, *, seed: int, accounts: int, users: list[dict[str, Any]], now: float
) -> None:
    """Fill `store` with `accounts` Accounts and their Contacts, Deals and Tasks.

    Records carry every schema field of their module, in schema order (None when empty).
    Created, modified and activity times lie in the past of `now`: accounts were created
    over the last three years, related records after their account; closing and due dates
    also reach ahead of `now`. Ids are handed out in creation order across the
    four modules, so within a module ascending id means ascending Created_Time, and a
    related record's id is above its account's. Health_Score, Account_Status and
    Last_Health_Check stay None for the health sweep to fill.
    """
    if accounts < 0:
        raise ValueError("accounts must be >= 0")
    if not users:
        raise ValueError("seeding needs at least one user")
    with _gc_paused():
        batches = _build(store, seed, accounts, users, int(now))
        for module, records in zip(_SEEDED, batches, strict=True):
            for start in range(0, len(records), _BATCH):
                store.put_many(module, records[start:start + _BATCH])


def _build(
    store: RecordStore, seed: int, n: int, users: list[dict[str, Any]], now_ts: int
) -> tuple[list[Record], ...]:
    """The records of each module in _SEEDED, with ids from `store`, ascending."""
    rng = random.Random(seed)
    rand = rng.random
    lognormal = rng.lognormvariate
    choices = rng.choices
    today = now_ts // DAY
    three_years = 3 * 365 * DAY

    refs = [{"name": u["full_name"], "id": u["id"], "email": u["email"]} for u in users]
    n_users = len(refs)
    # Uneven books: a few reps own many accounts, the admin only a handful.
    owner_cum = _cum([0.25] + [lognormal(0.0, 0.7) for _ in range(n_users - 1)])
    owner_total = owner_cum[-1]

    # Per-account draws, in bulk. Index order is creation order.
    account_owner = [bisect_left(owner_cum, rand() * owner_total) for _ in range(n)]
    account_city = choices(range(len(_CITIES)), _CITY_WEIGHTS, k=n)
    account_type = choices(*_ACCOUNT_TYPES, k=n)
    industry = choices(*_INDUSTRIES, k=n)
    rating = choices(*_RATINGS, k=n)
    ownership = choices(*_OWNERSHIPS, k=n)
    site = choices(*_SITES, k=n)
    n_contacts = choices(*_CONTACTS_PER_ACCOUNT, k=n)
    n_deals = choices(*_DEALS_PER_ACCOUNT, k=n)
    n_tasks = choices(*_TASKS_PER_ACCOUNT, k=n)
    created_at = sorted(now_ts - int(rand() * three_years) for _ in range(n))

    # One creation event per record, `created << 32 | account << 2 | module`, sorted: records
    # are then built, and given ids, in creation order. A related record is created no
    # earlier than its account and sorts after it, so its account already has an id.
    events: list[int] = []
    add_event = events.append
    for i in range(n):
        a_created = created_at[i]
        span = now_ts - a_created
        tag = i << 2
        add_event(a_created << 32 | tag)
        for _ in range(n_contacts[i]):
            add_event((a_created + int(rand() * span)) << 32 | tag | 1)
        for _ in range(n_deals[i]):
            add_event((a_created + int(rand() * span)) << 32 | tag | 2)
        for _ in range(n_tasks[i]):
            add_event((a_created + int(rand() * span)) << 32 | tag | 3)
    events.sort()

    first_day = (now_ts - three_years) // DAY - 1
    dates = _day_strings(first_day, today + 400)

    def dt(ts: int) -> str:
        return f"{dates[ts // DAY - first_day]}T{_HHMM[ts % DAY // 60]}{_SS_UTC[ts % 60]}"

    stage_cum = _cum(_STAGE_WEIGHTS)
    stage_total = stage_cum[-1]
    closed_stages = frozenset(DEAL_STAGES) - frozenset(OPEN_DEAL_STAGES)
    priorities, priority_cum = _PRIORITIES[0], _cum(_PRIORITIES[1])
    open_statuses, open_status_cum = _OPEN_TASK_STATUSES[0], _cum(_OPEN_TASK_STATUSES[1])
    priority_total, open_status_total = priority_cum[-1], open_status_cum[-1]
    n_first, n_last, n_titles = len(_FIRST_NAMES), len(_LAST_NAMES), len(_TITLES)
    first_lower = [name.lower() for name in _FIRST_NAMES]
    last_lower = [name.lower() for name in _LAST_NAMES]
    n_products, n_subjects = len(_DEAL_PRODUCTS), len(_TASK_SUBJECTS)

    new_id = store.new_id
    new_name = _Namer(rng)
    batches: tuple[list[Record], ...] = tuple([] for _ in _SEEDED)
    account_records, contact_records, deal_records, task_records = batches
    # What related records need of their account, by account index.
    names = [""] * n
    ids = [""] * n
    domains = [""] * n
    phones = [""] * n
    emails: set[str] = set()

    for event in events:
        ts = event >> 32
        i = (event >> 2) & 0x3FFF_FFFF
        kind = event & 3
        owner = account_owner[i]

        if kind == 0:
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
            own = ownership[i]
            parent = None
            if own == "Subsidiary" and i:
                p = int(rand() * i)  # an account created earlier
                parent = {"name": names[p], "id": ids[p]}
            city, country, phone_prefix, _ = _CITIES[account_city[i]]
            name, domain = new_name(city)
            record_id = new_id()
            names[i], ids[i], domains[i], phones[i] = name, record_id, domain, phone_prefix
            account_records.append({
                "id": record_id,
                "Account_Name": name,
                "Account_Number": f"AC-{i + 1:06d}",
                "Account_Site": site[i],
                "Account_Type": account_type[i],
                "Industry": industry[i],
                "Annual_Revenue": revenue,
                "Employees": employees,
                "Rating": rating[i],
                "Ownership": own,
                "Phone": phone_prefix + _DIGITS4[int(rand() * 10_000)],
                "Website": f"https://www.{domain}",
                "Ticker_Symbol": name[:4].upper() if own == "Public" else None,
                "Billing_City": city,
                "Billing_Country": country,
                "Description": (
                    _DESCRIPTIONS[int(rand() * len(_DESCRIPTIONS))] if rand() < 0.2 else None
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
            })

        elif kind == 1:
            # A contact at the account, its email unique (domains are unique per account).
            fi = int(rand() * n_first)
            li = int(rand() * n_last)
            first, last = _FIRST_NAMES[fi], _LAST_NAMES[li]
            local = f"{first_lower[fi]}.{last_lower[li]}"
            domain = domains[i]
            email = f"{local}@{domain}"
            k = 2
            while email in emails:
                email = f"{local}{k}@{domain}"
                k += 1
            emails.add(email)
            ref = refs[owner if rand() < 0.85 else int(rand() * n_users)]
            modified_time = dt(ts + int(rand() * rand() * (now_ts - ts)))
            contact_records.append({
                "id": new_id(),
                "First_Name": first,
                "Last_Name": last,
                "Full_Name": f"{first} {last}",
                "Email": email,
                "Phone": phones[i] + _DIGITS4[int(rand() * 10_000)],
                "Title": _TITLES[int(rand() * n_titles)],
                "Account_Name": {"name": names[i], "id": ids[i]},
                "Owner": ref.copy(),
                "Created_By": ref.copy(),
                "Modified_By": ref.copy(),
                "Created_Time": dt(ts),
                "Modified_Time": modified_time,
                "Last_Activity_Time": modified_time if rand() < 0.7 else None,
            })

        elif kind == 2:
            # A deal: closed ones closed within the last year; open ones mostly close ahead,
            # but a quarter are already past their closing date.
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
            ref = refs[owner if rand() < 0.9 else int(rand() * n_users)]
            modified_time = dt(modified)
            name = names[i]
            deal_records.append({
                "id": new_id(),
                "Deal_Name": f"{name} - {_DEAL_PRODUCTS[int(rand() * n_products)]}",
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
            })

        else:
            # A task due from six months ago to two months ahead; most past-due ones are
            # completed, the rest are overdue.
            due_day = max(today - 180 + int(rand() * 241), ts // DAY)
            if rand() < (0.7 if due_day < today else 0.1):
                status = "Completed"
            else:
                status = open_statuses[bisect_left(open_status_cum, rand() * open_status_total)]
            ref = refs[owner if rand() < 0.8 else int(rand() * n_users)]
            modified_time = dt(ts + int(rand() * (now_ts - ts)))
            task_records.append({
                "id": new_id(),
                "Subject": _TASK_SUBJECTS[int(rand() * n_subjects)],
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
            })
    return batches
