"""The MCP tools for related records, notes, deleted records and counts: the same answers and
credits as their REST twins, over the real `mcp` client."""

from __future__ import annotations

from typing import Any

import pytest
from tests.sandbox.test_mcp import credits_used, error, mcp_client, ok, rest_client

from sergas.sandbox.server import RunningSandbox


def busiest(sandbox: RunningSandbox, module: str, field: str) -> str:
    """The account with the most `module` records pointing at it through `field`."""
    counts: dict[str, int] = {}
    for record in sandbox.sandbox.store.all(module):
        link = record.get(field)
        if isinstance(link, dict) and record.get("$se_module", "Accounts") == "Accounts":
            counts[link["id"]] = counts.get(link["id"], 0) + 1
    return max(counts, key=lambda k: counts[k])


async def test_related_records_equal_rest(sandbox: RunningSandbox) -> None:
    account_id = busiest(sandbox, "Calls", "What_Id")
    async with rest_client(sandbox) as rest, mcp_client(sandbox) as client:
        url = f"/crm/v8/Accounts/{account_id}/Calls"
        expected = (await rest.get(url, params={"fields": "Subject,Call_Type"})).json()
        before = credits_used(sandbox)
        found = await ok(
            client,
            "get_related_records",
            module="Accounts",
            record_id=account_id,
            related_list="Calls",
            fields=["Subject", "Call_Type"],
        )
        assert found == expected
        assert credits_used(sandbox) - before == 1
        later = await ok(
            client,
            "get_related_records",
            module="Accounts",
            record_id=account_id,
            related_list="Calls",
            fields="Subject",
            since="2040-01-01T00:00:00+00:00",
        )
        assert later == {"data": [], "info": {"count": 0, "more_records": False}}
        missing = await error(
            client,
            "get_related_records",
            module="Accounts",
            record_id=account_id,
            related_list="Shoes",
            fields="Subject",
        )
        assert missing["code"] == "INVALID_DATA"


async def test_notes_read_and_add(sandbox: RunningSandbox) -> None:
    account_id = busiest(sandbox, "Notes", "Parent_Id")
    async with mcp_client(sandbox) as client:
        before = await ok(client, "get_notes", module="Accounts", record_id=account_id)
        notes = before["data"]
        assert notes and all(n["Parent_Id"]["id"] == account_id for n in notes)
        created = [n["Created_Time"] for n in notes]
        assert created == sorted(created, reverse=True)
        spent = credits_used(sandbox)
        added = await ok(
            client,
            "add_note",
            module="Accounts",
            record_id=account_id,
            title="Renewal",
            content="Champion confirmed the budget.",
        )
        assert added["data"][0]["code"] == "SUCCESS"
        assert credits_used(sandbox) - spent == 1
        after = await ok(client, "get_notes", module="Accounts", record_id=account_id)
        assert after["data"][0]["Note_Content"] == "Champion confirmed the budget."
        assert len(after["data"]) == len(notes) + 1
        refused = await error(
            client, "add_note", module="Accounts", record_id="5725767000999999999", content="x"
        )
        assert refused["details"] == {"resource_path_index": 1}


async def test_deleted_records_and_counts_equal_rest(sandbox: RunningSandbox) -> None:
    async with rest_client(sandbox) as rest, mcp_client(sandbox) as client:
        account = next(sandbox.sandbox.store.all("Accounts"))
        await rest.delete(f"/crm/v8/Accounts/{account['id']}")
        expected = (await rest.get("/crm/v8/Accounts/deleted", params={"type": "recycle"})).json()
        found = await ok(client, "get_deleted_records", module="Accounts", type="recycle")
        assert found == expected and found["data"][0]["id"] == account["id"]
        since: dict[str, Any] = {"since": "2040-01-01T00:00:00+00:00"}
        assert (await ok(client, "get_deleted_records", module="Accounts", **since))["data"] == []
        bad = await error(client, "get_deleted_records", module="Accounts", since="yesterday")
        assert bad["details"]["param_name"] == "since"

        criteria = "(Rating:equals:Active)"
        rest_count = (
            await rest.get("/crm/v8/Accounts/actions/count", params={"criteria": criteria})
        ).json()
        before = credits_used(sandbox)
        assert await ok(client, "get_record_count", module="Accounts", criteria=criteria) == (
            rest_count
        )
        assert credits_used(sandbox) - before == 1
        everything = await ok(client, "get_record_count", module="Leads")
        assert everything == {"count": sandbox.sandbox.store.count("Leads")}


@pytest.mark.parametrize(
    "tool", ["get_related_records", "get_notes", "get_deleted_records", "get_record_count"]
)
async def test_the_tools_are_counted_by_name(sandbox: RunningSandbox, tool: str) -> None:
    arguments: dict[str, Any] = {"module": "Accounts"}
    if tool in ("get_related_records", "get_notes"):
        arguments["record_id"] = next(sandbox.sandbox.store.all("Accounts"))["id"]
    if tool == "get_related_records":
        arguments.update(related_list="Contacts", fields="Email")
    async with mcp_client(sandbox) as client:
        await client.call_tool(tool, arguments)
    assert sandbox.stats()["endpoints"][f"MCP {tool}"] == 1
