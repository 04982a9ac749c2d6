"""Conformance cases: the Records API, search and COQL (record.json, module_search.json,
coql.json)."""

from __future__ import annotations

from typing import Any

import httpx2
from tests.conformance.cases import (
    CASES,
    FIELDS,
    RECORD,
    RECORDS,
    UNKNOWN_ID,
    Case,
    Ctx,
    Send,
    case,
)

# -- records: list ------------------------------------------------------------------------------

LIST = ("record.json", RECORDS, "get", "get_records")


@case(*LIST, "first_page", 200)
async def _(c: Ctx) -> httpx2.Response:
    return await c.client.get("/crm/v8/Accounts", params={"fields": FIELDS, "per_page": 5})


@case(*LIST, "last_page", 200)
async def _(c: Ctx) -> httpx2.Response:
    params = {"fields": "Account_Name", "per_page": 200, "page": 2}
    return await c.client.get("/crm/v8/Accounts", params=params)


@case(*LIST, "by_page_token", 200)
async def _(c: Ctx) -> httpx2.Response:
    params = {"fields": "Account_Name", "per_page": 10, "page_token": await c.next_page_token()}
    return await c.client.get("/crm/v8/Accounts", params=params)


@case(*LIST, "sorted_by_modified_time", 200)
async def _(c: Ctx) -> httpx2.Response:
    params = {"fields": "Account_Name", "sort_by": "Modified_Time", "sort_order": "asc"}
    return await c.client.get("/crm/v8/Accounts", params=params)


@case(*LIST, "missing_fields", 400)
async def _(c: Ctx) -> httpx2.Response:
    return await c.client.get("/crm/v8/Accounts")


@case(*LIST, "too_many_fields", 400)
async def _(c: Ctx) -> httpx2.Response:
    return await c.client.get("/crm/v8/Accounts", params={"fields": ",".join(["id"] * 51)})


@case(*LIST, "invalid_module", 400)
async def _(c: Ctx) -> httpx2.Response:
    return await c.client.get("/crm/v8/Nope", params={"fields": "Name"})


@case(*LIST, "invalid_sort_by", 400)
async def _(c: Ctx) -> httpx2.Response:
    params = {"fields": "Account_Name", "sort_by": "Account_Name"}
    return await c.client.get("/crm/v8/Accounts", params=params)


@case(*LIST, "discrete_pagination_limit", 400)
async def _(c: Ctx) -> httpx2.Response:
    params = {"fields": "Account_Name", "per_page": 200, "page": 11}
    return await c.client.get("/crm/v8/Accounts", params=params)


@case(*LIST, "page_with_page_token", 400)
async def _(c: Ctx) -> httpx2.Response:
    params = {"fields": "Account_Name", "page": 2, "page_token": await c.next_page_token()}
    return await c.client.get("/crm/v8/Accounts", params=params)


@case(*LIST, "page_token_bound_to_other_params", 400)
async def _(c: Ctx) -> httpx2.Response:
    params = {"fields": "Owner", "per_page": 10, "page_token": await c.next_page_token()}
    return await c.client.get("/crm/v8/Accounts", params=params)


@case(*LIST, "expired_page_token", 400)
async def _(c: Ctx) -> httpx2.Response:
    token = await c.next_page_token()
    await c.advance(24 * 3600 + 1)
    params = {"fields": "Account_Name", "per_page": 10, "page_token": token}
    return await c.client.get("/crm/v8/Accounts", params=params)


@case(*LIST, "invalid_token", 401)
async def _(c: Ctx) -> httpx2.Response:
    return await c.client.get(
        "/crm/v8/Accounts",
        params={"fields": "Account_Name"},
        headers={"Authorization": "Zoho-oauthtoken 1000.not-a-token"},
    )


# -- records: one -------------------------------------------------------------------------------

GET = ("record.json", RECORD, "get", "get_record")


@case(*GET, "found", 200)
async def _(c: Ctx) -> httpx2.Response:
    [record_id] = await c.account_ids(1)
    return await c.client.get(f"/crm/v8/Accounts/{record_id}")


@case(*GET, "non_numeric_id", 400)
async def _(c: Ctx) -> httpx2.Response:
    return await c.client.get("/crm/v8/Accounts/abc")


