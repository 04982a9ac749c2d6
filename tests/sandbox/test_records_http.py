"""Records API over HTTP: Zoho's paths, shapes, status codes and error codes."""

from __future__ import annotations

from typing import Any

import httpx2
import orjson
import pytest
from tests.helpers import authed_client, reauthorize

from sergas.sandbox.config import SandboxConfig
from sergas.sandbox.http.app import create_app
from sergas.sandbox.server import RunningSandbox

FIELDS = {"fields": "Account_Name,Owner,Annual_Revenue,Modified_Time"}


async def first_ids(client: httpx2.AsyncClient, n: int = 3) -> list[str]:
    body = (await client.get("/crm/v8/Accounts", params={**FIELDS, "per_page": n})).json()
    return [r["id"] for r in body["data"]]


async def test_list_shape_and_info(crm_client: httpx2.AsyncClient) -> None:
    response = await crm_client.get("/crm/v8/Accounts", params={**FIELDS, "per_page": 5})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json;charset=UTF-8"
    body = response.json()
    assert len(body["data"]) == 5
    record = body["data"][0]
    assert set(record) == {"id", "Account_Name", "Owner", "Annual_Revenue", "Modified_Time"}
    assert record["id"].isdigit() and len(record["id"]) == 19
    assert set(record["Owner"]) == {"name", "id", "email"}
    info = body["info"]
    assert info["per_page"] == 5 and info["count"] == 5 and info["page"] == 1
    assert info["sort_by"] == "id" and info["sort_order"] == "desc"
    assert info["more_records"] is True and info["next_page_token"]
    assert info["call"] is False and info["email"] is False
    ids = [int(r["id"]) for r in body["data"]]
    assert ids == sorted(ids, reverse=True)


@pytest.mark.parametrize("sort_by", ["id", "Created_Time", "Modified_Time"])
@pytest.mark.parametrize("sort_order", ["asc", "desc"])
async def test_sorting(crm_client: httpx2.AsyncClient, sort_by: str, sort_order: str) -> None:
    params = {
        "fields": "Created_Time,Modified_Time",
        "per_page": 200,
        "sort_by": sort_by,
        "sort_order": sort_order,
    }
    data = (await crm_client.get("/crm/v8/Accounts", params=params)).json()["data"]

    def key(r: dict[str, Any]) -> Any:
        return int(r["id"]) if sort_by == "id" else r[sort_by]

    keys = [key(r) for r in data]
    assert keys == sorted(keys, reverse=sort_order == "desc")


def test_paging_past_2000_with_page_token(big_sandbox: RunningSandbox) -> None:
    headers = {"Authorization": f"Zoho-oauthtoken {big_sandbox.access_token()}"}
    seen: list[str] = []
    params: dict[str, Any] = {"fields": "Account_Name", "per_page": 200, "sort_order": "asc"}
    with httpx2.Client(base_url=big_sandbox.url, headers=headers) as client:
        for page in range(1, 11):
            body = client.get("/crm/v8/Accounts", params={**params, "page": page}).json()
            seen += [r["id"] for r in body["data"]]
        assert body["info"]["more_records"] is True
        token = body["info"]["next_page_token"]
        eleventh = client.get("/crm/v8/Accounts", params={**params, "page": 11})
        assert eleventh.status_code == 400
        assert eleventh.json()["code"] == "DISCRETE_PAGINATION_LIMIT_EXCEEDED"
        while token:
            body = client.get("/crm/v8/Accounts", params={**params, "page_token": token}).json()
            seen += [r["id"] for r in body["data"]]
            token = body["info"]["next_page_token"] if body["info"]["more_records"] else None
    assert len(seen) == 2500 == len(set(seen))
    assert seen == sorted(seen)


async def test_page_token_chain_stops_at_the_limit() -> None:
    """Zoho's chain stops at 100,000 records; `page_token_limit` moves that point."""
    config = SandboxConfig(accounts=30, page_token_limit=20, base_url="http://sb")
    async with authed_client(create_app(config)) as client:
        params: dict[str, Any] = {"fields": "Account_Name", "per_page": 10}
        first = (await client.get("/crm/v8/Accounts", params=params)).json()
        token = first["info"]["next_page_token"]
        second = await client.get("/crm/v8/Accounts", params={**params, "page_token": token})
        assert second.status_code == 200 and second.json()["info"]["more_records"] is True
        token = second.json()["info"]["next_page_token"]
        third = await client.get("/crm/v8/Accounts", params={**params, "page_token": token})
    assert third.status_code == 400
    assert third.json() == {
        "code": "PAGINATION_LIMIT_EXCEEDED",
        "details": {"param_name": "page_token"},
        "message": "You can only get upto 20 records using page_token param",
        "status": "error",
    }


