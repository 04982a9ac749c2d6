"""Record count, mass update, custom views (cvid) and If-Modified-Since on record reads."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from starlette.applications import Starlette

from sergas.sandbox.backend import Sandbox
from sergas.sandbox.schema import OPEN_DEAL_STAGES

LATER = {"If-Modified-Since": "2040-01-01T00:00:00+00:00"}
EARLIER = {"If-Modified-Since": "2000-01-01T00:00:00+00:00"}


@pytest.fixture
def sb(sandbox_app: Starlette) -> Sandbox:
    sandbox: Sandbox = sandbox_app.state.sandbox
    return sandbox


async def credits(client: httpx2.AsyncClient) -> int:
    used: int = (await client.get("/__sandbox/stats")).json()["credits"]["total_used"]
    return used


async def views(client: httpx2.AsyncClient, module: str) -> dict[str, str]:
    body = (await client.get("/crm/v8/settings/custom_views", params={"module": module})).json()
    return {v["name"]: v["id"] for v in body["custom_views"]}


# -- count ---------------------------------------------------------------------------------------


async def test_count(crm_client: httpx2.AsyncClient, sb: Sandbox) -> None:
    async def count(module: str = "Accounts", **params: str) -> Any:
        response = await crm_client.get(f"/crm/v8/{module}/actions/count", params=params)
        return response.json()

    before = await credits(crm_client)
    assert await count() == {"count": sb.store.count("Accounts")}
    assert await credits(crm_client) - before == 1
    active = sum(1 for a in sb.store.all("Accounts") if a["Rating"] == "Active")
    assert await count(criteria="(Rating:equals:Active)") == {"count": active}
    domain = next(sb.store.all("Contacts"))["Email"].split("@")[1]
    by_email = sum(1 for c in sb.store.all("Contacts") if c["Email"].endswith(domain))
    assert await count("Contacts", email=domain) == {"count": by_email}
    open_deals = sum(1 for d in sb.store.all("Deals") if d["Stage"] in OPEN_DEAL_STAGES)
    cvid = (await views(crm_client, "Deals"))["Open Deals"]
    assert await count("Deals", cvid=cvid) == {"count": open_deals}
    assert (await count("Leads"))["count"] == sb.store.count("Leads") > 0

    both = await count(cvid=cvid, word="x")
    assert both["code"] == "AMBIGUITY_DURING_PROCESSING"
    assert both["message"].startswith("Please use either Cvid or Search Params")
    assert (await count(cvid="123"))["details"] == {"param_name": "cvid"}
    assert (await count("Nope"))["code"] == "INVALID_MODULE"


# -- custom views --------------------------------------------------------------------------------


async def test_custom_views_filter_record_lists(
    crm_client: httpx2.AsyncClient, sb: Sandbox
) -> None:
    me = sb.current_user["id"]
    mine = {a["id"] for a in sb.store.all("Accounts") if a["Owner"]["id"] == me}
    cvids = await views(crm_client, "Accounts")
    assert set(cvids) == {"All Accounts", "My Accounts", "At Risk Accounts"}
    before = await credits(crm_client)
    response = await crm_client.get(
        "/crm/v8/Accounts", params={"fields": "Owner", "cvid": cvids["My Accounts"]}
    )
    assert await credits(crm_client) - before == 3
    if mine:
        assert {r["id"] for r in response.json()["data"]} == mine
    else:
        assert response.status_code == 204
    everything = await crm_client.get(
        "/crm/v8/Accounts", params={"fields": "Owner", "cvid": cvids["All Accounts"], "per_page": 1}
    )
    assert everything.json()["info"]["more_records"] is True
    at_risk = await crm_client.get(
        "/crm/v8/Accounts", params={"fields": "Owner", "cvid": cvids["At Risk Accounts"]}
    )
    assert at_risk.status_code == 204  # the seed leaves Account_Status for the sweep


@pytest.mark.parametrize("cvid", ["123", "deals"])
async def test_an_unknown_custom_view_is_refused_not_ignored(
    crm_client: httpx2.AsyncClient, cvid: str
) -> None:
    if cvid == "deals":
        cvid = (await views(crm_client, "Deals"))["Open Deals"]  # a view of another module
    response = await crm_client.get("/crm/v8/Accounts", params={"fields": "Owner", "cvid": cvid})
    assert response.status_code == 400
    assert response.json() == {
        "code": "INVALID_DATA",
        "details": {"param_name": "cvid"},
        "message": "invalid data",
        "status": "error",
    }


# -- If-Modified-Since -------------------------------------------------------------------------


async def test_if_modified_since_on_lists_and_records(
    crm_client: httpx2.AsyncClient, sb: Sandbox
) -> None:
    params = {"fields": "Modified_Time", "per_page": 200}
    nothing = await crm_client.get("/crm/v8/Accounts", params=params, headers=LATER)
    assert (nothing.status_code, nothing.content) == (304, b"")
    [first] = (await crm_client.get("/crm/v8/Accounts", params={**params, "per_page": 1})).json()[
        "data"
    ]
    one = await crm_client.get(f"/crm/v8/Accounts/{first['id']}", headers=LATER)
    assert one.status_code == 304
    now = (await crm_client.get("/__sandbox/clock")).json()["iso"]
    await crm_client.post("/__sandbox/clock", json={"advance_seconds": 1})  # after `now`
    await crm_client.put(f"/crm/v8/Accounts/{first['id']}", json={"data": [{"Employees": 7}]})
    since = {"If-Modified-Since": now}
    changed = await crm_client.get("/crm/v8/Accounts", params=params, headers=since)
    assert [r["id"] for r in changed.json()["data"]] == [first["id"]]
    assert (
        await crm_client.get(f"/crm/v8/Accounts/{first['id']}", headers=since)
    ).status_code == 200
    http_date = {"If-Modified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"}
    all_of_them = await crm_client.get("/crm/v8/Accounts", params=params, headers=http_date)
    assert all_of_them.json()["info"]["count"] == 200
    bad = await crm_client.get(
        "/crm/v8/Accounts", params=params, headers={"If-Modified-Since": "x"}
    )
    assert bad.json()["details"] == {"param_name": "If-Modified-Since"}


# -- mass update ------------------------------------------------------------------------------


async def test_mass_update_by_ids(crm_client: httpx2.AsyncClient, sb: Sandbox) -> None:
    ids = [a["id"] for a in list(sb.store.all("Accounts"))[:25]]
    before = await credits(crm_client)
    body = {"data": [{"Rating": "Acquired"}], "ids": [*ids, "5725767000999999999"]}
    response = await crm_client.post("/crm/v8/Accounts/actions/mass_update", json=body)
    assert response.status_code == 202
    [item] = response.json()["data"]
    assert (item["code"], item["message"]) == ("SUCCESS", "mass update scheduled successfully")
    assert await credits(crm_client) - before == 3  # 26 records: 1 credit per 10
    assert all(sb.store.get("Accounts", i)["Rating"] == "Acquired" for i in ids)
    status = await crm_client.get(
        "/crm/v8/Accounts/actions/mass_update", params={"job_id": item["details"]["job_id"]}
    )
    assert status.json() == {
        "data": [
            {
                "Status": "COMPLETED",
                "Failed_Count": 1,
                "Updated_Count": 25,
                "Not_Updated_Count": 0,
                "Total_Count": 26,
            }
        ]
    }


async def test_mass_update_by_custom_view(crm_client: httpx2.AsyncClient, sb: Sandbox) -> None:
    cvid = (await views(crm_client, "Deals"))["Open Deals"]
    body = {"data": [{"Probability": 55}], "cvid": cvid}
    response = await crm_client.post("/crm/v8/Deals/actions/mass_update", json=body)
    assert response.status_code == 202
    for deal in sb.store.all("Deals"):
        assert (deal["Probability"] == 55) == (deal["Stage"] in OPEN_DEAL_STAGES)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"data": [{"Shoe_Size": 9}], "ids": ["1"]}, "INVALID_DATA"),
        ({"data": [{"Rating": "Mostly fine"}], "ids": ["1"]}, "INVALID_DATA"),
        ({"data": [{"Rating": "Active"}]}, "MANDATORY_NOT_FOUND"),
        ({"data": [], "ids": ["1"]}, "MANDATORY_NOT_FOUND"),
        (
            {"data": [{"Rating": "Active"}], "ids": ["1"], "cvid": "2"},
            "AMBIGUITY_DURING_PROCESSING",
        ),
        ({"data": [{"Rating": "Active"}], "ids": "1"}, "INVALID_DATA"),
    ],
)
async def test_mass_update_refusals_change_nothing(
    crm_client: httpx2.AsyncClient, sb: Sandbox, body: dict[str, Any], code: str
) -> None:
    before = [dict(a) for a in sb.store.all("Accounts")]
    response = await crm_client.post("/crm/v8/Accounts/actions/mass_update", json=body)
    assert response.status_code == 400
    found = response.json()
    assert (found["data"][0] if "data" in found else found)["code"] == code
    assert list(sb.store.all("Accounts")) == before


async def test_mass_update_status_errors(crm_client: httpx2.AsyncClient) -> None:
    url = "/crm/v8/Accounts/actions/mass_update"
    assert (await crm_client.get(url)).json()["code"] == "REQUIRED_PARAM_MISSING"
    unknown = await crm_client.get(url, params={"job_id": "5725767000999999999"})
    assert (unknown.status_code, unknown.json()["details"]) == (400, {"param_name": "job_id"})
