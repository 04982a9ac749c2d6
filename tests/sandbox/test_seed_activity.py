"""The seeded leads, notes, calls, meetings and recycle bin: deterministic, consistent, and
shaped so activity signals differ between accounts."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import orjson
import pytest

from sergas.sandbox.schema import MODULES, NOTE_EXTRAS, SE_MODULE_KEY
from sergas.sandbox.seed import build_users, seed_store
from sergas.sandbox.seed.activity import ACTIVITY, RECYCLE_MODULES
from sergas.sandbox.store import Record, RecordStore

NOW = 1_790_000_000.0  # 2026-09-21T14:13:20+00:00
DAY = 86_400


def seeded(seed: int = 42, accounts: int = 1_500) -> RecordStore:
    store = RecordStore(MODULES)
    seed_store(store, seed=seed, accounts=accounts, users=build_users(seed), now=NOW)
    return store


@pytest.fixture(scope="module")
def store() -> RecordStore:
    return seeded()


def ts(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def digest(store: RecordStore, modules: tuple[str, ...]) -> str:
    text = b"".join(orjson.dumps(list(store.all(m))) for m in modules)
    return hashlib.sha256(text).hexdigest()


def test_the_same_seed_gives_the_same_activity(store: RecordStore) -> None:
    again = seeded()
    assert digest(again, ACTIVITY) == digest(store, ACTIVITY)
    for module in RECYCLE_MODULES:
        assert again.deleted(module) == store.deleted(module)
    assert digest(seeded(seed=7), ACTIVITY) != digest(store, ACTIVITY)


def test_the_first_four_modules_do_not_depend_on_the_activity(store: RecordStore) -> None:
    # The activity is drawn after them: the first four are what they were before it existed
    # (the same draws), so their fields say nothing of calls, meetings or notes.
    first = ("Accounts", "Contacts", "Deals", "Tasks")
    assert max(int(r["id"]) for m in first for r in store.all(m)) < min(
        int(r["id"]) for m in ACTIVITY for r in store.all(m)
    )


def test_counts(store: RecordStore) -> None:
    accounts = store.count("Accounts")
    assert store.count("Leads") == accounts // 5
    assert 0.6 * accounts < store.count("Notes") < 1.2 * accounts
    assert 0.7 * accounts < store.count("Calls") < 1.2 * accounts
    assert 0.25 * accounts < store.count("Events") < 0.6 * accounts


@pytest.mark.parametrize("module", ACTIVITY)
def test_records_carry_their_fields_in_order_and_ascend(store: RecordStore, module: str) -> None:
    names = [f.api_name for f in MODULES[module].fields]
    records = list(store.all(module))
    for record in records:
        assert list(record)[: len(names)] == names
    created = [r["Created_Time"] for r in records]
    assert created == sorted(created)


def test_activities_point_at_existing_records(store: RecordStore) -> None:
    for module in ("Calls", "Events"):
        for record in store.all(module):
            target = record[SE_MODULE_KEY]
            assert target in ("Accounts", "Deals")
            assert store.get(target, record["What_Id"]["id"]) is not None
            if record["Who_Id"] is not None:
                contact = store.get("Contacts", record["Who_Id"]["id"])
                assert contact is not None
                assert contact["Full_Name"] == record["Who_Id"]["name"]
    parents = {"Accounts": 0, "Deals": 0}
    for note in store.all("Notes"):
        parent = note["Parent_Id"]
        module = parent["module"]["api_name"]
        parents[module] += 1
        assert parent["module"]["id"] == MODULES[module].id
        assert store.get(module, parent["id"]) is not None
        assert {k: note[k] for k in NOTE_EXTRAS} == NOTE_EXTRAS
    assert all(parents.values())  # notes on accounts and on deals


def test_calls_look_like_calls(store: RecordStore) -> None:
    for call in store.all("Calls"):
        assert call["Call_Start_Time"] <= call["Created_Time"]
        minutes, seconds = call["Call_Duration"].split(":")
        assert int(minutes) * 60 + int(seconds) == call["Call_Duration_in_seconds"]
        assert (call["Call_Type"] == "Missed") == (call["Call_Duration_in_seconds"] == 0)


def _last_activity(store: RecordStore) -> dict[str, float]:
    """Per account, its latest past call or meeting."""
    latest: dict[str, float] = {}
    for module, when in (("Calls", "Call_Start_Time"), ("Events", "Start_DateTime")):
        for record in store.all(module):
            at = ts(record[when])
            if at > NOW or record[SE_MODULE_KEY] != "Accounts":
                continue
            account = record["What_Id"]["id"]
            latest[account] = max(latest.get(account, 0.0), at)
    return latest


def test_some_quiet_accounts_are_recently_active_through_calls_and_meetings_only(
    store: RecordStore,
) -> None:
    latest = _last_activity(store)
    quiet = [
        a
        for a in store.all("Accounts")
        if a["Last_Activity_Time"] is None or ts(a["Last_Activity_Time"]) < NOW - 60 * DAY
    ]
    revived = [a for a in quiet if latest.get(a["id"], 0) > NOW - 14 * DAY]
    stale = [a for a in quiet if latest.get(a["id"], 0) < NOW - 60 * DAY]
    assert len(quiet) > 100
    assert 0.15 * len(quiet) < len(revived) < 0.5 * len(quiet)
    assert len(stale) > 0.4 * len(quiet)


def test_some_meetings_are_ahead(store: RecordStore) -> None:
    starts = [ts(e["Start_DateTime"]) for e in store.all("Events")]
    ahead = [s for s in starts if s > NOW]
    assert 0.1 * len(starts) < len(ahead) < 0.3 * len(starts)
    assert max(ahead) < NOW + 32 * DAY
    assert all(ts(e["Created_Time"]) <= NOW for e in store.all("Events"))


def test_leads(store: RecordStore) -> None:
    leads = list(store.all("Leads"))
    emails = [lead["Email"] for lead in leads]
    assert all("@" in e for e in emails)
    assert len({lead["Lead_Status"] for lead in leads}) >= 6
    assert all(NOW - 366 * DAY < ts(lead["Created_Time"]) <= NOW for lead in leads)
    assert all(lead["Full_Name"] == f"{lead['First_Name']} {lead['Last_Name']}" for lead in leads)


def test_the_recycle_bin(store: RecordStore) -> None:
    for module in RECYCLE_MODULES:
        entries: list[Record] = store.deleted(module)
        assert len(entries) == store.count("Accounts") // 1000 + 2
        times = [ts(e["deleted_time"]) for e in entries]
        assert times == sorted(times)
        assert all(NOW - 90 * DAY <= t <= NOW for t in times)
        assert all(store.get(module, e["id"]) is None for e in entries)


def test_a_persistent_store_keeps_the_recycle_bin(tmp_path: Any) -> None:
    path = tmp_path / "state.db"
    first = RecordStore(MODULES, path)
    seed_store(first, seed=3, accounts=50, users=build_users(3), now=NOW)
    expected = first.deleted("Accounts")
    first.close()
    again = RecordStore(MODULES, path)
    assert again.load()
    assert again.deleted("Accounts") == expected
    assert again.count("Calls") == first.count("Calls")
