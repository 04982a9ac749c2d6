"""/v1/accounts against the sandbox, in process: paging, fields, sort, typed search, updates
and per-record outcomes, and validation errors with clear 4xx bodies."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from tests.service.support import Keys

from sergas.sandbox.server import RunningSandbox


def store(sandbox: RunningSandbox) -> Any:
    return sandbox.sandbox.store


async def get(client: httpx2.AsyncClient, keys: Keys, path: str, **params: Any) -> Any:
    response = await client.get(path, params=params, headers=Keys.bearer(keys.read))
    assert response.status_code == 200, response.text
    return response.json()


async def test_list_pages_fields_and_sort(
    client: httpx2.AsyncClient, keys: Keys, tier_sandbox: RunningSandbox
) -> None:
    first = await get(
        client,
        keys,
        "/v1/accounts",
        per_page=50,
        page=1,
        sort_by="id",
        sort_order="asc",
        fields="Account_Name,Industry",
    )
    second = await get(
        client,
        keys,
        "/v1/accounts",
        per_page=50,
        page=2,
        sort_by="id",
        sort_order="asc",
        fields="Account_Name,Industry",
    )
    assert first["info"] == {"page": 1, "per_page": 50, "count": 50, "more_records": True}
    ids = [r["id"] for r in first["data"] + second["data"]]
    assert len(set(ids)) == 100
    assert ids == sorted(ids, key=int)
    assert all(set(r) <= {"id", "Account_Name", "Industry"} for r in first["data"])
    last = await get(client, keys, "/v1/accounts", per_page=200, page=2, fields="Account_Name")
    assert last["info"]["count"] == 100 and last["info"]["more_records"] is False


async def test_get_returns_the_sandbox_record(
    client: httpx2.AsyncClient, keys: Keys, tier_sandbox: RunningSandbox
) -> None:
    record = store(tier_sandbox).ordered("Accounts")[3]
    body = await get(client, keys, f"/v1/accounts/{record['id']}")
    assert body["data"]["id"] == record["id"]
    assert body["data"]["Account_Name"] == record["Account_Name"]
    assert body["data"]["Owner"]["id"] == record["Owner"]["id"]
    missing = await client.get("/v1/accounts/1234567", headers=Keys.bearer(keys.read))
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "RESOURCE_NOT_FOUND"


async def test_search_takes_typed_criteria(
    client: httpx2.AsyncClient, keys: Keys, tier_sandbox: RunningSandbox
) -> None:
    records = store(tier_sandbox).ordered("Accounts")
    industry = next(r["Industry"] for r in records if r["Industry"])
    revenue = sorted(r["Annual_Revenue"] or 0 for r in records)[len(records) // 2]
    expected = {
        r["id"]
        for r in records
        if r["Industry"] == industry and (r["Annual_Revenue"] or 0) > revenue
    }
    body = {
        "criteria": {
            "and": [
                {"field": "Industry", "op": "equals", "value": industry},
                {"field": "Annual_Revenue", "op": "greater_than", "value": revenue},
            ]
        },
        "fields": ["Account_Name", "Industry", "Annual_Revenue"],
        "limit": 200,
    }
    response = await client.post("/v1/accounts/search", json=body, headers=Keys.bearer(keys.read))
    assert response.status_code == 200, response.text
    found = response.json()
    assert {r["id"] for r in found["data"]} == expected
    assert found["info"]["count"] == len(expected)


async def test_bulk_update_reports_every_record(
    client: httpx2.AsyncClient, keys: Keys, tier_sandbox: RunningSandbox
) -> None:
    a, b = (r["id"] for r in store(tier_sandbox).ordered("Accounts")[10:12])
    records = [
        {"id": a, "Description": "bulk one"},
        {"id": "999999999", "Description": "no such record"},
        {"id": b, "Annual_Revenue": "not a number"},
        {"id": b, "Phone": "+1 555 0100"},
    ]
    response = await client.post(
        "/v1/accounts/bulk-update", json={"records": records}, headers=Keys.bearer(keys.write)
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["ok"], result["succeeded"], result["failed"]) == (False, 2, 2)
    outcomes = result["results"]
    assert [o["index"] for o in outcomes] == [0, 1, 2, 3]
    assert [o["ok"] for o in outcomes] == [True, False, False, True]
    assert outcomes[2]["code"] == "INVALID_DATA"
    assert outcomes[2]["details"]["api_name"] == "Annual_Revenue"
    assert store(tier_sandbox).get("Accounts", a)["Description"] == "bulk one"
    assert store(tier_sandbox).get("Accounts", b)["Phone"] == "+1 555 0100"


async def test_update_refused_by_zoho_is_422_with_its_details(
    client: httpx2.AsyncClient, keys: Keys, tier_sandbox: RunningSandbox
) -> None:
    record_id = store(tier_sandbox).ordered("Accounts")[0]["id"]
    response = await client.patch(
        f"/v1/accounts/{record_id}",
        json={"data": {"Rating": "Not a picklist value"}},
        headers=Keys.bearer(keys.write),
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "INVALID_DATA"
    assert error["details"]["api_name"] == "Rating"


@pytest.mark.parametrize(
    ("method", "path", "body", "where"),
    [
        ("GET", "/v1/accounts/abc", None, ["path", "record_id"]),
        ("GET", "/v1/accounts?per_page=0", None, ["query", "per_page"]),
        ("GET", "/v1/accounts?sort_by=Account_Name", None, ["query", "sort_by"]),
        ("GET", "/v1/accounts?fields=Account_Name,bad%20name", None, ["query", "fields"]),
        (
            "POST",
            "/v1/accounts/search",
            {"criteria": "(Industry:equals:Retail)"},
            ["body", "criteria"],
        ),
        (
            "POST",
            "/v1/accounts/search",
            {"criteria": {"field": "Industry", "op": "like", "value": "x"}},
            ["body", "criteria", "condition", "op"],
        ),
        (
            "POST",
            "/v1/accounts/search",
            {"criteria": {"field": "Annual_Revenue", "op": "between", "values": [1]}},
            ["body", "criteria", "condition"],
        ),
        (
            "POST",
            "/v1/accounts/search",
            {"criteria": {"field": "Industry) or (1", "op": "equals", "value": "x"}},
            ["body", "criteria", "condition", "field"],
        ),
        ("POST", "/v1/accounts/search", {"criteria": {"and": []}}, ["body", "criteria", "and"]),
        ("PATCH", "/v1/accounts/1", {"data": {}}, ["body", "data"]),
        ("PATCH", "/v1/accounts/1", {"data": {"id": "2", "Phone": "1"}}, ["body", "data"]),
        ("PATCH", "/v1/accounts/1", {"Phone": "1"}, ["body", "data"]),
        ("POST", "/v1/accounts/bulk-update", {"records": [{"Phone": "1"}]}, ["body", "records"]),
    ],
)
async def test_validation_errors_are_clear_422s(
    client: httpx2.AsyncClient,
    keys: Keys,
    method: str,
    path: str,
    body: Any,
    where: list[str],
) -> None:
    response = await client.request(method, path, json=body, headers=Keys.bearer(keys.write))
    assert response.status_code == 422, response.text
    payload = response.json()
    assert payload["error"]["code"] == "VALIDATION_ERROR"
    assert payload["error"]["message"].startswith("invalid request: ")
    locations = [e["loc"] for e in payload["error"]["details"]["errors"]]
    assert any(loc[: len(where)] == where for loc in locations), locations
    # Problems are located and named; the rejected values are not echoed back.
    assert all(set(e) == {"loc", "msg", "type"} for e in payload["error"]["details"]["errors"])


async def test_too_many_records_is_413(client: httpx2.AsyncClient, keys: Keys, app: Any) -> None:
    app.state.service_settings = app.state.service_settings.model_copy(
        update={"max_bulk_records": 2}
    )
    records = [{"id": str(i), "Phone": "1"} for i in range(1, 4)]
    response = await client.post(
        "/v1/accounts/bulk-update", json={"records": records}, headers=Keys.bearer(keys.write)
    )
    assert response.status_code == 413
    assert response.json()["error"]["details"] == {"records": 3, "max": 2}
