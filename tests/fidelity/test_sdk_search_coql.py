"""Search (criteria with Zoho's escaping, word) and COQL through the official SDK."""

from __future__ import annotations

from typing import Any

import pytest
from tests.fidelity.sdk import SDKSession
from zohocrmsdk.src.com.zoho.crm.api import coql
from zohocrmsdk.src.com.zoho.crm.api.parameter_map import ParameterMap
from zohocrmsdk.src.com.zoho.crm.api.record import (
    APIException,
    BodyWrapper,
    Info,
    Record,
    RecordOperations,
    ResponseWrapper,
    SearchRecordsParam,
    SuccessResponse,
)
from zohocrmsdk.src.com.zoho.crm.api.util import APIResponse

from sergas.sandbox.backend import Sandbox

pytestmark = pytest.mark.sdk

ACCOUNTS = RecordOperations("Accounts")
# Names with the characters Zoho's criteria grammar makes special: ( ) , and a trailing \ .
TRICKY = {
    "comma_parens": "Burns, Bradley (UK) Ltd",
    "backslash": "Slash Holdings\\",
}


def called(response: APIResponse | None) -> APIResponse:
    assert response is not None, "the SDK swallowed an exception (see its log)"
    return response


def backend(sdk: SDKSession) -> Sandbox:
    return sdk.running.sandbox


@pytest.fixture(scope="module")
def tricky_ids(sdk: SDKSession) -> dict[str, str]:
    """Accounts with awkward names, created through the SDK."""
    records = []
    for name in TRICKY.values():
        record = Record()
        record.add_key_value("Account_Name", name)
        record.add_key_value("Annual_Revenue", 777.0)
        records.append(record)
    body = BodyWrapper()
    body.set_data(records)
    response = called(ACCOUNTS.create_records(body))
    assert response.get_status_code() == 201
    items = response.get_object().get_data()
    assert all(isinstance(item, SuccessResponse) for item in items)
    return {key: str(item.get_details()["id"]) for key, item in zip(TRICKY, items, strict=True)}


def search(**params: Any) -> APIResponse:
    param_map = ParameterMap()
    for name, value in params.items():
        param_map.add(getattr(SearchRecordsParam, name), value)
    return called(ACCOUNTS.search_records(param_map))


def found(response: APIResponse) -> tuple[list[Record], Info]:
    assert response.get_status_code() == 200
    wrapper = response.get_object()
    assert isinstance(wrapper, ResponseWrapper)
    return wrapper.get_data(), wrapper.get_info()


def escape(value: str) -> str:
    """Zoho's criteria escaping: backslash before ( ) , and \\ (the SDK URL-encodes)."""
    for char in ("\\", "(", ")", ","):
        value = value.replace(char, "\\" + char)
    return value


@pytest.mark.parametrize("key", sorted(TRICKY))
def test_search_criteria_with_escaped_characters(
    sdk: SDKSession, tricky_ids: dict[str, str], key: str
) -> None:
    criteria = f"(Account_Name:equals:{escape(TRICKY[key])})"
    records, info = found(search(criteria=criteria, fields="Account_Name,Annual_Revenue"))
    assert [str(r.get_id()) for r in records] == [tricky_ids[key]]
    assert records[0].get_key_value("Account_Name") == TRICKY[key]
    assert (info.get_count(), info.get_page(), info.get_more_records()) == (1, 1, False)


def test_search_combined_criteria(sdk: SDKSession, tricky_ids: dict[str, str]) -> None:
    criteria = "((Account_Name:starts_with:Burns\\,)and(Annual_Revenue:between:700,800))"
    records, _ = found(search(criteria=criteria))
    assert [str(r.get_id()) for r in records] == [tricky_ids["comma_parens"]]