def test_page_token_limit_default_is_zohos() -> None:
    assert SandboxConfig().page_token_limit == 100_000
    with pytest.raises(ValueError, match="page_token_limit"):
        SandboxConfig(page_token_limit=0)


@pytest.mark.parametrize(
    ("extra", "code", "details"),
    [
        ({"page": "1"}, "AMBIGUITY_DURING_PROCESSING", None),
        ({"sort_by": "Modified_Time"}, "TOKEN_BOUND_DATA_MISMATCH", {"param_name": "page_token"}),
    ],
)
async def test_page_token_rules(
    crm_client: httpx2.AsyncClient, extra: dict[str, str], code: str, details: Any
) -> None:
    params = {"fields": "Account_Name", "per_page": 10}
    token = (await crm_client.get("/crm/v8/Accounts", params=params)).json()["info"][
        "next_page_token"
    ]
    response = await crm_client.get(
        "/crm/v8/Accounts", params={**params, "page_token": token, **extra}
    )
    assert response.status_code == 400
    assert response.json()["code"] == code
    if details is not None:
        assert response.json()["details"] == details


async def test_page_token_expires_after_a_day(crm_client: httpx2.AsyncClient) -> None:
    params = {"fields": "Account_Name", "per_page": 10}
    token = (await crm_client.get("/crm/v8/Accounts", params=params)).json()["info"][
        "next_page_token"
    ]
    await crm_client.post("/__sandbox/clock", json={"advance_seconds": 86_401})
    # the access token expired too: take a new one
    await reauthorize(crm_client)
    response = await crm_client.get("/crm/v8/Accounts", params={**params, "page_token": token})
    assert response.json() == {
        "code": "EXPIRED_VALUE",
        "details": {"api_name": "page_token", "json_path": "$.query.page_token"},
        "message": "Page token expired",
        "status": "error",
    }


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        ("/crm/v8/Accounts", {}, 400, "REQUIRED_PARAM_MISSING"),
        ("/crm/v8/Nope", {"fields": "x"}, 400, "INVALID_MODULE"),
        (
            "/crm/v8/Accounts",
            {"fields": ",".join(f"F{i}" for i in range(51))},
            400,
            "LIMIT_EXCEEDED",
        ),
        ("/crm/v8/Accounts", {"fields": "Not_A_Field"}, 400, "INVALID_DATA"),
        (
            "/crm/v8/Accounts",
            {"fields": "Account_Name", "sort_by": "Account_Name"},
            400,
            "INVALID_DATA",
        ),
        ("/crm/v8/Accounts", {"fields": "Account_Name", "sort_order": "up"}, 400, "INVALID_DATA"),
        ("/crm/v8/Accounts", {"fields": "Account_Name", "per_page": "201"}, 400, "LIMIT_EXCEEDED"),
        ("/crm/v8/Accounts", {"fields": "Account_Name", "per_page": "ten"}, 400, "INVALID_DATA"),
        ("/crm/v8/Accounts", {"fields": "Account_Name", "page": "0"}, 400, "INVALID_DATA"),
        ("/crm/v8/Accounts", {"fields": "Account_Name", "page_token": "nope"}, 400, "INVALID_DATA"),
        ("/crm/v8/Accounts/abc", {}, 400, "INVALID_DATA"),
        ("/crm/v8/settings/fields", {}, 400, "REQUIRED_PARAM_MISSING"),
        ("/crm/v8/settings/fields", {"module": "Nope"}, 400, "INVALID_MODULE"),
        ("/crm/v8/users", {"type": "Robots"}, 400, "INVALID_DATA"),
        ("/crm/v9/Accounts", {}, 404, "INVALID_URL_PATTERN"),
    ],
)
async def test_bad_reads_get_zoho_errors(
    crm_client: httpx2.AsyncClient, path: str, params: dict[str, str], status: int, code: str
) -> None:
    response = await crm_client.get(path, params=params)
    assert response.status_code == status
    body = response.json()
    assert body["code"] == code and body["status"] == "error"
    assert isinstance(body["details"], dict) and body["message"]


async def test_empty_results_are_204(crm_client: httpx2.AsyncClient) -> None:
    response = await crm_client.get("/crm/v8/Accounts/5725767000000999999")
    assert response.status_code == 204 and response.content == b""
    response = await crm_client.get(
        "/crm/v8/Accounts", params={"fields": "Account_Name", "ids": "5725767000000999999"}
    )
    assert response.status_code == 204


async def test_get_one_has_every_field(crm_client: httpx2.AsyncClient) -> None:
    [record_id] = await first_ids(crm_client, 1)
    body = (await crm_client.get(f"/crm/v8/Accounts/{record_id}")).json()
    assert "info" not in body
    [record] = body["data"]
    fields = (await crm_client.get("/crm/v8/settings/fields", params={"module": "Accounts"})).json()
    assert set(record) == {f["api_name"] for f in fields["fields"]}


