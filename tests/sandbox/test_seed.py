"""The sandbox's seed data: deterministic, complete, consistent, and fast."""

from __future__ import annotations

import random
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from sergas.sandbox.clock import iso
from sergas.sandbox.schema import (
    DATE_TYPES,
    DATETIME_TYPES,
    DEAL_STAGES,
    ID_BASE,
    MODULES,
    OPEN_DEAL_STAGES,
)
from sergas.sandbox.seed import (
    DEAL_PROBABILITY,
    USER_ID_BASE,
    build_org,
    build_users,
    seed_store,
)
from sergas.sandbox.store import Record, RecordStore

NOW = 1_790_000_000.0  # 2026-09-21T14:13:20+00:00
TODAY = iso(NOW)[:10]
DAY = 86_400
SEEDED = ("Accounts", "Contacts", "Deals", "Tasks")
RELATED = {"Contacts": "Account_Name", "Deals": "Account_Name", "Tasks": "What_Id"}
ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def seeded(seed: int, accounts: int, path: Path | None = None) -> RecordStore:
    store = RecordStore(MODULES, path)
    seed_store(store, seed=seed, accounts=accounts, users=build_users(seed), now=NOW)
    return store


def dump(store: RecordStore) -> dict[str, bytes]:
    return {m: orjson.dumps(list(store.all(m))) for m in SEEDED}


@pytest.fixture(scope="module")
def users() -> list[dict[str, Any]]:
    return build_users(42)


@pytest.fixture(scope="module")
def store(users: list[dict[str, Any]]) -> RecordStore:
    store = RecordStore(MODULES)
    seed_store(store, seed=42, accounts=2_000, users=users, now=NOW)
    return store


@pytest.fixture(scope="module")
def records(store: RecordStore) -> dict[str, list[Record]]:
    return {m: list(store.all(m)) for m in SEEDED}


