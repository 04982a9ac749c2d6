"""The account-work operations on every tier against a served sandbox, and equal results
across tiers: pages with Zoho's paging signal, a record's related records and notes (read,
add), deleted records since a time, counts, user lookup, inserts; and If-Modified-Since on
what a tier keeps a copy of (field metadata, users), proven by the sandbox's call counts and
credits. What a tier cannot do raises UnsupportedError before anything is sent."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.tiers.conftest import AVAILABLE_TIERS, MakeTier

from sergas import errors
from sergas.query import F
from sergas.sandbox.server import RunningSandbox
from sergas.tiers.base import RELATED_LISTS, RecordPage, ZohoTier
from sergas.tiers.core import Tier

UNKNOWN_ID = "5725767999999999999"


def core(tier: ZohoTier) -> Tier:
    assert isinstance(tier, Tier)
    return tier


def children(sandbox: RunningSandbox, module: str, field: str, parent_id: str) -> set[str]:
    """Ids of the `module` records whose `field` points at `parent_id`, as the sandbox holds
    them."""
    return {
        r["id"]
        for r in sandbox.sandbox.store.all(module)
        if isinstance(r.get(field), dict) and r[field].get("id") == parent_id
    }


def busy_account(sandbox: RunningSandbox) -> str:
    """An account with contacts, deals, notes, calls and events."""
    store = sandbox.sandbox.store
    counts: dict[str, set[str]] = {}
    for module, field in (
        ("Contacts", "Account_Name"),
        ("Deals", "Account_Name"),
        ("Notes", "Parent_Id"),
        ("Calls", "What_Id"),
        ("Events", "What_Id"),
        ("Tasks", "What_Id"),
    ):
        for record in store.all(module):
            link = record.get(field)
            if isinstance(link, dict) and link.get("id"):
                counts.setdefault(str(link["id"]), set()).add(module)
    full = sorted(rid for rid, modules in counts.items() if len(modules) == 6)
    accounts = {r["id"] for r in store.all("Accounts")}
    found = [rid for rid in full if rid in accounts]
    assert found, "the seeded CRM has an account with every kind of related record"
    return found[0]


async def all_related(tier: ZohoTier, rid: str, related_list: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    page = 1
    while True:
        got = await tier.get_related_records(rid, related_list, page=page, per_page=200)
        found.extend(got.records)
        if not got.more:
            return found
        page += 1


# -- paging ----------------------------------------------------------------------------------


async def test_list_records_pages_with_the_more_signal_and_page_tokens(
    tier: ZohoTier, tier_sandbox: RunningSandbox
) -> None:
    first = await tier.list_records(fields=["Account_Name"], per_page=200)
    assert isinstance(first, RecordPage)
    assert len(first.records) == 200 and first.more and first.page == 1
    tenth = await tier.list_records(fields=["Account_Name"], page=10, per_page=200)
    assert tenth.more and tenth.next_page_token  # past 2,000 only a page token goes on
    token: str | None = tenth.next_page_token
    rest: list[str] = []
    while token:
        page = await tier.list_records(fields=["Account_Name"], page_token=token)
        rest.extend(r["id"] for r in page.records)
        token = page.next_page_token if page.more else None
    total = tier_sandbox.stats()["records"]["Accounts"]
    assert len(rest) == len(set(rest)) == total - 2000
    assert not set(rest) & {r["id"] for r in tenth.records}


async def test_search_page_says_whether_more_match(tier: ZohoTier) -> None:
    criteria = F("Employees").is_not_null()
    first = await tier.search_page(criteria, fields=["Employees"], per_page=50)
    assert len(first.records) == 50 and first.more
    second = await tier.search_page(criteria, fields=["Employees"], page=2, per_page=50)
    assert not {r["id"] for r in first.records} & {r["id"] for r in second.records}
    nothing = F("Account_Name") == f"no such account {uuid.uuid4().hex}"
    empty = await tier.search_page(nothing, fields=["Account_Name"])
    assert empty.records == [] and not empty.more


# -- related records and notes -----------------------------------------------------------


@pytest.mark.parametrize(
    ("related_list", "module", "field"),
    [
        ("Contacts", "Contacts", "Account_Name"),
        ("Deals", "Deals", "Account_Name"),
        ("Notes", "Notes", "Parent_Id"),
        ("Tasks", "Tasks", "What_Id"),
        ("Calls", "Calls", "What_Id"),
        ("Events", "Events", "What_Id"),
    ],
)
async def test_related_records_are_the_records_that_point_at_the_account(
    tier: ZohoTier, tier_sandbox: RunningSandbox, related_list: str, module: str, field: str
) -> None:
    rid = busy_account(tier_sandbox)
    found = await all_related(tier, rid, related_list)
    assert {r["id"] for r in found} == children(tier_sandbox, module, field, rid)
    assert all(r[field]["id"] == rid for r in found)


async def test_an_unknown_related_list_names_the_allowed_ones(
    tier: ZohoTier, tier_sandbox: RunningSandbox
) -> None:
    before = tier_sandbox.stats()["total_calls"]
    with pytest.raises(errors.InvalidDataError) as raised:
        await tier.get_related_records(busy_account(tier_sandbox), "Invoices")
    assert all(name in raised.value.message for name in RELATED_LISTS)
    assert tier_sandbox.stats()["total_calls"] == before  # refused before sending


async def test_related_records_of_a_missing_record_are_not_found(tier: ZohoTier) -> None:
    with pytest.raises(errors.NotFoundError):
        await tier.get_related_records(UNKNOWN_ID, "Contacts")
    with pytest.raises(errors.NotFoundError):
        await tier.get_notes(UNKNOWN_ID)


async def test_notes_come_newest_first_and_a_new_note_is_first(
    tier: ZohoTier, tier_sandbox: RunningSandbox
) -> None:
    rid = busy_account(tier_sandbox)
    before = await tier.get_notes(rid)
    assert before.records
    times = [n["Created_Time"] for n in before.records]
    assert times == sorted(times, reverse=True)
    text = f"Renewal call booked {uuid.uuid4().hex[:6]}"
    added = await tier.add_note(rid, content=text, title="Next step")
    assert added.ok and added.id
    stored = tier_sandbox.sandbox.store.get("Notes", added.id)
    assert stored["Note_Content"] == text and stored["Note_Title"] == "Next step"
    assert stored["Parent_Id"]["id"] == rid
    after = await tier.get_notes(rid)
    assert after.records[0]["id"] == added.id
    assert len(after.records) == len(before.records) + 1


async def test_a_note_on_a_missing_record_is_not_found(tier: ZohoTier) -> None:
    with pytest.raises(errors.NotFoundError):
        await tier.add_note(UNKNOWN_ID, content="nobody will read this")


# -- deleted records and counts ------------------------------------------------------------


async def test_deleted_records_since_a_time(tier: ZohoTier, tier_sandbox: RunningSandbox) -> None:
    entries = tier_sandbox.sandbox.store.deleted("Accounts")
    every = await tier.get_deleted_records()
    assert {r["id"] for r in every.records} == {e["id"] for e in entries}
    times = [r["deleted_time"] for r in every.records]
    assert times == sorted(times, reverse=True)  # latest first
    middle = datetime.fromisoformat(sorted(e["deleted_time"] for e in entries)[1])
    later = await tier.get_deleted_records(since=middle)
    wanted = {e["id"] for e in entries if datetime.fromisoformat(e["deleted_time"]) > middle}
    assert {r["id"] for r in later.records} == wanted and wanted
    future = datetime.now(UTC) + timedelta(days=3650)
    nothing = await tier.get_deleted_records(since=future)  # Zoho's 304
    assert nothing.records == [] and not nothing.more


async def test_count_records_with_and_without_criteria(
    tier: ZohoTier, tier_sandbox: RunningSandbox
) -> None:
    accounts = list(tier_sandbox.sandbox.store.all("Accounts"))
    assert await tier.count_records() == len(accounts)
    industry = accounts[0]["Industry"]
    matching = sum(1 for r in accounts if r.get("Industry") == industry)
    assert 0 < matching < len(accounts)
    assert await tier.count_records(criteria=F("Industry") == industry) == matching
    contacts = tier_sandbox.stats()["records"]["Contacts"]
    assert await tier.count_records(module="Contacts") == contacts


# -- users and inserts: what MCP cannot do ---------------------------------------------------


async def test_find_users_by_email_or_part_of_a_name(
    tier: ZohoTier, tier_sandbox: RunningSandbox
) -> None:
    user = tier_sandbox.sandbox.all_users[0]
    if tier.name == "mcp":
        before = tier_sandbox.stats()["total_calls"]
        with pytest.raises(errors.UnsupportedError):
            await tier.find_users(user["email"])
        assert tier_sandbox.stats()["total_calls"] == before
        return
    by_email = await tier.find_users(user["email"].upper())
    assert [(u["id"], u["email"], u["full_name"]) for u in by_email] == [
        (user["id"], user["email"], user["full_name"])
    ]
    assert by_email[0]["status"] == user["status"]
    part = user["last_name"][1:4].lower()
    named = {u["id"] for u in await tier.find_users(part)}
    wanted = {
        u["id"]
        for u in tier_sandbox.sandbox.all_users
        if u["status"] != "deleted" and part in u["full_name"].lower()
    }
    assert named == wanted and user["id"] in named
    assert await tier.find_users("nobody@nowhere.example") == []
    with pytest.raises(errors.InvalidDataError):
        await tier.find_users("  ")


async def test_create_records_reports_each_outcome_in_order(
    tier: ZohoTier, tier_sandbox: RunningSandbox
) -> None:
    tag = uuid.uuid4().hex[:8]
    records: list[dict[str, Any]] = [{"Account_Name": f"New {tag} {n}"} for n in range(120)]
    records[7] = {"Account_Name": f"Bad {tag}", "Account_Status": "Not A Status"}
    records[110] = {"Description": f"no name {tag}"}  # Account_Name is mandatory
    before = tier_sandbox.stats()["records"]["Accounts"]
    if tier.name == "mcp":
        calls = tier_sandbox.stats()["total_calls"]
        with pytest.raises(errors.UnsupportedError):
            await tier.create_records(records)
        assert tier_sandbox.stats()["total_calls"] == calls
        return
    result = await tier.create_records(records)
    assert [r.index for r in result.results] == list(range(120))
    assert {r.index for r in result.failed} == {7, 110}
    assert {r.code for r in result.failed} == {"INVALID_DATA", "MANDATORY_NOT_FOUND"}
    store = tier_sandbox.sandbox.store
    for r in result.succeeded:
        assert (
            r.id and store.get("Accounts", r.id)["Account_Name"] == records[r.index]["Account_Name"]
        )
    assert tier_sandbox.stats()["records"]["Accounts"] == before + 118


# -- If-Modified-Since ---------------------------------------------------------------------


def calls_to(sandbox: RunningSandbox, endpoint: str) -> int:
    return int(sandbox.stats()["endpoints"].get(endpoint, 0))


async def test_users_copy_is_revalidated_with_if_modified_since(
    make_tier: MakeTier, tier_sandbox: RunningSandbox
) -> None:
    for name in ("rest", "sdk"):
        tier = core(make_tier(name))
        email = tier_sandbox.sandbox.all_users[1]["email"]
        assert len(await tier.find_users(email)) == 1  # the copy, read in full
        copy = tier.meta._users
        assert copy is not None
        before = tier_sandbox.stats()
        assert len(await tier.find_users(email)) == 1  # fresh: no call at all
        assert tier_sandbox.stats()["total_calls"] == before["total_calls"]
        tier.meta.max_age = 0  # the copy is now due for a check
        assert len(await tier.find_users(email)) == 1
        after = tier_sandbox.stats()
        assert after["total_calls"] == before["total_calls"] + 1  # one GET /users
        assert calls_to(tier_sandbox, "GET /crm/v8/users") >= 2
        # Zoho's 304 keeps the copy: a users call costs 1 credit either way.
        assert after["credits"]["total_used"] == before["credits"]["total_used"] + 1
        assert tier.meta.revalidated == 1
        assert tier.meta._users is copy


async def test_field_metadata_is_revalidated_where_the_tier_can(
    make_tier: MakeTier, tier_sandbox: RunningSandbox
) -> None:
    for name in AVAILABLE_TIERS:
        tier = core(make_tier(name))
        fields = await tier.describe_fields("Contacts")
        tier.meta.max_age = 0
        before = tier_sandbox.stats()
        assert await tier.describe_fields("Contacts") == fields
        after = tier_sandbox.stats()
        assert after["total_calls"] == before["total_calls"] + 1
        assert after["credits"]["total_used"] == before["credits"]["total_used"] + 1
        # REST sends If-Modified-Since and keeps its copy on Zoho's 304; the SDK's fields
        # call and MCP's describe_module take no such header, so they read in full.
        assert tier.meta.revalidated == (1 if name == "rest" else 0), name


# -- the same answers from every tier --------------------------------------------------------


async def test_every_tier_gives_equal_results(
    make_tier: MakeTier, tier_sandbox: RunningSandbox
) -> None:
    tiers = [make_tier(name) for name in AVAILABLE_TIERS]
    rid = busy_account(tier_sandbox)
    industry = next(iter(tier_sandbox.sandbox.store.all("Accounts")))["Industry"]
    criteria = F("Industry") == industry
    by_tier: dict[str, Any] = {}
    for t in tiers:
        by_tier[t.name] = (
            await t.list_records(fields=["Account_Name", "Owner"], page=3, per_page=20),
            await t.search_page(criteria, fields=["Account_Name", "Owner"], per_page=30),
            [
                await t.get_related_records(rid, name, per_page=50)
                for name in ("Contacts", "Deals", "Calls", "Events", "Tasks")
            ],
            await t.get_notes(rid),
            await t.get_deleted_records(),
            await t.count_records(criteria=criteria),
        )
    reference = by_tier["rest"]
    for name, outputs in by_tier.items():
        for got, want in zip(outputs, reference, strict=True):
            assert comparable(got) == comparable(want), name


def comparable(value: Any) -> Any:
    """Page tokens are opaque and new on every call: whether one came is what compares."""
    if isinstance(value, RecordPage):
        return (value.records, value.more, value.page, value.next_page_token is not None)
    if isinstance(value, list):
        return [comparable(v) for v in value]
    return value
