"""Related records over HTTP: reading, relating and delinking a record's related lists, and
adding notes to a record."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from starlette.applications import Starlette

from sergas.sandbox.backend import Sandbox

LINKS = {
    "Contacts": "Account_Name",
    "Deals": "Account_Name",
    "Tasks": "What_Id",
    "Calls": "What_Id",
    "Events": "What_Id",
    "Notes": "Parent_Id",
}
NAMES = {
    "Contacts": "Full_Name",
    "Deals": "Deal_Name",
    "Tasks": "Subject",
    "Calls": "Subject",
    "Events": "Event_Title",
    "Notes": "Note_Title",
}


@pytest.fixture
def sb(sandbox_app: Starlette) -> Sandbox:
    sandbox: Sandbox = sandbox_app.state.sandbox
    return sandbox


def under(sb: Sandbox, module: str, account_id: str) -> set[str]:
    """What the store says belongs to the account in `module`."""
    field = LINKS[module]
    return {
        r["id"]
        for r in sb.store.all(module)
        if (r.get(field) or {}).get("id") == account_id
        and r.get("$se_module", "Accounts") == "Accounts"
        and (r[field].get("module") or {"api_name": "Accounts"})["api_name"] == "Accounts"
    }


def busiest(sb: Sandbox, module: str) -> str:
    """The account with the most related records in `module`."""
    counts: dict[str, int] = {}
    for account in sb.store.all("Accounts"):
        counts[account["id"]] = len(under(sb, module, account["id"]))
    return max(counts, key=lambda k: counts[k])


async def credits(client: httpx2.AsyncClient) -> int:
    used: int = (await client.get("/__sandbox/stats")).json()["credits"]["total_used"]
    return used


@pytest.mark.parametrize("related", list(LINKS))
async def test_an_accounts_related_records_are_those_pointing_at_it(
    crm_client: httpx2.AsyncClient, sb: Sandbox, related: str
) -> None:
    account_id = busiest(sb, related)
    expected = under(sb, related, account_id)
    assert expected
    before = await credits(crm_client)
    response = await crm_client.get(
        f"/crm/v8/Accounts/{account_id}/{related}", params={"fields": NAMES[related]}
    )
    assert response.status_code == 200
    assert await credits(crm_client) - before == 1
    body = response.json()
    assert {r["id"] for r in body["data"]} == expected
    assert all(set(r) - {"$se_module"} == {"id", NAMES[related]} for r in body["data"])
    ids = [int(r["id"]) for r in body["data"]]
    assert ids == sorted(ids, reverse=True)  # id, descending, as record lists
    assert body["info"]["count"] == len(expected) and body["info"]["more_records"] is False


async def test_related_lists_page(crm_client: httpx2.AsyncClient, sb: Sandbox) -> None:
    account_id = busiest(sb, "Contacts")
    expected = under(sb, "Contacts", account_id)
    assert len(expected) >= 3
    seen: list[str] = []
    page = 1
    while True:
        params = {"fields": "Email", "per_page": 2, "page": page, "sort_order": "asc"}
        response = await crm_client.get(f"/crm/v8/Accounts/{account_id}/Contacts", params=params)
        if response.status_code == 204:
            break
        body = response.json()
        seen += [r["id"] for r in body["data"]]
        if not body["info"]["more_records"]:
            break
        page += 1
    assert seen == sorted(expected, key=int)


async def test_related_list_names_are_case_insensitive_and_must_exist(
    crm_client: httpx2.AsyncClient, sb: Sandbox
) -> None:
    account_id = busiest(sb, "Calls")
    ok = await crm_client.get(f"/crm/v8/accounts/{account_id}/calls", params={"fields": "Subject"})
    assert ok.status_code == 200
    bad = await crm_client.get(f"/crm/v8/Accounts/{account_id}/Shoes", params={"fields": "x"})
    assert (bad.status_code, bad.json()["code"]) == (400, "INVALID_DATA")
    assert bad.json()["details"] == {"resource_path_index": 2}
    missing = await crm_client.get(f"/crm/v8/Accounts/{account_id}/Calls")
    assert missing.json()["code"] == "REQUIRED_PARAM_MISSING"
    unknown = await crm_client.get(
        "/crm/v8/Accounts/5725767000999999999/Calls", params={"fields": "Subject"}
    )
    assert (unknown.status_code, unknown.json()["details"]) == (404, {"resource_path_index": 1})
    # Tasks have no related lists.
    task = next(sb.store.all("Tasks"))
    none = await crm_client.get(f"/crm/v8/Tasks/{task['id']}/Notes", params={"fields": "x"})
    assert none.json()["code"] == "INVALID_DATA"


async def test_a_record_with_nothing_related_is_204(crm_client: httpx2.AsyncClient) -> None:
    created = await crm_client.post("/crm/v8/Accounts", json={"data": [{"Account_Name": "Alone"}]})
    record_id = created.json()["data"][0]["details"]["id"]
    response = await crm_client.get(
        f"/crm/v8/Accounts/{record_id}/Contacts", params={"fields": "Email"}
    )
    assert (response.status_code, response.content) == (204, b"")


async def test_one_related_record(crm_client: httpx2.AsyncClient, sb: Sandbox) -> None:
    account_id = busiest(sb, "Contacts")
    contact_id = min(under(sb, "Contacts", account_id))
    url = f"/crm/v8/Accounts/{account_id}/Contacts"
    found = await crm_client.get(f"{url}/{contact_id}", params={"fields": "Email"})
    assert [r["id"] for r in found.json()["data"]] == [contact_id]
    stranger = next(
        c for c in sb.store.all("Contacts") if c["id"] not in under(sb, "Contacts", account_id)
    )
    assert (
        await crm_client.get(f"{url}/{stranger['id']}", params={"fields": "Email"})
    ).status_code == 204


async def test_relate_and_delink_move_the_link(crm_client: httpx2.AsyncClient, sb: Sandbox) -> None:
    account_id = busiest(sb, "Contacts")
    url = f"/crm/v8/Accounts/{account_id}/Contacts"
    stranger = next(c for c in sb.store.all("Contacts") if c["Account_Name"]["id"] != account_id)
    before = await credits(crm_client)
    related = await crm_client.put(url, json={"data": [{"id": stranger["id"]}, {"id": "1"}]})
    assert related.status_code == 207
    ok, bad = related.json()["data"]
    assert ok == {
        "code": "SUCCESS",
        "details": {"id": stranger["id"]},
        "message": "relation added",
        "status": "success",
    }
    assert (bad["code"], bad["details"]) == ("INVALID_DATA", {"id": "1"})
    assert await credits(crm_client) - before == 1
    moved = sb.store.get("Contacts", stranger["id"])
    assert moved is not None and moved["Account_Name"]["id"] == account_id
    # The related list reads the change at once.
    listed = await crm_client.get(url, params={"fields": "Email", "ids": stranger["id"]})
    assert [r["id"] for r in listed.json()["data"]] == [stranger["id"]]

    delinked = await crm_client.delete(url, params={"ids": stranger["id"]})
    assert delinked.status_code == 200
    assert delinked.json()["data"][0]["message"] == "relation removed"
    gone = sb.store.get("Contacts", stranger["id"])
    assert gone is not None and gone["Account_Name"] is None
    again = await crm_client.delete(f"{url}/{stranger['id']}")
    assert (again.status_code, again.json()["data"][0]["code"]) == (400, "INVALID_DATA")


async def test_relating_a_call_sets_its_se_module(
    crm_client: httpx2.AsyncClient, sb: Sandbox
) -> None:
    deal = next(sb.store.all("Deals"))
    call = next(c for c in sb.store.all("Calls") if c["$se_module"] == "Accounts")
    response = await crm_client.put(
        f"/crm/v8/Deals/{deal['id']}/Calls/{call['id']}", json={"data": [{}]}
    )
    assert response.status_code == 200
    moved = sb.store.get("Calls", call["id"])
    assert moved is not None
    assert (moved["What_Id"]["id"], moved["$se_module"]) == (deal["id"], "Deals")


async def test_notes_are_added_not_related(crm_client: httpx2.AsyncClient, sb: Sandbox) -> None:
    account = next(sb.store.all("Accounts"))
    url = f"/crm/v8/Accounts/{account['id']}/Notes"
    refused = await crm_client.put(url, json={"data": [{"id": "5725767000000001001"}]})
    assert (refused.status_code, refused.json()["code"]) == (400, "NOT_SUPPORTED")
    before = await credits(crm_client)
    added = await crm_client.post(
        url, json={"data": [{"Note_Title": "QBR", "Note_Content": "Renewal is on track."}]}
    )
    assert added.status_code == 201
    assert await credits(crm_client) - before == 1
    note = sb.store.get("Notes", added.json()["data"][0]["details"]["id"])
    assert note is not None
    assert note["Parent_Id"] == {
        "module": {"api_name": "Accounts", "id": sb.modules["Accounts"].id},
        "name": account["Account_Name"],
        "id": account["id"],
    }
    assert note["$editable"] is True
    listed = await crm_client.get(url, params={"fields": "Note_Content", "sort_by": "Created_Time"})
    assert listed.json()["data"][0]["Note_Content"] == "Renewal is on track."
    empty = await crm_client.post(url, json={"data": [{"Note_Title": "No content"}]})
    assert empty.json()["data"][0]["code"] == "MANDATORY_NOT_FOUND"
    other = await crm_client.post(f"/crm/v8/Accounts/{account['id']}/Contacts", json={"data": []})
    assert other.json()["code"] == "INVALID_REQUEST_METHOD"


async def test_related_records_not_modified_since(
    crm_client: httpx2.AsyncClient, sb: Sandbox
) -> None:
    account_id = busiest(sb, "Calls")
    url = f"/crm/v8/Accounts/{account_id}/Calls"
    later = {"If-Modified-Since": "2040-01-01T00:00:00+00:00"}
    response = await crm_client.get(url, params={"fields": "Subject"}, headers=later)
    assert (response.status_code, response.content) == (304, b"")
    earlier = {"If-Modified-Since": "2000-01-01T00:00:00+00:00"}
    response = await crm_client.get(url, params={"fields": "Subject"}, headers=earlier)
    assert {r["id"] for r in response.json()["data"]} == under(sb, "Calls", account_id)


def _call(sb: Sandbox, **values: Any) -> dict[str, Any]:
    account = next(sb.store.all("Accounts"))
    return {
        "Subject": "Check-in",
        "Call_Type": "Outbound",
        "Call_Start_Time": "2026-02-01T10:00:00+00:00",
        "What_Id": {"id": account["id"]},
        **values,
    }


@pytest.mark.parametrize(
    ("values", "code", "api_name"),
    [
        ({}, "MANDATORY_NOT_FOUND", "$se_module"),
        ({"$se_module": "Contacts"}, "INVALID_DATA", "$se_module"),
        ({"$se_module": "Deals"}, "INVALID_DATA", "What_Id"),  # an account's id is no deal
    ],
)
async def test_a_multi_module_lookup_needs_its_module(
    crm_client: httpx2.AsyncClient, sb: Sandbox, values: dict[str, Any], code: str, api_name: str
) -> None:
    response = await crm_client.post("/crm/v8/Calls", json={"data": [_call(sb, **values)]})
    [item] = response.json()["data"]
    assert (item["code"], item["details"]["api_name"]) == (code, api_name)


async def test_a_call_on_an_account_is_listed_with_its_se_module(
    crm_client: httpx2.AsyncClient, sb: Sandbox
) -> None:
    created = await crm_client.post(
        "/crm/v8/Calls", json={"data": [_call(sb, **{"$se_module": "accounts"})]}
    )
    call_id = created.json()["data"][0]["details"]["id"]
    record = (await crm_client.get(f"/crm/v8/Calls/{call_id}", params={"fields": "What_Id"})).json()
    [call] = record["data"]
    assert call["$se_module"] == "Accounts"
    assert call["What_Id"]["name"] == next(sb.store.all("Accounts"))["Account_Name"]
