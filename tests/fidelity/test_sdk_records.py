"""Records API through the official SDK's RecordOperations: list, paging, get, writes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from tests.fidelity.sdk import SDKSession
from zohocrmsdk.src.com.zoho.crm.api.parameter_map import ParameterMap
from zohocrmsdk.src.com.zoho.crm.api.record import (
    ActionWrapper,
    APIException,
    BodyWrapper,
    DeleteRecordsParam,
    GetRecordParam,
    GetRecordsParam,
    Info,
    Record,
    RecordOperations,
    ResponseWrapper,
    SuccessResponse,
)
from zohocrmsdk.src.com.zoho.crm.api.users import MinifiedUser
from zohocrmsdk.src.com.zoho.crm.api.util import APIResponse

from sergas.sandbox.backend import Sandbox
from sergas.sandbox.server import RunningSandbox

pytestmark = pytest.mark.sdk

FIELDS = "Account_Name,Industry,Owner,Annual_Revenue,Employees,Last_Activity_Time,Modified_Time"
ACCOUNTS = RecordOperations("Accounts")


@pytest.fixture(scope="module")
def sdk_sandbox(big_sandbox: RunningSandbox) -> RunningSandbox:
    """2,500 accounts: enough to page past Zoho's 2,000-record limit."""
    return big_sandbox


def backend(sdk: SDKSession) -> Sandbox:
    return sdk.running.sandbox


def called(response: APIResponse | None) -> APIResponse:
    assert response is not None, "the SDK swallowed an exception (see its log)"
    return response


def get_records(**params: Any) -> APIResponse:
    param_map = ParameterMap()
    for name, value in params.items():
        param_map.add(getattr(GetRecordsParam, name), value)
    return called(ACCOUNTS.get_records(param_map))


def page_of(response: APIResponse) -> tuple[list[Record], Info]:
    assert response.get_status_code() == 200
    wrapper = response.get_object()
    assert isinstance(wrapper, ResponseWrapper)
    return wrapper.get_data(), wrapper.get_info()


def test_get_records_parses_records_and_info(sdk: SDKSession) -> None:
    records, info = page_of(get_records(fields=FIELDS, per_page=5))
    assert len(records) == 5
    assert all(isinstance(r, Record) for r in records)
    requested = set(FIELDS.split(","))
    store = backend(sdk).store
    for record in records:
        assert isinstance(record.get_id(), int)
        assert set(record.get_key_values()) == requested | {"id"}
        stored = store.get("Accounts", str(record.get_id()))
        assert stored is not None
        assert record.get_key_value("Account_Name") == stored["Account_Name"]
        owner = record.get_key_value("Owner")
        assert isinstance(owner, MinifiedUser)
        assert str(owner.get_id()) == stored["Owner"]["id"]
        assert owner.get_name() == stored["Owner"]["name"]
        assert owner.get_email() == stored["Owner"]["email"]
        modified = record.get_key_value("Modified_Time")
        assert isinstance(modified, datetime) and modified.tzinfo is not None
        assert modified == datetime.fromisoformat(stored["Modified_Time"])
    assert isinstance(info, Info)
    assert (info.get_per_page(), info.get_count(), info.get_page()) == (5, 5, 1)
    assert info.get_more_records() is True
    assert info.get_sort_by() == "id" and info.get_sort_order() == "desc"
    assert isinstance(info.get_next_page_token(), str)
    assert isinstance(info.get_page_token_expiry(), datetime)
    assert info.get_call() is False and info.get_email() is False
    ids = [r.get_id() for r in records]
    assert ids == sorted(ids, reverse=True)  # Zoho's default: id, descending


@pytest.mark.parametrize(
    ("sort_by", "sort_order"),
    [("id", "asc"), ("Modified_Time", "asc"), ("Created_Time", "desc")],
)
def test_get_records_sorts(sdk: SDKSession, sort_by: str, sort_order: str) -> None:
    records, info = page_of(
        get_records(fields="Account_Name", sort_by=sort_by, sort_order=sort_order, per_page=200)
    )
    assert (info.get_sort_by(), info.get_sort_order()) == (sort_by, sort_order)
    store = backend(sdk).store

    def key(record: Record) -> tuple[str, int]:
        if sort_by == "id":
            return ("", record.get_id())
        stored = store.get("Accounts", str(record.get_id()))
        assert stored is not None
        return (stored[sort_by], record.get_id())

    keys = [key(r) for r in records]
    assert keys == sorted(keys, reverse=sort_order == "desc")
    assert len(records) == 200