def ts(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def day(value: str) -> float:
    return datetime.fromisoformat(value).replace(tzinfo=UTC).timestamp()


# -- determinism -----------------------------------------------------------------------------


def test_same_seed_gives_byte_identical_records_and_ids() -> None:
    first, second = seeded(7, 300), seeded(7, 300)
    assert dump(first) == dump(second)
    for module in SEEDED:
        assert [r["id"] for r in first.all(module)] == [r["id"] for r in second.all(module)]


def test_different_seed_gives_different_records() -> None:
    a, b = dump(seeded(7, 300)), dump(seeded(8, 300))
    assert all(a[m] != b[m] for m in SEEDED)


def test_users_and_org_are_deterministic() -> None:
    assert orjson.dumps(build_users(5)) == orjson.dumps(build_users(5))
    assert build_users(5) != build_users(6)
    assert orjson.dumps(build_org(5)) == orjson.dumps(build_org(5))
    assert build_org(5)["zgid"] != build_org(6)["zgid"]


def test_seeding_leaves_the_global_random_state_alone() -> None:
    state = random.getstate()
    seeded(3, 50)
    build_org(3)
    assert random.getstate() == state


def test_a_prefix_of_the_users_does_not_depend_on_the_count() -> None:
    assert build_users(9, 30)[:20] == build_users(9, 20)
    assert build_users(9, 1) == build_users(9)[:1]


# -- users and org ---------------------------------------------------------------------------


def test_users_have_zohos_shape(users: list[dict[str, Any]]) -> None:
    assert len(users) == 20
    assert [u["id"] for u in users] == [str(USER_ID_BASE + i) for i in range(20)]
    assert users[0]["id"] == "5725767000000400001"
    for user in users:
        assert user["full_name"] == f"{user['first_name']} {user['last_name']}"
        assert user["email"] == (
            f"{user['first_name'].lower()}.{user['last_name'].lower()}@sergas-sandbox.example"
        )
        assert user["status"] == "active"
        assert user["time_zone"] == "Etc/UTC"
        assert user["locale"] == "en_US"
        assert user["confirm"] is True
        assert user["zuid"].isdigit()
        assert set(user["role"]) == {"name", "id"}
        assert set(user["profile"]) == {"name", "id"}
        assert ISO_DATETIME.match(user["created_time"])
        assert user["modified_time"] >= user["created_time"]
    assert len({u["email"] for u in users}) == 20
    assert len({u["zuid"] for u in users}) == 20


def test_first_user_is_the_admin(users: list[dict[str, Any]]) -> None:
    admin, others = users[0], users[1:]
    assert admin["profile"]["name"] == "Administrator"
    assert admin["role"]["name"] == "CEO"
    assert admin["Reporting_To"] is None
    assert {u["profile"]["name"] for u in others} == {"Standard"}
    assert {u["role"]["name"] for u in others} == {"Manager", "Sales Rep"}
    ids = {u["id"] for u in users}
    assert all(u["Reporting_To"]["id"] in ids for u in others)


def test_build_users_rejects_an_empty_org() -> None:
    with pytest.raises(ValueError, match="at least one user"):
        build_users(1, 0)


def test_org_has_zohos_shape() -> None:
    org = build_org(42)
    assert org["id"].isdigit()
    assert org["zgid"].isdigit()
    assert org["company_name"] == "Sergas Sandbox Org"
    assert org["primary_email"] == build_users(42)[0]["email"]
    assert org["time_zone"] == "Etc/UTC"
    assert (org["currency"], org["currency_symbol"], org["iso_code"]) == ("US Dollar", "$", "USD")
    assert org["country_code"] == "US"
    assert org["type"] == "production"
    assert org["max_per_page"] == 200
    assert org["mc_status"] is False
    assert org["gapps_enabled"] is False
    assert org["license_details"] == {
        "paid": True,
        "paid_type": "enterprise",
        "users_license_purchased": 20,
        "portal_users_license_purchased": 0,
        "trial_type": None,
        "trial_action": "Update Evaluation",
        "paid_expiry": None,
        "trial_expiry": None,
    }


# -- records ---------------------------------------------------------------------------------


def test_counts(records: dict[str, list[Record]]) -> None:
    accounts = records["Accounts"]
    assert len(accounts) == 2_000
    per_account = {
        module: Counter(r[field]["id"] for r in records[module])
        for module, field in RELATED.items()
    }
    assert max(per_account["Contacts"].values()) <= 6
    assert max(per_account["Deals"].values()) <= 5
    assert max(per_account["Tasks"].values()) <= 6
    for module in RELATED:
        # Some accounts have none, most have several.
        assert 0 < len(per_account[module]) < len(accounts)
        assert 1.5 * len(accounts) < len(records[module]) < 4 * len(accounts)


def test_zero_accounts_seed_nothing(users: list[dict[str, Any]]) -> None:
    store = RecordStore(MODULES)
    seed_store(store, seed=1, accounts=0, users=users, now=NOW)
    assert all(store.count(m) == 0 for m in SEEDED)


def test_seed_store_needs_users() -> None:
    with pytest.raises(ValueError, match="user"):
        seed_store(RecordStore(MODULES), seed=1, accounts=5, users=[], now=NOW)


def test_every_record_has_every_schema_field_in_order(records: dict[str, list[Record]]) -> None:
    for module, items in records.items():
        names = [f.api_name for f in MODULES[module].fields]
        for record in items:
            assert list(record) == names


def test_ids_are_19_digit_strings_ascending_by_creation(
    records: dict[str, list[Record]],
) -> None:
    every_id: list[int] = []
    for items in records.values():
        ids = [r["id"] for r in items]
        assert all(isinstance(i, str) and len(i) == 19 and i.isdigit() for i in ids)
        numbers = [int(i) for i in ids]
        assert numbers == sorted(numbers)
        created = [r["Created_Time"] for r in items]
        assert created == sorted(created)
        every_id += numbers
    assert len(set(every_id)) == len(every_id)
    assert min(every_id) > ID_BASE + 1000
    assert max(every_id) < USER_ID_BASE


def test_ids_follow_creation_across_modules(records: dict[str, list[Record]]) -> None:
    by_id = sorted((int(r["id"]), r["Created_Time"]) for items in records.values() for r in items)
    times = [t for _, t in by_id]
    assert times == sorted(times)


def test_accounts_are_owned_by_users_unevenly(
    records: dict[str, list[Record]], users: list[dict[str, Any]]
) -> None:
    refs = [{"name": u["full_name"], "id": u["id"], "email": u["email"]} for u in users]
    for items in records.values():
        for record in items:
            for key in ("Owner", "Created_By", "Modified_By"):
                assert record[key] in refs
    books = Counter(a["Owner"]["id"] for a in records["Accounts"])
    assert len(books) == len(users)
    assert max(books.values()) > 2 * min(books.values())


def test_nested_objects_are_not_shared(records: dict[str, list[Record]]) -> None:
    nested = [
        id(value)
        for items in records.values()
        for record in items
        for value in record.values()
        if isinstance(value, dict)
    ]
    assert len(set(nested)) == len(nested)


def test_account_names_are_unique_and_realistic(records: dict[str, list[Record]]) -> None:
    names = [a["Account_Name"] for a in records["Accounts"]]
    assert len(set(names)) == len(names)
    suffixes = ("Inc", "Ltd", "Group", "Labs", "Systems")
    assert sum(n.split(" (")[0].endswith(suffixes) for n in names) > len(names) // 5
    assert all(0 < len(n) <= 200 for n in names)


def test_related_records_point_at_existing_earlier_accounts(
    records: dict[str, list[Record]],
) -> None:
    accounts = {a["id"]: a for a in records["Accounts"]}
    for module, field in RELATED.items():
        for record in records[module]:
            lookup = record[field]
            assert set(lookup) == {"name", "id"}
            account = accounts[lookup["id"]]
            assert lookup["name"] == account["Account_Name"]
            assert int(record["id"]) > int(account["id"])
            assert record["Created_Time"] >= account["Created_Time"]
    parents = [a for a in records["Accounts"] if a["Parent_Account"] is not None]
    assert parents
    for account in parents:
        parent = accounts[account["Parent_Account"]["id"]]
        assert account["Parent_Account"]["name"] == parent["Account_Name"]
        assert int(parent["id"]) < int(account["id"])


def test_contacts_are_related_people(records: dict[str, list[Record]]) -> None:
    contacts = records["Contacts"]
    emails = [c["Email"] for c in contacts]
    assert len(set(emails)) == len(emails)
    accounts = {a["id"]: a for a in records["Accounts"]}
    same_owner = 0
    for contact in contacts:
        assert contact["Full_Name"] == f"{contact['First_Name']} {contact['Last_Name']}"
        domain = accounts[contact["Account_Name"]["id"]]["Website"].removeprefix("https://www.")
        assert contact["Email"].endswith("@" + domain)
        same_owner += contact["Owner"] == accounts[contact["Account_Name"]["id"]]["Owner"]
    assert same_owner > 0.75 * len(contacts)


def test_picklist_values_are_valid(records: dict[str, list[Record]]) -> None:
    for module, items in records.items():
        for field in MODULES[module].fields:
            if not field.picklist:
                continue
            values = Counter(r[field.api_name] for r in items)
            assert set(values) - {None} <= set(field.picklist), (module, field.api_name)
    accounts = records["Accounts"]
    assert len({a["Industry"] for a in accounts}) > 10
    assert len({a["Account_Type"] for a in accounts}) > 5


def test_times_are_iso_and_consistent(records: dict[str, list[Record]]) -> None:
    three_years_ago = NOW - 3 * 365 * DAY - DAY
    for module, items in records.items():
        kinds = {f.api_name: f.data_type for f in MODULES[module].fields}
        datetimes = [k for k, t in kinds.items() if t in DATETIME_TYPES]
        dates = [k for k, t in kinds.items() if t in DATE_TYPES]
        for record in items:
            for key in datetimes:
                value = record[key]
                if value is not None:
                    assert ISO_DATETIME.match(value), (module, key, value)
                    assert iso(ts(value)) == value
                    assert three_years_ago <= ts(value) <= NOW
            for key in dates:
                value = record[key]
                if value is not None:
                    assert ISO_DATE.match(value)
            assert record["Modified_Time"] >= record["Created_Time"]


def test_account_activity_spreads_over_two_years(records: dict[str, list[Record]]) -> None:
    accounts = records["Accounts"]
    last = [a["Last_Activity_Time"] for a in accounts]
    assert 0 < last.count(None) < len(accounts) // 10
    ages = [(NOW - ts(t)) / DAY for t in last if t is not None]
    assert max(ages) <= 731
    assert sum(age < 30 for age in ages) > len(ages) // 4  # many recently active
    assert sum(age > 180 for age in ages) > len(ages) // 20  # and a quiet tail
    created = [(NOW - ts(a["Created_Time"])) / DAY for a in accounts]
    assert max(created) > 2.5 * 365
    assert min(created) < 30


def test_health_fields_start_empty(records: dict[str, list[Record]]) -> None:
    for account in records["Accounts"]:
        assert account["Health_Score"] is None
        assert account["Account_Status"] is None
        assert account["Last_Health_Check"] is None


def test_account_values(records: dict[str, list[Record]]) -> None:
    accounts = records["Accounts"]
    revenues = [a["Annual_Revenue"] for a in accounts]
    known = [r for r in revenues if r is not None]
    assert 0 < revenues.count(None) < len(accounts) // 5
    assert all(50_000 <= r <= 500_000_000 and round(r, 2) == r for r in known)
    assert min(known) < 500_000 and max(known) > 50_000_000
    assert all(isinstance(a["Employees"], int) for a in accounts if a["Employees"] is not None)
    numbers = [a["Account_Number"] for a in accounts]
    assert len(set(numbers)) == len(numbers)
    for account in accounts:
        assert account["Phone"].startswith("+")
        assert account["Website"].startswith("https://www.")
        assert account["Billing_City"] and account["Billing_Country"]


def test_deals_mix_open_and_closed_with_consistent_probability(
    records: dict[str, list[Record]],
) -> None:
    deals = records["Deals"]
    stages = Counter(d["Stage"] for d in deals)
    assert set(stages) == set(DEAL_STAGES)
    earliest, latest = day(TODAY) - 366 * DAY, day(TODAY) + 271 * DAY
    for deal in deals:
        assert deal["Probability"] == DEAL_PROBABILITY[deal["Stage"]]
        assert earliest <= day(deal["Closing_Date"]) <= latest
        assert deal["Deal_Name"].startswith(deal["Account_Name"]["name"] + " - ")
        if deal["Amount"] is not None:
            assert deal["Amount"] > 0
        if deal["Stage"] not in OPEN_DEAL_STAGES:
            assert deal["Closing_Date"] <= TODAY
    assert DEAL_PROBABILITY["Closed Won"] == 100
    assert DEAL_PROBABILITY["Closed Lost"] == 0


def test_some_open_deals_are_past_their_closing_date(records: dict[str, list[Record]]) -> None:
    open_deals = [d for d in records["Deals"] if d["Stage"] in OPEN_DEAL_STAGES]
    past_due = [d for d in open_deals if d["Closing_Date"] < TODAY]
    assert 0.05 * len(open_deals) < len(past_due) < 0.5 * len(open_deals)


def test_some_tasks_are_overdue(records: dict[str, list[Record]]) -> None:
    tasks = records["Tasks"]
    overdue = [t for t in tasks if t["Status"] != "Completed" and t["Due_Date"] < TODAY]
    assert 0.05 * len(tasks) < len(overdue) < 0.5 * len(tasks)
    assert any(t["Status"] == "Completed" for t in tasks)
    assert any(t["Due_Date"] > TODAY for t in tasks)
    for task in tasks:
        assert task["Due_Date"] >= task["Created_Time"][:10]


def test_seeding_a_persistent_store_survives_a_reload(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    first = seeded(5, 200, path)
    expected = dump(first)
    first.close()
    reloaded = RecordStore(MODULES, path)
    assert reloaded.load()
    assert dump(reloaded) == expected
    reloaded.close()


def test_ten_thousand_accounts_have_unique_names(users: list[dict[str, Any]]) -> None:
    store = RecordStore(MODULES)
    seed_store(store, seed=42, accounts=10_000, users=users, now=NOW)
    names = [a["Account_Name"] for a in store.all("Accounts")]
    assert len(names) == len(set(names)) == 10_000
    assert any(n.endswith(")") for n in names)  # collisions got a distinguishing city
    assert store.count("Contacts") + store.count("Deals") + store.count("Tasks") > 60_000