@case(*GET, "invalid_module", 400)
async def _(c: Ctx) -> httpx2.Response:
    return await c.client.get(f"/crm/v8/Nope/{UNKNOWN_ID}")


# -- records: writes ----------------------------------------------------------------------------

CREATE = ("record.json", RECORDS, "post", "create_records")


@case(*CREATE, "all_added", 201)
async def _(c: Ctx) -> httpx2.Response:
    body = {"data": [{"Account_Name": "Conformance One", "Annual_Revenue": 12.5}]}
    return await c.client.post("/crm/v8/Accounts", json=body)


@case(*CREATE, "partly_added", 207)
async def _(c: Ctx) -> httpx2.Response:
    body = {"data": [{"Account_Name": "Conformance Two"}, {"Employees": 3}]}
    return await c.client.post("/crm/v8/Accounts", json=body)


@case(*CREATE, "unknown_field", 400)
async def _(c: Ctx) -> httpx2.Response:
    body = {"data": [{"Account_Name": "Conformance Three", "No_Such_Field": 1}]}
    return await c.client.post("/crm/v8/Accounts", json=body)


@case(*CREATE, "wrong_type", 400)
async def _(c: Ctx) -> httpx2.Response:
    body = {"data": [{"Account_Name": "Conformance Four", "Employees": "many"}]}
    return await c.client.post("/crm/v8/Accounts", json=body)


@case(*CREATE, "over_100_records", 400)
async def _(c: Ctx) -> httpx2.Response:
    body = {"data": [{"Account_Name": f"Bulk {i}"} for i in range(101)]}
    return await c.client.post("/crm/v8/Accounts", json=body)


@case(*CREATE, "invalid_module", 400)
async def _(c: Ctx) -> httpx2.Response:
    return await c.client.post("/crm/v8/Nope", json={"data": [{"Name": "x"}]})


@case(*CREATE, "malformed_json", 400)
async def _(c: Ctx) -> httpx2.Response:
    return await c.client.post("/crm/v8/Accounts", content=b'{"data": [')


UPDATE = ("record.json", RECORDS, "put", "update_records")


@case(*UPDATE, "all_updated", 200)
async def _(c: Ctx) -> httpx2.Response:
    first, second = await c.account_ids(2)
    body = {"data": [{"id": first, "Employees": 11}, {"id": int(second), "Rating": "Active"}]}
    return await c.client.put("/crm/v8/Accounts", json=body)


@case(*UPDATE, "partly_updated", 207)
async def _(c: Ctx) -> httpx2.Response:
    first, second = await c.account_ids(2)
    body = {
        "data": [
            {"id": first, "Employees": 12},
            {"id": UNKNOWN_ID, "Employees": 13},
            {"id": second, "Account_Name": "x" * 201},
        ]
    }
    return await c.client.put("/crm/v8/Accounts", json=body)


@case(*UPDATE, "missing_id", 400)
async def _(c: Ctx) -> httpx2.Response:
    return await c.client.put("/crm/v8/Accounts", json={"data": [{"Employees": 1}]})


@case("record.json", RECORD, "put", "update_record", "updated", 200)
async def _(c: Ctx) -> httpx2.Response:
    [record_id] = await c.account_ids(1)
    body = {"data": [{"Industry": "Storage Equipment"}]}
    return await c.client.put(f"/crm/v8/Accounts/{record_id}", json=body)


UPSERT = ("record.json", RECORDS + "/upsert", "post", "upsert_records")


@case(*UPSERT, "insert_and_update", 200)
async def _(c: Ctx) -> httpx2.Response:
    existing = next(c.sandbox.store.all("Accounts"))
    body = {
        "data": [
            {"Account_Name": existing["Account_Name"], "Employees": 21},
            {"Account_Name": "Conformance Upserted"},
        ],
        "duplicate_check_fields": ["Account_Name"],
    }
    return await c.client.post("/crm/v8/Accounts/upsert", json=body)


DELETE = ("record.json", RECORDS, "delete", "delete_records")