async def test_update_with_sdk_style_body(crm_client: httpx2.AsyncClient) -> None:
    """Zoho's SDK sends no Content-Type and ids as 19-digit JSON numbers."""
    ids = await first_ids(crm_client, 2)
    raw = b'{"data":[{"id":%s,"Health_Score":71},{"id":%s,"Account_Status":"At Risk"}]}' % (
        ids[0].encode(),
        ids[1].encode(),
    )
    response = await crm_client.put("/crm/v8/Accounts", content=raw, headers={"Content-Type": ""})
    assert response.status_code == 200
    items = response.json()["data"]
    assert [i["code"] for i in items] == ["SUCCESS", "SUCCESS"]
    assert [i["details"]["id"] for i in items] == ids
    assert items[0]["message"] == "record updated"
    record = (await crm_client.get(f"/crm/v8/Accounts/{ids[0]}")).json()["data"][0]
    assert record["Health_Score"] == 71
    assert record["Modified_Time"] == items[0]["details"]["Modified_Time"]
    assert record["Modified_By"]["id"] == items[0]["details"]["Modified_By"]["id"]


async def test_partial_success_is_207_in_input_order(crm_client: httpx2.AsyncClient) -> None:
    ids = await first_ids(crm_client, 2)
    before = (await crm_client.get(f"/crm/v8/Accounts/{ids[1]}")).json()["data"][0]
    body = {
        "data": [
            {"id": ids[0], "Health_Score": 12},
            {"id": "5725767000000999999", "Health_Score": 1},
            {"id": ids[1], "Account_Status": "Unknown"},
            {"id": ids[1], "Health_Score": "high"},
            {"id": ids[1], "No_Such_Field": 1},
            {"Health_Score": 3},
        ]
    }
    response = await crm_client.put("/crm/v8/Accounts", json=body)
    assert response.status_code == 207
    items = response.json()["data"]
    assert [i["code"] for i in items] == [
        "SUCCESS",
        "INVALID_DATA",
        "INVALID_DATA",
        "INVALID_DATA",
        "INVALID_DATA",
        "MANDATORY_NOT_FOUND",
    ]
    assert items[1]["details"] == {"api_name": "id", "json_path": "$.data[1].id"}
    assert items[2]["details"]["supported_values"] == ["Healthy", "Watch", "At Risk"]
    assert items[3]["details"]["expected_data_type"] == "integer"
    assert items[5]["details"] == {"api_name": "id", "json_path": "$.data[5].id"}
    after = (await crm_client.get(f"/crm/v8/Accounts/{ids[1]}")).json()["data"][0]
    assert after == before


async def test_all_failed_is_400(crm_client: httpx2.AsyncClient) -> None:
    response = await crm_client.put(
        "/crm/v8/Accounts", json={"data": [{"id": "5725767000000999999", "Health_Score": 1}]}
    )
    assert response.status_code == 400
    assert response.json()["data"][0]["code"] == "INVALID_DATA"


async def test_more_than_100_records(crm_client: httpx2.AsyncClient) -> None:
    response = await crm_client.put(
        "/crm/v8/Accounts", json={"data": [{"id": "1", "Health_Score": 1}] * 101}
    )
    assert response.status_code == 400
    assert response.json() == {
        "data": [
            {
                "code": "LIMIT_EXCEEDED",
                "details": {"maximum_length": 100, "api_name": "data"},
                "message": "count of records in your request exceeds the limit",
                "status": "error",
            }
        ]
    }


@pytest.mark.parametrize("raw", [b"{not json", b"[]", b'{"data": 5}', b""])
async def test_malformed_write_bodies(crm_client: httpx2.AsyncClient, raw: bytes) -> None:
    response = await crm_client.put("/crm/v8/Accounts", content=raw)
    assert response.status_code == 400
    assert response.json()["data"][0]["code"] in ("INVALID_DATA", "MANDATORY_NOT_FOUND")