def test_page_token_reaches_every_record_exactly_once(sdk: SDKSession) -> None:
    seen: list[int] = []
    token: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"fields": "Account_Name", "per_page": 200}
        if token:
            params["page_token"] = token
        records, info = page_of(get_records(**params))
        pages += 1
        assert info.get_count() == len(records)
        seen.extend(r.get_id() for r in records)
        token = info.get_next_page_token()
        if not info.get_more_records():
            assert token is None
            break
        assert token
    total = backend(sdk).store.count("Accounts")
    assert total > 2000
    assert len(seen) == len(set(seen)) == total
    assert seen == sorted(seen, reverse=True)
    assert pages == -(-total // 200)


def test_discrete_pages_stop_at_2000(sdk: SDKSession) -> None:
    response = get_records(fields="Account_Name", per_page=200, page=11)
    assert response.get_status_code() == 400
    error = response.get_object()
    assert isinstance(error, APIException)
    assert error.get_code().get_value() == "DISCRETE_PAGINATION_LIMIT_EXCEEDED"
    assert error.get_details() == {"limit": 2000}


def test_get_record_by_id(sdk: SDKSession) -> None:
    stored = next(backend(sdk).store.all("Accounts"))
    params = ParameterMap()
    params.add(GetRecordParam.fields, "Account_Name,Owner")
    response = called(ACCOUNTS.get_record(int(stored["id"]), params))
    records, _ = page_of_one(response)
    [record] = records
    assert record.get_id() == int(stored["id"])
    assert record.get_key_value("Account_Name") == stored["Account_Name"]
    assert record.get_key_value("Owner").get_id() == int(stored["Owner"]["id"])


def page_of_one(response: APIResponse) -> tuple[list[Record], Info | None]:
    assert response.get_status_code() == 200
    wrapper = response.get_object()
    assert isinstance(wrapper, ResponseWrapper)
    return wrapper.get_data(), wrapper.get_info()


def test_get_unknown_record_is_no_content(sdk: SDKSession) -> None:
    response = called(ACCOUNTS.get_record(5725767000000000001))
    assert response.get_status_code() == 204
    assert response.get_object() is None


def write_body(*records: Record) -> BodyWrapper:
    body = BodyWrapper()
    body.set_data(list(records))
    return body


def account(record_id: int | None = None, **values: Any) -> Record:
    record = Record()
    if record_id is not None:
        record.set_id(record_id)
    for name, value in values.items():
        record.add_key_value(name, value)
    return record


def test_update_records_with_partial_failure(sdk: SDKSession) -> None:
    store = backend(sdk).store
    first, second = (r["id"] for r in list(store.all("Accounts"))[:2])
    before = store.get("Accounts", second)
    assert before is not None
    response = called(
        ACCOUNTS.update_records(
            write_body(
                account(int(first), Account_Name="Renamed by the SDK", Employees=42),
                account(5725767000000000001, Account_Name="No such record"),
                account(int(second), Account_Name="x" * 201),
            )
        )
    )
    assert response.get_status_code() == 207
    wrapper = response.get_object()
    assert isinstance(wrapper, ActionWrapper)
    ok, missing, too_long = wrapper.get_data()

    assert isinstance(ok, SuccessResponse)
    assert ok.get_status().get_value() == "success"
    assert ok.get_code().get_value() == "SUCCESS"
    assert ok.get_message().get_value() == "record updated"
    details = ok.get_details()
    assert str(details["id"]) == first
    assert isinstance(details["Modified_Time"], datetime)
    assert isinstance(details["Modified_By"], MinifiedUser)

    for error in (missing, too_long):
        assert isinstance(error, APIException)
        assert error.get_status().get_value() == "error"
        assert error.get_code().get_value() == "INVALID_DATA"
    assert missing.get_details()["json_path"] == "$.data[1].id"
    assert too_long.get_details()["api_name"] == "Account_Name"
    assert too_long.get_details()["json_path"] == "$.data[2].Account_Name"

    updated = store.get("Accounts", first)
    assert updated is not None
    assert (updated["Account_Name"], updated["Employees"]) == ("Renamed by the SDK", 42)
    assert store.get("Accounts", second) == before


def test_create_then_delete_records(sdk: SDKSession) -> None:
    response = called(
        ACCOUNTS.create_records(
            write_body(
                account(Account_Name="Created through the SDK", Annual_Revenue=1234.5),
                account(Account_Name="Second one", Employees=7),
            )
        )
    )
    assert response.get_status_code() == 201
    wrapper = response.get_object()
    assert isinstance(wrapper, ActionWrapper)
    created = wrapper.get_data()
    assert all(isinstance(item, SuccessResponse) for item in created)
    assert [item.get_message().get_value() for item in created] == ["record added"] * 2
    ids = [int(item.get_details()["id"]) for item in created]
    store = backend(sdk).store
    assert store.get("Accounts", str(ids[0]))["Annual_Revenue"] == 1234.5  # type: ignore[index]

    params = ParameterMap()
    for record_id in (*ids, 5725767000000000001):  # repeated: the SDK comma-joins them
        params.add(DeleteRecordsParam.ids, str(record_id))
    deleted = called(ACCOUNTS.delete_records(params))
    assert deleted.get_status_code() == 207
    first, second, unknown = deleted.get_object().get_data()
    assert [first.get_message().get_value(), second.get_message().get_value()] == [
        "record deleted"
    ] * 2
    assert isinstance(unknown, APIException)
    assert unknown.get_code().get_value() == "INVALID_DATA"
    assert all(store.get("Accounts", str(i)) is None for i in ids)


def test_upsert_inserts_and_updates(sdk: SDKSession) -> None:
    existing = next(backend(sdk).store.all("Accounts"))
    body = write_body(
        account(Account_Name=existing["Account_Name"], Employees=99),
        account(Account_Name="Upserted through the SDK"),
    )
    body.set_duplicate_check_fields(["Account_Name"])
    response = called(ACCOUNTS.upsert_records(body))
    assert response.get_status_code() == 200
    updated, inserted = response.get_object().get_data()
    assert (updated.get_action().get_value(), updated.get_duplicate_field()) == (
        "update",
        "Account_Name",
    )
    assert str(updated.get_details()["id"]) == existing["id"]
    assert inserted.get_action().get_value() == "insert"
    assert str(inserted.get_details()["id"]).isdigit()