def test_search_pages_match_the_store(sdk: SDKSession) -> None:
    floor = 1_000_000
    wanted = sorted(
        int(r["id"])
        for r in backend(sdk).store.all("Accounts")
        if (r.get("Annual_Revenue") or 0) > floor
    )
    assert len(wanted) > 20
    seen: list[int] = []
    page = 1
    while True:
        records, info = found(
            search(criteria=f"(Annual_Revenue:greater_than:{floor})", per_page=20, page=page)
        )
        assert info.get_per_page() == 20 and info.get_page() == page
        seen.extend(r.get_id() for r in records)
        if not info.get_more_records():
            break
        page += 1
    assert sorted(seen) == wanted


def test_search_by_word(sdk: SDKSession, tricky_ids: dict[str, str]) -> None:
    records, _ = found(search(word="Bradley"))
    assert tricky_ids["comma_parens"] in {str(r.get_id()) for r in records}


def test_search_without_matches_is_no_content(sdk: SDKSession) -> None:
    response = search(criteria="(Account_Name:equals:Nothing Like This Exists)")
    assert response.get_status_code() == 204
    assert response.get_object() is None


def test_malformed_criteria_is_an_api_exception(sdk: SDKSession) -> None:
    response = search(criteria="(Account_Name:equals:Unbalanced (paren)")
    assert response.get_status_code() == 400
    error = response.get_object()
    assert isinstance(error, APIException)
    assert error.get_status().get_value() == "error"
    assert error.get_code().get_value() == "INVALID_QUERY"


# -- COQL --------------------------------------------------------------------------------------


def run_coql(query: str) -> APIResponse:
    body = coql.BodyWrapper()
    body.set_select_query(query)
    return called(coql.CoqlOperations().get_records(body))


def test_coql_rows_parse_into_records(sdk: SDKSession) -> None:
    floor = 5_000_000
    response = run_coql(
        "select Account_Name, Annual_Revenue, Owner from Accounts "
        f"where Annual_Revenue > {floor} order by id asc limit 2000"
    )
    assert response.get_status_code() == 200
    wrapper = response.get_object()
    assert isinstance(wrapper, coql.ResponseWrapper)
    store = {r["id"]: r for r in backend(sdk).store.all("Accounts")}
    wanted = sorted(int(i) for i, r in store.items() if (r.get("Annual_Revenue") or 0) > floor)
    rows = wrapper.get_data()
    assert [r.get_id() for r in rows] == wanted
    for row in rows:
        assert isinstance(row, Record)
        stored = store[str(row.get_id())]
        assert row.get_key_value("Account_Name") == stored["Account_Name"]
        assert row.get_key_value("Annual_Revenue") == stored["Annual_Revenue"]
        owner = row.get_key_value("Owner")  # a {"name","id"} lookup since v7
        assert str(owner["id"]) == stored["Owner"]["id"]
    info = wrapper.get_info()
    assert isinstance(info, Info)
    assert (info.get_count(), info.get_more_records()) == (len(wanted), False)


def test_coql_limit_and_offset_page_through(sdk: SDKSession) -> None:
    total = backend(sdk).store.count("Accounts")
    seen: list[int] = []
    offset = 0
    while True:
        response = run_coql(
            f"select Account_Name from Accounts order by id asc limit 100 offset {offset}"
        )
        wrapper = response.get_object()
        assert isinstance(wrapper, coql.ResponseWrapper)
        seen.extend(r.get_id() for r in wrapper.get_data())
        if not wrapper.get_info().get_more_records():
            break
        offset += 100
    assert len(seen) == len(set(seen)) == total
    assert seen == sorted(seen)


def test_coql_syntax_error_is_an_api_exception(sdk: SDKSession) -> None:
    response = run_coql("select Account_Name Accounts where")
    assert response.get_status_code() == 400
    error = response.get_object()
    assert isinstance(error, coql.APIException)
    assert error.get_code().get_value() == "SYNTAX_ERROR"


def test_coql_without_rows_is_no_content(sdk: SDKSession) -> None:
    response = run_coql("select Account_Name from Accounts where Annual_Revenue < 0")
    assert response.get_status_code() == 204
    assert response.get_object() is None
