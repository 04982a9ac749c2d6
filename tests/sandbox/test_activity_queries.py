"""Search and COQL over the new modules: calls and meetings by what they are about, notes by
parent, leads by company; multi-module lookups come back from COQL as {"id"} only."""

from __future__ import annotations

import httpx2
import pytest
from starlette.applications import Starlette

from sergas.sandbox.backend import Sandbox


@pytest.fixture
def sb(sandbox_app: Starlette) -> Sandbox:
    sandbox: Sandbox = sandbox_app.state.sandbox
    return sandbox


def account_with_calls(sb: Sandbox) -> str:
    call = next(c for c in sb.store.all("Calls") if c["$se_module"] == "Accounts")
    account_id: str = call["What_Id"]["id"]
    return account_id


async def test_coql_finds_an_accounts_calls(crm_client: httpx2.AsyncClient, sb: Sandbox) -> None:
    account_id = account_with_calls(sb)
    expected = {
        c["id"]
        for c in sb.store.all("Calls")
        if c["What_Id"]["id"] == account_id and c["$se_module"] == "Accounts"
    }
    query = (
        "select Subject, What_Id, Who_Id, Call_Start_Time from Calls "
        f"where What_Id = '{account_id}' order by Call_Start_Time desc"
    )
    body = (await crm_client.post("/crm/v8/coql", json={"select_query": query})).json()
    assert {r["id"] for r in body["data"]} == expected
    row = body["data"][0]
    assert row["What_Id"] == {"id": account_id}  # a multi-module lookup: {"id"} only
    assert row["Who_Id"] is None or set(row["Who_Id"]) == {"name", "id"}
    times = [r["Call_Start_Time"] for r in body["data"]]
    assert times == sorted(times, reverse=True)


async def test_coql_joins_through_single_lookups_only(crm_client: httpx2.AsyncClient) -> None:
    ok = await crm_client.post(
        "/crm/v8/coql", json={"select_query": "select Who_Id.Email from Calls limit 5"}
    )
    assert ok.status_code == 200
    refused = await crm_client.post(
        "/crm/v8/coql", json={"select_query": "select What_Id.Account_Name from Calls"}
    )
    assert (refused.status_code, refused.json()["code"]) == (400, "INVALID_QUERY")


async def test_search_meetings_and_leads(crm_client: httpx2.AsyncClient, sb: Sandbox) -> None:
    meeting = next(sb.store.all("Events"))
    about = meeting["What_Id"]["id"]
    found = await crm_client.get(
        "/crm/v8/Events/search", params={"criteria": f"(What_Id:equals:{about})"}
    )
    assert meeting["id"] in {r["id"] for r in found.json()["data"]}
    lead = next(sb.store.all("Leads"))
    by_company = await crm_client.get(
        "/crm/v8/Leads/search", params={"criteria": f"(Company:equals:{lead['Company']})"}
    )
    assert lead["id"] in {r["id"] for r in by_company.json()["data"]}
    by_email = await crm_client.get("/crm/v8/Leads/search", params={"email": lead["Email"]})
    assert [r["id"] for r in by_email.json()["data"]] == [lead["id"]]


async def test_coql_counts_calls_per_type(crm_client: httpx2.AsyncClient, sb: Sandbox) -> None:
    query = "select Call_Type, COUNT(id) from Calls group by Call_Type"
    body = (await crm_client.post("/crm/v8/coql", json={"select_query": query})).json()
    counts = {r["Call_Type"]: r["COUNT(id)"] for r in body["data"]}
    expected: dict[str, int] = {}
    for call in sb.store.all("Calls"):
        expected[call["Call_Type"]] = expected.get(call["Call_Type"], 0) + 1
    assert counts == expected
