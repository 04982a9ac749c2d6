"""Leads and POST /Leads/{id}/actions/convert: what a conversion creates, moves and refuses."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from starlette.applications import Starlette

from sergas.sandbox.backend import Sandbox

DEAL = {"Deal_Name": "New business", "Stage": "Qualification", "Closing_Date": "2027-02-01"}


@pytest.fixture
def sb(sandbox_app: Starlette) -> Sandbox:
    sandbox: Sandbox = sandbox_app.state.sandbox
    return sandbox


def fresh_lead(sb: Sandbox) -> dict[str, Any]:
    """A lead whose company is not an account yet."""
    names = {a["Account_Name"] for a in sb.store.all("Accounts")}
    return next(dict(lead) for lead in sb.store.all("Leads") if lead["Company"] not in names)


async def convert(client: httpx2.AsyncClient, lead_id: str, **options: Any) -> httpx2.Response:
    return await client.post(f"/crm/v8/Leads/{lead_id}/actions/convert", json={"data": [options]})


async def credits(client: httpx2.AsyncClient) -> int:
    used: int = (await client.get("/__sandbox/stats")).json()["credits"]["total_used"]
    return used


async def test_conversion_makes_an_account_a_contact_and_a_deal(
    crm_client: httpx2.AsyncClient, sb: Sandbox
) -> None:
    lead = fresh_lead(sb)
    before = await credits(crm_client)
    response = await convert(crm_client, lead["id"], Deals=DEAL)
    assert response.status_code == 200
    assert await credits(crm_client) - before == 5
    [item] = response.json()["data"]
    assert (item["code"], item["message"], item["status"]) == (
        "SUCCESS",
        "The record has been converted successfully",
        "success",
    )
    details = item["details"]
    account = sb.store.get("Accounts", details["Accounts"]["id"])
    contact = sb.store.get("Contacts", details["Contacts"]["id"])
    deal = sb.store.get("Deals", details["Deals"]["id"])
    assert account is not None and contact is not None and deal is not None
    assert account["Account_Name"] == lead["Company"]
    assert account["Billing_City"] == lead["City"]
    assert (contact["First_Name"], contact["Last_Name"], contact["Email"]) == (
        lead["First_Name"],
        lead["Last_Name"],
        lead["Email"],
    )
    assert contact["Account_Name"]["id"] == deal["Account_Name"]["id"] == account["id"]
    assert contact["Owner"]["id"] == lead["Owner"]["id"]
    assert sb.store.get("Leads", lead["id"]) is None
    listed = await crm_client.get("/crm/v8/Leads", params={"fields": "Company", "ids": lead["id"]})
    assert listed.status_code == 204

    again = await convert(crm_client, lead["id"])
    assert (again.status_code, again.json()["code"]) == (400, "ID_ALREADY_CONVERTED")


async def test_conversion_joins_the_account_of_the_same_name(
    crm_client: httpx2.AsyncClient, sb: Sandbox
) -> None:
    account = next(sb.store.all("Accounts"))
    lead = next(sb.store.all("Leads"))
    await crm_client.put(
        f"/crm/v8/Leads/{lead['id']}", json={"data": [{"Company": account["Account_Name"]}]}
    )
    accounts = sb.store.count("Accounts")
    details = (await convert(crm_client, lead["id"])).json()["data"][0]["details"]
    assert details["Accounts"]["id"] == account["id"]
    assert details["Deals"] is None
    assert sb.store.count("Accounts") == accounts


async def test_conversion_to_a_named_account_and_owner(
    crm_client: httpx2.AsyncClient, sb: Sandbox
) -> None:
    account = list(sb.store.all("Accounts"))[5]
    owner = sb.users[7]
    lead = fresh_lead(sb)
    response = await convert(
        crm_client, lead["id"], Accounts={"id": account["id"]}, assign_to={"id": owner["id"]}
    )
    details = response.json()["data"][0]["details"]
    contact = sb.store.get("Contacts", details["Contacts"]["id"])
    assert contact is not None
    assert (details["Accounts"]["id"], contact["Owner"]["id"]) == (account["id"], owner["id"])


async def test_a_leads_notes_and_calls_move_with_it(
    crm_client: httpx2.AsyncClient, sb: Sandbox
) -> None:
    lead = fresh_lead(sb)
    await crm_client.post(
        f"/crm/v8/Leads/{lead['id']}/Notes", json={"data": [{"Note_Content": "Met at the show"}]}
    )
    call = {
        "Subject": "Intro",
        "Call_Type": "Outbound",
        "Call_Start_Time": "2026-02-01T10:00:00+00:00",
        "What_Id": {"id": lead["id"]},
        "$se_module": "Leads",
    }
    call_id = (await crm_client.post("/crm/v8/Calls", json={"data": [call]})).json()["data"][0][
        "details"
    ]["id"]
    details = (await convert(crm_client, lead["id"])).json()["data"][0]["details"]
    contact_id, account_id = details["Contacts"]["id"], details["Accounts"]["id"]
    notes = await crm_client.get(
        f"/crm/v8/Contacts/{contact_id}/Notes", params={"fields": "Note_Content"}
    )
    assert [n["Note_Content"] for n in notes.json()["data"]] == ["Met at the show"]
    moved = sb.store.get("Calls", call_id)
    assert moved is not None
    assert (moved["$se_module"], moved["What_Id"]["id"], moved["Who_Id"]["id"]) == (
        "Accounts",
        account_id,
        contact_id,
    )


@pytest.mark.parametrize(
    ("options", "code", "api_name"),
    [
        (
            {"Deals": {"Deal_Name": "X", "Closing_Date": "2027-01-01"}},
            "MANDATORY_NOT_FOUND",
            "Stage",
        ),
        ({"Deals": {**DEAL, "Stage": "Maybe"}}, "INVALID_DATA", "Stage"),
        ({"Accounts": {"id": "5725767000999999999"}}, "INVALID_DATA", "Accounts"),
        ({"assign_to": {"id": "1"}}, "INVALID_DATA", "assign_to"),
    ],
)
async def test_a_refused_conversion_writes_nothing(
    crm_client: httpx2.AsyncClient, sb: Sandbox, options: dict[str, Any], code: str, api_name: str
) -> None:
    lead = fresh_lead(sb)
    counts = {m: sb.store.count(m) for m in ("Accounts", "Contacts", "Deals", "Leads")}
    response = await convert(crm_client, lead["id"], **options)
    assert response.status_code == 400
    [item] = response.json()["data"]
    assert (item["code"], item["details"]["api_name"]) == (code, api_name)
    assert {m: sb.store.count(m) for m in counts} == counts


async def test_unknown_lead_and_other_modules(crm_client: httpx2.AsyncClient, sb: Sandbox) -> None:
    unknown = await convert(crm_client, "5725767000999999999")
    assert unknown.json() == {
        "code": "INVALID_DATA",
        "details": {"resource_path_index": 1},
        "message": "invalid data",
        "status": "error",
    }
    account = next(sb.store.all("Accounts"))
    other = await crm_client.post(
        f"/crm/v8/Accounts/{account['id']}/actions/convert", json={"data": [{}]}
    )
    assert (other.status_code, other.json()["code"]) == (404, "INVALID_URL_PATTERN")