async def test_create_update_one_upsert_delete(crm_client: httpx2.AsyncClient) -> None:
    owner = (await crm_client.get("/crm/v8/users", params={"type": "AllUsers"})).json()["users"][3]
    created = await crm_client.post(
        "/crm/v8/Accounts",
        json={
            "data": [
                {
                    "Account_Name": "Ünïcode (Holdings), Ltd",
                    "Owner": {"id": int(owner["id"])},
                    "Annual_Revenue": 1234.5,
                    "Last_Health_Check": "2026-01-02T03:04:05+05:30",
                },
                {"Industry": "Wireless Industry"},
            ]
        },
    )
    assert created.status_code == 207
    ok, missing = created.json()["data"]
    assert ok["message"] == "record added" and ok["code"] == "SUCCESS"
    assert missing["code"] == "MANDATORY_NOT_FOUND"
    assert missing["details"]["api_name"] == "Account_Name"
    new_id = ok["details"]["id"]
    record = (await crm_client.get(f"/crm/v8/Accounts/{new_id}")).json()["data"][0]
    assert record["Owner"]["id"] == owner["id"]
    assert record["Last_Health_Check"] == "2026-01-01T21:34:05+00:00"

    one = await crm_client.put(f"/crm/v8/Accounts/{new_id}", json={"data": [{"Rating": "Active"}]})
    assert one.status_code == 200 and one.json()["data"][0]["details"]["id"] == new_id

    upsert = await crm_client.post(
        "/crm/v8/Accounts/upsert",
        json={
            "data": [
                {"Account_Name": "Ünïcode (Holdings), Ltd", "Employees": 12},
                {"Account_Name": "Brand New Co"},
            ]
        },
    )
    assert [i["action"] for i in upsert.json()["data"]] == ["update", "insert"]
    assert upsert.json()["data"][0]["details"]["id"] == new_id

    deleted = await crm_client.delete(
        "/crm/v8/Accounts", params={"ids": f"{new_id},5725767000000999999"}
    )
    assert deleted.status_code == 207
    assert [i["status"] for i in deleted.json()["data"]] == ["success", "error"]
    assert (await crm_client.get(f"/crm/v8/Accounts/{new_id}")).status_code == 204
    missing_ids = await crm_client.delete("/crm/v8/Accounts")
    assert missing_ids.json()["code"] == "REQUIRED_PARAM_MISSING"
    too_many = await crm_client.delete("/crm/v8/Accounts", params={"ids": ",".join(["1"] * 101)})
    assert too_many.json()["code"] == "LIMIT_EXCEEDED"


async def test_lookups_must_exist(crm_client: httpx2.AsyncClient) -> None:
    response = await crm_client.post(
        "/crm/v8/Deals",
        json={
            "data": [
                {
                    "Deal_Name": "X",
                    "Stage": "Qualification",
                    "Closing_Date": "2026-12-01",
                    "Account_Name": {"id": "5725767000000999999"},
                }
            ]
        },
    )
    assert response.status_code == 400
    assert response.json()["data"][0]["details"]["api_name"] == "Account_Name"


async def test_metadata(crm_client: httpx2.AsyncClient) -> None:
    me = (await crm_client.get("/crm/v8/users", params={"type": "CurrentUser"})).json()
    assert len(me["users"]) == 1 and "@" in me["users"][0]["email"]
    org = (await crm_client.get("/crm/v8/org")).json()["org"][0]
    assert org["zgid"].isdigit()
    modules = (await crm_client.get("/crm/v8/settings/modules")).json()["modules"]
    assert {m["api_name"] for m in modules} >= {"Accounts", "Contacts", "Deals", "Tasks"}
    assert all(m["api_supported"] for m in modules)
    later = await crm_client.get(
        "/crm/v8/settings/modules", headers={"If-Modified-Since": "2030-01-01T00:00:00+00:00"}
    )
    assert later.status_code == 304
    fields = (await crm_client.get("/crm/v8/settings/fields", params={"module": "Accounts"})).json()
    by_name = {f["api_name"]: f for f in fields["fields"]}
    assert by_name["Health_Score"]["data_type"] == "integer"
    assert by_name["Health_Score"]["custom_field"] is True
    status_values = [v["display_value"] for v in by_name["Account_Status"]["pick_list_values"]]
    assert status_values == ["-None-", "Healthy", "Watch", "At Risk"]
    assert by_name["Parent_Account"]["lookup"]["module"]["api_name"] == "Accounts"
    assert by_name["Owner"]["data_type"] == "ownerlookup"


async def test_wrong_method_is_zoho_error(crm_client: httpx2.AsyncClient) -> None:
    response = await crm_client.patch("/crm/v8/org")
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_REQUEST_METHOD"


async def test_credits_follow_zoho_table(crm_client: httpx2.AsyncClient) -> None:
    def used() -> Any:
        return crm_client.get("/__sandbox/stats")

    start = (await used()).json()["credits"]["used"]
    await crm_client.get("/crm/v8/Accounts", params={"fields": "Account_Name"})
    ids = await first_ids(crm_client, 25)
    await crm_client.put(
        "/crm/v8/Accounts", content=orjson.dumps({"data": [{"id": i, "Employees": 3} for i in ids]})
    )
    end = (await used()).json()["credits"]["used"]
    assert end - start == 1 + 1 + 3  # two reads, 25 records written = 3 credits
