"""The CRM tools through a real MCP client over streamable HTTP against the sandbox: pages
with a `more` signal, search by an owner's email, users, related records and notes; notes
and new records proposed by a read key wait for a person, and a write key's are applied."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from tests.agents.conftest import body, connect
from tests.service.support import Keys

from sergas.access.applying import approve
from sergas.access.approvals import ApprovalStore
from sergas.manager import Caller
from sergas.runtime import Runtime
from sergas.sandbox.server import RunningSandbox

pytestmark = pytest.mark.slow

REVIEWER = Caller("dana", channel="approval")


def _notes_on(store: Any, record_id: str) -> list[dict[str, Any]]:
    return [n for n in store.all("Notes") if (n.get("Parent_Id") or {}).get("id") == record_id]


async def test_pages_and_search_by_owner_email(
    mcp_url: str, keys: Keys, tier_sandbox: RunningSandbox
) -> None:
    sandbox = tier_sandbox.sandbox
    store = sandbox.store
    owner_id, owned = Counter(r["Owner"]["id"] for r in store.ordered("Accounts")).most_common(1)[0]
    owner = next(u for u in sandbox.all_users if u["id"] == owner_id)
    async with connect(mcp_url, keys.read) as agent:
        first = body(
            await agent.call_tool(
                "list_records", {"module": "Contacts", "per_page": 5, "fields": ["Last_Name"]}
            )
        )
        second = body(
            await agent.call_tool(
                "list_records",
                {"module": "Contacts", "per_page": 5, "fields": ["Last_Name"], **first["next"]},
            )
        )
        leads = body(await agent.call_tool("list_records", {"module": "Leads", "per_page": 200}))
        mine = body(
            await agent.call_tool(
                "search_records",
                {"owner": owner["email"].upper(), "per_page": 200, "fields": ["Account_Name"]},
            )
        )
        hot_and_mine = body(
            await agent.call_tool(
                "search_records",
                {
                    "owner": owner["full_name"],
                    "criteria": {"field": "Account_Name", "op": "starts_with", "value": "A"},
                    "per_page": 200,
                },
            )
        )
        nobody = await agent.call_tool("search_records", {"owner": "nobody@example.com"})
        several = await agent.call_tool("search_records", {"owner": "son"})
        users = body(await agent.call_tool("find_users", {"query": owner["email"]}))
        neither = await agent.call_tool("search_records", {"module": "Deals"})
    assert (first["count"], first["more"], first["page"]) == (5, True, 1)
    assert first["next"] and set(first["next"]) <= {"page", "page_token"}
    assert not {r["id"] for r in first["data"]} & {r["id"] for r in second["data"]}
    assert leads["count"] == len(store.ordered("Leads")) and leads["more"] is False
    assert leads["next"] is None
    expected = {r["id"] for r in store.ordered("Accounts") if r["Owner"]["id"] == owner_id}
    assert {r["id"] for r in mine["data"]} == expected and mine["count"] == owned
    assert mine["owner"]["id"] == owner_id and mine["more"] is False
    assert {r["id"] for r in hot_and_mine["data"]} == {
        r["id"]
        for r in store.ordered("Accounts")
        if r["Owner"]["id"] == owner_id and r["Account_Name"].startswith("A")
    }
    assert nobody.is_error and body(nobody)["error"]["code"] == "USER_NOT_FOUND"
    assert body(nobody)["error"]["details"]["argument"] == "owner"
    named = [u for u in sandbox.all_users if "son" in u["full_name"].lower()]
    assert len(named) > 1 and several.is_error
    ambiguous = body(several)["error"]
    assert ambiguous["code"] == "AMBIGUOUS_OWNER"
    assert {u["id"] for u in ambiguous["details"]["users"]} <= {u["id"] for u in named}
    assert [u["id"] for u in users["users"]] == [owner_id]
    assert neither.is_error and "criteria, owner" in body(neither)["error"]["message"]


async def test_related_records_and_notes(
    mcp_url: str, keys: Keys, tier_sandbox: RunningSandbox
) -> None:
    store = tier_sandbox.sandbox.store
    by_account = Counter(
        c["Account_Name"]["id"] for c in store.all("Contacts") if c.get("Account_Name")
    )
    account_id = next(
        a for a, n in by_account.most_common() if len(_notes_on(store, a)) >= 2 and n >= 2
    )
    async with connect(mcp_url, keys.read) as agent:
        contacts = body(
            await agent.call_tool(
                "get_related_records",
                {"record_id": account_id, "related_list": "Contacts", "per_page": 200},
            )
        )
        notes = body(await agent.call_tool("get_notes", {"record_id": account_id}))
        unknown = await agent.call_tool(
            "get_related_records", {"record_id": account_id, "related_list": "Quotes"}
        )
    assert {c["id"] for c in contacts["data"]} == {
        c["id"]
        for c in store.all("Contacts")
        if (c.get("Account_Name") or {}).get("id") == account_id
    }
    times = [n["Created_Time"] for n in notes["notes"]]
    assert len(times) == len(_notes_on(store, account_id)) and times == sorted(times, reverse=True)
    assert unknown.is_error and body(unknown)["error"]["code"] == "INVALID_ARGUMENTS"


async def test_a_read_keys_note_waits_for_a_person(
    mcp_url: str, keys: Keys, runtime: Runtime, tier_sandbox: RunningSandbox
) -> None:
    store = tier_sandbox.sandbox.store
    account_id = store.ordered("Accounts")[40]["id"]
    deal_id = store.ordered("Deals")[3]["id"]
    text = "Renewal at risk: the CFO wants a call before the 15th"
    async with connect(mcp_url, keys.read) as agent:
        queued = body(
            await agent.call_tool(
                "propose_note",
                {
                    "record_id": account_id,
                    "content": text,
                    "title": "Renewal risk",
                    "reason": "from the health brief",
                },
            )
        )
        missing = await agent.call_tool(
            "propose_note", {"record_id": "1234", "content": "x", "reason": "nothing there"}
        )
        mine = body(await agent.call_tool("list_proposals", {"status": "pending"}))
    assert (queued["status"], queued["action"], queued["record_id"]) == (
        "pending",
        "note",
        account_id,
    )
    assert not [n for n in _notes_on(store, account_id) if n["Note_Content"] == text]
    assert missing.is_error and body(missing)["error"]["code"] == "RESOURCE_NOT_FOUND"
    assert [p["action"] for p in mine["proposals"]] == ["note"]

    done = await approve(
        ApprovalStore(runtime.engine),
        runtime.manager,
        queued["approval_id"],
        "dana",
        caller=REVIEWER,
    )
    assert done.status == "applied" and done.outcome and done.outcome["ok"]
    (added,) = [n for n in _notes_on(store, account_id) if n["Note_Content"] == text]
    assert added["Note_Title"] == "Renewal risk" and done.outcome["id"] == added["id"]

    async with connect(mcp_url, keys.write) as ops:
        direct = body(
            await ops.call_tool(
                "propose_note",
                {"record_id": deal_id, "module": "Deals", "content": "Signed", "reason": "won"},
            )
        )
    assert direct["status"] == "applied"
    assert [n for n in _notes_on(store, deal_id) if n["Note_Content"] == "Signed"]


async def test_new_records_are_checked_then_proposed(
    mcp_url: str, keys: Keys, runtime: Runtime, tier_sandbox: RunningSandbox
) -> None:
    store = tier_sandbox.sandbox.store
    account = store.ordered("Accounts")[41]
    contact = {
        "Last_Name": "Okafor",
        "First_Name": "Ada",
        "Email": "ada.okafor@example.com",
        "Account_Name": {"id": account["id"]},
    }
    async with connect(mcp_url, keys.read) as agent:
        typo = await agent.call_tool(
            "propose_create",
            {"module": "Contacts", "record": {**contact, "Emial": "x"}, "reason": "met her"},
        )
        incomplete = await agent.call_tool(
            "propose_create",
            {"module": "Contacts", "record": {"First_Name": "Ada"}, "reason": "met her"},
        )
        queued = body(
            await agent.call_tool(
                "propose_create", {"module": "Contacts", "record": contact, "reason": "met her"}
            )
        )
    assert typo.is_error and body(typo)["error"]["details"]["field"] == "Emial"
    assert body(typo)["error"]["details"]["argument"] == "record"
    refused = body(incomplete)["error"]
    assert refused["code"] == "MANDATORY_NOT_FOUND" and refused["details"]["field"] == "Last_Name"
    assert (queued["status"], queued["action"], queued["record_id"]) == ("pending", "create", None)
    assert not [c for c in store.all("Contacts") if c.get("Email") == contact["Email"]]

    done = await approve(
        ApprovalStore(runtime.engine),
        runtime.manager,
        queued["approval_id"],
        "dana",
        caller=REVIEWER,
    )
    assert done.status == "applied" and done.record_id
    created = store.get("Contacts", done.record_id)
    assert created["Email"] == contact["Email"] and created["Account_Name"]["id"] == account["id"]

    async with connect(mcp_url, keys.write) as ops:
        lead = body(
            await ops.call_tool(
                "propose_create",
                {
                    "module": "Leads",
                    "record": {"Last_Name": "Baptiste", "Company": "Baptiste Freight"},
                    "reason": "inbound call",
                },
            )
        )
    assert lead["status"] == "applied" and lead["record_id"]
    assert store.get("Leads", lead["record_id"])["Company"] == "Baptiste Freight"