@case(*DELETE, "all_deleted", 200)
async def _(c: Ctx) -> httpx2.Response:
    ids = ",".join(await c.account_ids(2))
    return await c.client.delete("/crm/v8/Accounts", params={"ids": ids})


@case(*DELETE, "partly_deleted", 207)
async def _(c: Ctx) -> httpx2.Response:
    [record_id] = await c.account_ids(1)
    return await c.client.delete("/crm/v8/Accounts", params={"ids": f"{record_id},{UNKNOWN_ID}"})


@case(*DELETE, "missing_ids", 400)
async def _(c: Ctx) -> httpx2.Response:
    return await c.client.delete("/crm/v8/Accounts")


@case(*DELETE, "over_100_ids", 400)
async def _(c: Ctx) -> httpx2.Response:
    ids = ",".join(str(int(UNKNOWN_ID) + i) for i in range(101))
    return await c.client.delete("/crm/v8/Accounts", params={"ids": ids})


DELETE_ONE = ("record.json", RECORD, "delete", "delete_record")


@case(*DELETE_ONE, "deleted", 200)
async def _(c: Ctx) -> httpx2.Response:
    [record_id] = await c.account_ids(1)
    return await c.client.delete(f"/crm/v8/Accounts/{record_id}")


@case(*DELETE_ONE, "non_numeric_id", 400)
async def _(c: Ctx) -> httpx2.Response:
    return await c.client.delete("/crm/v8/Accounts/abc")


# -- search (documented in module_search.json and again in record.json) ------------------------

SEARCHES: dict[str, tuple[int, str, dict[str, Any]]] = {
    "criteria": (200, "Accounts", {"criteria": "(Annual_Revenue:greater_than:1000000)"}),
    "escaped_criteria": (
        200,
        "Accounts",
        {"criteria": "((Account_Name:starts_with:A)or(Account_Name:equals:Burns\\,B \\(UK\\)))"},
    ),
    "email": (200, "Contacts", {"email": "@"}),
    "word": (200, "Accounts", {"word": "Holdings", "fields": "Account_Name,Owner"}),
    "no_search_parameter": (400, "Accounts", {}),
    "malformed_criteria": (400, "Accounts", {"criteria": "(Account_Name:equals:A(B)"}),
    "unknown_operator": (400, "Accounts", {"criteria": "(Annual_Revenue:about:5)"}),
    "invalid_module": (400, "Nope", {"criteria": "(Name:equals:x)"}),
    "past_2000_records": (400, "Accounts", {"word": "an", "page": 11, "per_page": 200}),
}


def _search(module: str, params: dict[str, Any]) -> Send:
    async def send(c: Ctx) -> httpx2.Response:
        return await c.client.get(f"/crm/v8/{module}/search", params=params)

    return send


for _name, (_status, _module, _params) in SEARCHES.items():
    for _spec, _path in (
        ("module_search.json", "/crm/v8/{module}/search"),
        ("record.json", RECORDS + "/search"),
    ):
        CASES.append(
            Case(_spec, _path, "get", "search_records", _name, _status, _search(_module, _params))
        )


# -- COQL ---------------------------------------------------------------------------------------

QUERIES: dict[str, tuple[int, str]] = {
    "select": (
        200,
        "select Account_Name, Owner, Annual_Revenue, Parent_Account.Account_Name from Accounts "
        "where Annual_Revenue > 1000000 order by id asc limit 5",
    ),
    "aggregate": (200, "select COUNT(id), Industry from Accounts group by Industry"),
    "syntax_error_near": (400, "select Account_Name Accounts where"),
    "missing_clause": (400, "select Account_Name"),
    "unsupported_column": (400, "select No_Such_Column from Accounts"),
    "limit_over_2000": (400, "select Account_Name from Accounts limit 2001"),
    "invalid_limit": (400, "select Account_Name from Accounts limit s"),
    "invalid_module": (400, "select Name from Nope"),
}


def _coql(query: str) -> Send:
    async def send(c: Ctx) -> httpx2.Response:
        return await c.client.post("/crm/v8/coql", json={"select_query": query})

    return send


for _name, (_status, _query) in QUERIES.items():
    CASES.append(Case("coql.json", "/crm/v8/coql", "post", "coql", _name, _status, _coql(_query)))
