"""The manager's account-work operations (issue 14): a reader may read related records,
notes, deletions, counts and users but not add a note or create records (refused before
anything is sent: the sandbox's stats do not move); what a tier cannot do at all (MCP has
no create or users call) moves on to the next tier, as a failover that does not count
against the tier's health; without failover it is raised as UnsupportedError."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from tests.manager.conftest import MakeManager

from sergas.errors import InvalidDataError, PermissionDeniedError, UnsupportedError
from sergas.manager import Caller, RoutingContext
from sergas.manager.caller import READ_OPERATIONS, WRITE_OPERATIONS
from sergas.query import F
from sergas.sandbox.server import RunningSandbox
from sergas.tiers.base import RecordPage

READER = Caller.reader("health-agent", key_id="3f9c2a1b7d4e", channel="mcp-http")
MCP_FIRST = RoutingContext(preferred_tier="mcp")


def account_with_notes(sandbox: RunningSandbox) -> str:
    accounts = {r["id"] for r in sandbox.sandbox.store.all("Accounts")}
    for note in sandbox.sandbox.store.all("Notes"):
        parent = note["Parent_Id"]["id"]
        if parent in accounts:
            return str(parent)
    raise AssertionError("the seeded CRM has notes on accounts")


def test_the_new_operations_are_reads_or_writes() -> None:
    reads = {
        "list_records",
        "search_page",
        "get_related_records",
        "get_notes",
        "get_deleted_records",
        "count_records",
        "find_users",
    }
    assert reads <= READ_OPERATIONS
    assert {"add_note", "create_records"} <= WRITE_OPERATIONS
    assert not READER.permits("add_note") and not READER.permits("create_records")
    assert all(READER.permits(op) for op in reads)


@pytest.mark.parametrize("tier", ["mcp", "sdk", "rest"])
async def test_a_reader_cannot_add_a_note_or_create_records(
    make_manager: MakeManager, tier_sandbox: RunningSandbox, tier: str
) -> None:
    manager = make_manager()
    rid = account_with_notes(tier_sandbox)
    context = RoutingContext(preferred_tier=tier)  # type: ignore[arg-type]
    before = tier_sandbox.stats()
    with pytest.raises(PermissionDeniedError) as refused:
        await manager.add_note(rid, content="hello", context=context, caller=READER)
    assert "nothing was sent" in refused.value.message
    with pytest.raises(PermissionDeniedError):
        await manager.create_records(
            [{"Account_Name": "Never Ltd"}], context=context, caller=READER
        )
    after = tier_sandbox.stats()
    assert after["total_calls"] == before["total_calls"]
    assert after["credits"]["total_used"] == before["credits"]["total_used"]
    assert after["records"] == before["records"]


async def test_a_reader_reads_related_records_notes_deletions_counts_and_users(
    make_manager: MakeManager, tier_sandbox: RunningSandbox
) -> None:
    manager = make_manager()
    rid = account_with_notes(tier_sandbox)
    notes = await manager.get_notes(rid, caller=READER)
    assert isinstance(notes, RecordPage) and notes.records
    contacts = await manager.get_related_records(rid, "contacts", caller=READER)
    assert all(c["Account_Name"]["id"] == rid for c in contacts.records)
    deleted = await manager.get_deleted_records(caller=READER)
    assert {r["id"] for r in deleted.records} == {
        e["id"] for e in tier_sandbox.sandbox.store.deleted("Accounts")
    }
    total = tier_sandbox.stats()["records"]["Accounts"]
    assert await manager.count_records(caller=READER) == total
    page = await manager.list_records(fields=["Account_Name"], per_page=100, caller=READER)
    assert len(page.records) == 100 and page.more
    searched = await manager.search_page(F("Account_Name").starts_with("A"), caller=READER)
    assert searched.records and not searched.more
    email = tier_sandbox.sandbox.all_users[2]["email"]
    assert [u["email"] for u in await manager.find_users(email, caller=READER)] == [email]


async def test_an_unknown_related_list_is_refused_naming_the_allowed_ones(
    make_manager: MakeManager, tier_sandbox: RunningSandbox
) -> None:
    manager = make_manager()
    with pytest.raises(InvalidDataError) as raised:
        await manager.get_related_records(account_with_notes(tier_sandbox), "Quotes")
    assert "Contacts, Deals, Notes, Tasks, Calls, Events" in raised.value.message


async def test_what_mcp_cannot_do_fails_over_without_hurting_its_health(
    make_manager: MakeManager, tier_sandbox: RunningSandbox
) -> None:
    manager = make_manager()
    assert manager.metrics is not None
    tag = uuid.uuid4().hex[:8]
    created = await manager.create_records(
        [{"Account_Name": f"Failover {tag} {n}"} for n in range(3)], context=MCP_FIRST
    )
    assert created.ok and len(created.results) == 3
    store = tier_sandbox.sandbox.store
    for result in created.results:
        assert result.id and store.get("Accounts", result.id)["Account_Name"].startswith(
            f"Failover {tag}"
        )
    email = tier_sandbox.sandbox.all_users[0]["email"]
    assert [u["email"] for u in await manager.find_users(email, context=MCP_FIRST)] == [email]
    assert manager.metrics.failovers == {("mcp", "sdk"): 2}
    breaker = manager.breaker("mcp").status()
    assert (breaker["state"], breaker["failure_count"]) == ("closed", 0)
    assert tier_sandbox.stats()["endpoints"].get("MCP create_records") is None


async def test_by_default_inserts_and_user_lookups_skip_mcp(
    make_manager: MakeManager, tier_sandbox: RunningSandbox
) -> None:
    manager = make_manager()
    assert manager.metrics is not None
    assert manager.routed("create_records")[-1] == "mcp"
    created = await manager.create_records([{"Account_Name": f"Direct {uuid.uuid4().hex[:8]}"}])
    assert created.ok
    email = tier_sandbox.sandbox.all_users[3]["email"]
    assert len(await manager.find_users(email)) == 1
    assert manager.metrics.failovers == {}
    assert "mcp" not in manager.tiers.built()  # never even opened


async def test_without_another_tier_unsupported_is_raised(
    make_manager: MakeManager, tier_sandbox: RunningSandbox
) -> None:
    manager = make_manager("mcp")
    before: dict[str, Any] = tier_sandbox.stats()
    with pytest.raises(UnsupportedError) as raised:
        await manager.create_records([{"Account_Name": "Nowhere Ltd"}])
    assert raised.value.code == "NOT_SUPPORTED_ON_TIER"
    with pytest.raises(UnsupportedError):
        await manager.find_users("someone@example.com")
    after = tier_sandbox.stats()
    assert after["records"] == before["records"]
    assert after["endpoints"].get("MCP create_records") is None


async def test_a_note_added_through_the_manager_is_the_newest(
    make_manager: MakeManager, tier_sandbox: RunningSandbox
) -> None:
    manager = make_manager()
    rid = account_with_notes(tier_sandbox)
    text = f"Escalated to support {uuid.uuid4().hex[:6]}"
    added = await manager.add_note(rid, content=text, title="Escalation")
    assert added.ok and added.id
    newest = (await manager.get_notes(rid)).records[0]
    assert (newest["id"], newest["Note_Content"]) == (added.id, text)
