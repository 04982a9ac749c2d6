"""Users, org, modules and fields through the official SDK's own operations."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.fidelity.sdk import SDKSession, sdk_session
from zohocrmsdk.src.com.zoho.crm.api import fields as zfields
from zohocrmsdk.src.com.zoho.crm.api import modules as zmodules
from zohocrmsdk.src.com.zoho.crm.api import org as zorg
from zohocrmsdk.src.com.zoho.crm.api import users as zusers
from zohocrmsdk.src.com.zoho.crm.api.header_map import HeaderMap
from zohocrmsdk.src.com.zoho.crm.api.parameter_map import ParameterMap
from zohocrmsdk.src.com.zoho.crm.api.record import GetRecordsParam, RecordOperations
from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig
from zohocrmsdk.src.com.zoho.crm.api.util import APIResponse

from sergas.sandbox.config import SandboxConfig
from sergas.sandbox.server import serve_sandbox

pytestmark = pytest.mark.sdk


def called(response: APIResponse | None) -> APIResponse:
    assert response is not None, "the SDK swallowed an exception (see its log)"
    return response


def test_current_user(sdk: SDKSession) -> None:
    params = ParameterMap()
    params.add(zusers.GetUsersParam.type, "CurrentUser")
    response = called(zusers.UsersOperations().get_users(params))
    assert response.get_status_code() == 200
    wrapper = response.get_object()
    assert isinstance(wrapper, zusers.ResponseWrapper)
    [user] = wrapper.get_users()
    me = sdk.running.sandbox.current_user
    assert (str(user.get_id()), user.get_email()) == (me["id"], me["email"])
    assert wrapper.get_info().get_count() == 1


def test_all_users(sdk: SDKSession) -> None:
    response = called(zusers.UsersOperations().get_users(ParameterMap()))
    users = response.get_object().get_users()
    assert {u.get_email() for u in users} == {u["email"] for u in sdk.running.sandbox.all_users}


def test_organization(sdk: SDKSession) -> None:
    response = called(zorg.OrgOperations().get_organization())
    assert response.get_status_code() == 200
    wrapper = response.get_object()
    assert isinstance(wrapper, zorg.ResponseWrapper)
    [org] = wrapper.get_org()
    assert isinstance(org, zorg.Org)
    assert org.get_zgid() == sdk.running.sandbox.org["zgid"]


def test_modules(sdk: SDKSession) -> None:
    response = called(zmodules.ModulesOperations().get_modules(ParameterMap()))
    assert response.get_status_code() == 200
    wrapper = response.get_object()
    assert isinstance(wrapper, zmodules.ResponseWrapper)
    by_name = {m.get_api_name(): m for m in wrapper.get_modules()}
    assert {"Accounts", "Contacts", "Deals", "Tasks"} <= set(by_name)
    accounts = by_name["Accounts"]
    # What the SDK's own field-refresh reads (SDK-util get_modules).
    assert accounts.get_api_supported() is True
    assert accounts.get_generated_type().get_value() == "default"


def test_modules_not_modified_since(sdk: SDKSession) -> None:
    headers = HeaderMap()
    headers.add(zmodules.GetModulesHeader.if_modified_since, datetime.now(UTC))
    response = called(zmodules.ModulesOperations().get_modules(ParameterMap(), headers))
    assert response.get_status_code() == 304
    assert response.get_object() is None


def test_fields_of_accounts(sdk: SDKSession) -> None:
    params = ParameterMap()
    params.add(zfields.GetFieldsParam.module, "Accounts")
    response = called(zfields.FieldsOperations().get_fields(params))
    assert response.get_status_code() == 200
    wrapper = response.get_object()
    assert isinstance(wrapper, zfields.ResponseWrapper)
    by_name = {f.get_api_name(): f for f in wrapper.get_fields()}
    assert by_name["Account_Name"].get_system_mandatory() is True
    assert by_name["Industry"].get_data_type() == "picklist"
    statuses = [v.get_display_value() for v in by_name["Account_Status"].get_pick_list_values()]
    assert {"Healthy", "Watch", "At Risk"} <= set(statuses)
    lookup = by_name["Parent_Account"].get_lookup()
    assert lookup.get_module().get_api_name() == "Accounts"
    assert by_name["Health_Score"].get_custom_field() is True


def test_fields_of_unknown_module(sdk: SDKSession) -> None:
    params = ParameterMap()
    params.add(zfields.GetFieldsParam.module, "Nope")
    response = called(zfields.FieldsOperations().get_fields(params))
    assert response.get_status_code() == 400
    error = response.get_object()
    assert isinstance(error, zfields.APIException)
    assert error.get_code().get_value() == "INVALID_MODULE"


def test_auto_refresh_fields_reads_the_module_list(tmp_path: Path) -> None:
    # With auto_refresh_fields the SDK lists modules first and caches every api_supported
    # module's fields (SDK-util get_fields_info); none of that may fail.
    with serve_sandbox(SandboxConfig(accounts=20)) as running:
        config = SDKConfig(auto_refresh_fields=True)
        with sdk_session(running, tmp_path, sdk_config=config):
            params = ParameterMap()
            params.add(GetRecordsParam.fields, "Account_Name")
            response = called(RecordOperations("Accounts").get_records(params))
            assert response.get_status_code() == 200
            calls = running.stats()["calls"]
            assert calls["GET /crm/v8/settings/modules"] >= 1
            assert calls["GET /crm/v8/settings/fields"] >= 4
