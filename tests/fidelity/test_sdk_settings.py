"""Users by id and type, one module, one field, layouts, custom views, related lists, profiles
and tags, through the official SDK's own operations and models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from tests.fidelity.sdk import SDKSession
from zohocrmsdk.src.com.zoho.crm.api import custom_views as zviews
from zohocrmsdk.src.com.zoho.crm.api import fields as zfields
from zohocrmsdk.src.com.zoho.crm.api import layouts as zlayouts
from zohocrmsdk.src.com.zoho.crm.api import modules as zmodules
from zohocrmsdk.src.com.zoho.crm.api import profiles as zprofiles
from zohocrmsdk.src.com.zoho.crm.api import related_lists as zlists
from zohocrmsdk.src.com.zoho.crm.api import tags as ztags
from zohocrmsdk.src.com.zoho.crm.api import users as zusers
from zohocrmsdk.src.com.zoho.crm.api.header_map import HeaderMap
from zohocrmsdk.src.com.zoho.crm.api.parameter_map import ParameterMap
from zohocrmsdk.src.com.zoho.crm.api.util import APIResponse

from sergas.sandbox.backend import Sandbox

pytestmark = pytest.mark.sdk


def called(response: APIResponse | None, status: int = 200) -> Any:
    """The parsed object of a response with `status` (None for a 204 or 304)."""
    assert response is not None, "the SDK swallowed an exception (see its log)"
    assert response.get_status_code() == status
    return response.get_object()


def params(**values: Any) -> ParameterMap:
    found = ParameterMap()
    for param, value in values.values():
        found.add(param, value)
    return found


def module_param(cls: Any, module: str) -> ParameterMap:
    found = ParameterMap()
    found.add(cls.module, module)
    return found


def backend(sdk: SDKSession) -> Sandbox:
    return sdk.running.sandbox


# -- users ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("AdminUsers", lambda u: u["profile"]["name"] == "Administrator"),
        ("DeactiveUsers", lambda u: u["status"] == "disabled"),
        ("NotConfirmedUsers", lambda u: not u["confirm"]),
        ("ActiveUsers", lambda u: u["status"] == "active"),
        ("AllUsers", lambda u: True),
    ],
)
def test_users_by_type(sdk: SDKSession, kind: str, expected: Any) -> None:
    found = ParameterMap()
    found.add(zusers.GetUsersParam.type, kind)
    wrapper = called(zusers.UsersOperations().get_users(found))
    assert isinstance(wrapper, zusers.ResponseWrapper)
    ids = {str(u.get_id()) for u in wrapper.get_users()}
    assert ids == {u["id"] for u in backend(sdk).all_users if expected(u)}
    assert ids


def test_one_user(sdk: SDKSession) -> None:
    user = backend(sdk).users[4]
    wrapper = called(zusers.UsersOperations().get_user(int(user["id"])))
    [found] = wrapper.get_users()
    assert (found.get_email(), found.get_full_name()) == (user["email"], user["full_name"])
    assert found.get_role().get_name() == user["role"]["name"]


def test_unknown_user_is_no_content(sdk: SDKSession) -> None:
    assert called(zusers.UsersOperations().get_user(5725767000000000002), 204) is None


def test_user_not_modified_since(sdk: SDKSession) -> None:
    headers = HeaderMap()
    headers.add(zusers.GetUserHeader.if_modified_since, datetime.now(UTC))
    user_id = int(backend(sdk).users[1]["id"])
    assert called(zusers.UsersOperations().get_user(user_id, headers), 304) is None


# -- one module, one field -------------------------------------------------------------------------


def test_module_by_api_name(sdk: SDKSession) -> None:
    wrapper = called(zmodules.ModulesOperations().get_module_by_api_name("Leads"))
    [module] = wrapper.get_modules()
    assert (module.get_api_name(), module.get_convertable()) == ("Leads", True)
    assert {r.get_api_name() for r in module.get_related_lists()} == {"Calls", "Events", "Notes"}


def test_one_field(sdk: SDKSession) -> None:
    field = backend(sdk).modules["Calls"].by_name["Call_Type"]
    found = module_param(zfields.GetFieldParam, "Calls")
    wrapper = called(zfields.FieldsOperations().get_field(int(field.id), found))
    [shown] = wrapper.get_fields()
    values = [v.get_display_value() for v in shown.get_pick_list_values()]
    assert (shown.get_api_name(), values) == ("Call_Type", ["-None-", *field.picklist])


# -- layouts, custom views, related lists ---------------------------------------------------------


def test_layouts_and_one_layout(sdk: SDKSession) -> None:
    ops = zlayouts.LayoutsOperations()
    wrapper = called(ops.get_layouts(module_param(zlayouts.GetLayoutsParam, "Accounts")))
    [layout] = wrapper.get_layouts()
    [section] = layout.get_sections()
    names = [f.get_api_name() for f in section.get_fields()]
    assert names == [f.api_name for f in backend(sdk).modules["Accounts"].fields]
    one = called(ops.get_layout(layout.get_id(), module_param(zlayouts.GetLayoutParam, "Accounts")))
    assert one.get_layouts()[0].get_name() == "Standard"


def test_custom_views_and_one_view(sdk: SDKSession) -> None:
    ops = zviews.CustomViewsOperations()
    wrapper = called(ops.get_custom_views(module_param(zviews.GetCustomViewsParam, "Deals")))
    by_name = {v.get_name(): v for v in wrapper.get_custom_views()}
    assert {"All Deals", "My Deals", "Open Deals"} <= set(by_name)
    assert str(wrapper.get_info().get_default()) == str(by_name["All Deals"].get_id())
    view_id = int(by_name["Open Deals"].get_id())
    one = called(ops.get_custom_view(view_id, module_param(zviews.GetCustomViewParam, "Deals")))
    [view] = one.get_custom_views()
    criteria = view.get_criteria()
    assert criteria.get_field().get_api_name() == "Stage"
    assert criteria.get_comparator() == "in"


def test_related_lists(sdk: SDKSession) -> None:
    ops = zlists.RelatedListsOperations()
    found = module_param(zlists.GetRelatedListsParam, "Accounts")
    wrapper = called(ops.get_related_lists(found))
    lists = {r.get_api_name(): r for r in wrapper.get_related_lists()}
    assert set(lists) == {"Contacts", "Deals", "Tasks", "Calls", "Events", "Notes"}
    assert lists["Calls"].get_module().get_api_name() == "Calls"
    one = called(
        ops.get_related_list(
            int(lists["Notes"].get_id()), module_param(zlists.GetRelatedListParam, "Accounts")
        )
    )
    assert one.get_related_lists()[0].get_api_name() == "Notes"


# -- profiles, tags -------------------------------------------------------------------------------


def test_profiles_and_one_profile(sdk: SDKSession) -> None:
    ops = zprofiles.ProfilesOperations()
    wrapper = called(ops.get_profiles())
    by_name = {p.get_name(): p for p in wrapper.get_profiles()}
    assert set(by_name) == {"Administrator", "Standard"}
    admin_id = by_name["Administrator"].get_id()
    assert str(admin_id) == backend(sdk).current_user["profile"]["id"]
    one = called(ops.get_profile(int(admin_id)))
    assert one.get_profiles()[0].get_name() == "Administrator"


def test_tags(sdk: SDKSession) -> None:
    wrapper = called(ztags.TagsOperations().get_tags(module_param(ztags.GetTagsParam, "Accounts")))
    names = {t.get_name() for t in wrapper.get_tags()}
    assert names == {"Key Account", "Churn Risk", "Renewal"}
    assert wrapper.get_info().get_count() == 3
