"""Users by type and id, and the /settings APIs: what they list, and how they refuse."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from starlette.applications import Starlette

from sergas.sandbox.backend import Sandbox

LATER = {"If-Modified-Since": "2040-01-01T00:00:00+00:00"}


@pytest.fixture
def sb(sandbox_app: Starlette) -> Sandbox:
    sandbox: Sandbox = sandbox_app.state.sandbox
    return sandbox


async def get(client: httpx2.AsyncClient, path: str, **params: Any) -> Any:
    response = await client.get(f"/crm/v8/{path}", params=params)
    return response.json() if response.content else response.status_code


# -- users ---------------------------------------------------------------------------------------


async def test_user_types(crm_client: httpx2.AsyncClient, sb: Sandbox) -> None:
    async def ids(kind: str) -> list[str]:
        found = await get(crm_client, "users", type=kind)
        return [] if found == 204 else [u["id"] for u in found["users"]]

    licensed = [u["id"] for u in sb.users]
    deactivated, invited = (u["id"] for u in sb.all_users[len(sb.users) :])
    assert await ids("AllUsers") == [*licensed, deactivated, invited]
    assert await ids("ActiveUsers") == [*licensed, invited]
    assert await ids("ActiveConfirmedUsers") == licensed
    assert await ids("ConfirmedUsers") == [*licensed, deactivated]
    assert await ids("DeactiveUsers") == [deactivated]
    assert await ids("NotConfirmedUsers") == [invited]
    assert await ids("AdminUsers") == await ids("ActiveConfirmedAdmins") == [licensed[0]]
    assert await ids("CurrentUser") == [licensed[0]]
    assert await ids("DeletedUsers") == []
    # Confirmed users who report to someone: all but the admin and the invited user.
    assert await ids("ConfirmedReportingUsers") == [*licensed[1:], deactivated]
    some = await get(crm_client, "users", type="AllUsers", ids=f"{licensed[2]},{invited}")
    assert [u["id"] for u in some["users"]] == [licensed[2], invited]
    bad = await get(crm_client, "users", type="Martians")
    assert (bad["code"], bad["details"]["param_name"]) == ("INVALID_DATA", "type")


async def test_users_page(crm_client: httpx2.AsyncClient, sb: Sandbox) -> None:
    first = await get(crm_client, "users", type="AllUsers", per_page=10)
    assert len(first["users"]) == 10 and first["info"]["more_records"] is True
    last = await get(crm_client, "users", type="AllUsers", per_page=10, page=3)
    assert len(last["users"]) == 2 and last["info"]["more_records"] is False
    assert await get(crm_client, "users", type="AllUsers", per_page=10, page=4) == 204


async def test_one_user_and_not_modified(crm_client: httpx2.AsyncClient, sb: Sandbox) -> None:
    deactivated = sb.all_users[len(sb.users)]
    found = await get(crm_client, f"users/{deactivated['id']}")
    assert found["users"] == [deactivated]
    assert await get(crm_client, "users/5725767000000000002") == 204
    unchanged = await crm_client.get(f"/crm/v8/users/{deactivated['id']}", headers=LATER)
    assert unchanged.status_code == 304
    listed = await crm_client.get("/crm/v8/users", params={"type": "AllUsers"}, headers=LATER)
    assert listed.status_code == 304


async def test_a_deactivated_user_owns_nothing_new(
    crm_client: httpx2.AsyncClient, sb: Sandbox
) -> None:
    deactivated = sb.all_users[len(sb.users)]
    body = {"data": [{"Account_Name": "Orphan Co", "Owner": {"id": deactivated["id"]}}]}
    response = await crm_client.post("/crm/v8/Accounts", json=body)
    assert response.json()["data"][0]["details"]["api_name"] == "Owner"


# -- modules and fields -------------------------------------------------------------------------


async def test_one_module(crm_client: httpx2.AsyncClient, sb: Sandbox) -> None:
    [leads] = (await get(crm_client, "settings/modules/leads"))["modules"]
    assert (leads["api_name"], leads["convertable"]) == ("Leads", True)
    assert [r["api_name"] for r in leads["related_lists"]] == ["Calls", "Events", "Notes"]
    [events] = (await get(crm_client, "settings/modules/Events"))["modules"]
    assert (events["singular_label"], events["plural_label"]) == ("Meeting", "Meetings")
    unknown = await get(crm_client, "settings/modules/Nope")
    assert unknown["code"] == "INVALID_MODULE"


async def test_one_field(crm_client: httpx2.AsyncClient, sb: Sandbox) -> None:
    what = sb.modules["Calls"].by_name["What_Id"]
    [field] = (await get(crm_client, f"settings/fields/{what.id}", module="Calls"))["fields"]
    assert (field["api_name"], field["data_type"]) == ("What_Id", "lookup")
    assert field["lookup"]["module"] == {"api_name": "se_module", "id": None}
    assert await get(crm_client, f"settings/fields/{what.id}", module="Accounts") == 204
    missing = await get(crm_client, f"settings/fields/{what.id}")
    assert missing["code"] == "REQUIRED_PARAM_MISSING"


@pytest.mark.parametrize("module", ["Leads", "Notes", "Calls", "Events"])
async def test_the_new_modules_fields(
    crm_client: httpx2.AsyncClient, sb: Sandbox, module: str
) -> None:
    fields = (await get(crm_client, "settings/fields", module=module))["fields"]
    assert [f["api_name"] for f in fields] == [f.api_name for f in sb.modules[module].fields]
    mandatory = {f["api_name"] for f in fields if f["system_mandatory"]}
    assert (
        mandatory
        == {
            "Leads": {"Last_Name", "Company"},
            "Notes": {"Note_Content"},
            "Calls": {"Subject", "Call_Type", "Call_Start_Time"},
            "Events": {"Event_Title", "Start_DateTime", "End_DateTime"},
        }[module]
    )


# -- layouts, custom views, related lists, profiles, tags ----------------------------------------


async def test_layouts(crm_client: httpx2.AsyncClient, sb: Sandbox) -> None:
    [layout] = (await get(crm_client, "settings/layouts", module="Leads"))["layouts"]
    [section] = layout["sections"]
    assert [f["api_name"] for f in section["fields"]] == [
        f.api_name for f in sb.modules["Leads"].fields
    ]
    assert set(layout["convert_mapping"]) == {"Contacts", "Deals", "Accounts"}
    [same] = (await get(crm_client, f"settings/layouts/{layout['id']}", module="Leads"))["layouts"]
    assert same == layout
    assert await get(crm_client, f"settings/layouts/{layout['id']}", module="Accounts") == 204


async def test_custom_views(crm_client: httpx2.AsyncClient, sb: Sandbox) -> None:
    body = await get(crm_client, "settings/custom_views", module="Tasks")
    names = [v["name"] for v in body["custom_views"]]
    assert names == ["All Tasks", "My Tasks", "Open Tasks"]
    assert body["info"]["default"] == body["custom_views"][0]["id"]
    mine = body["custom_views"][1]["id"]
    [view] = (await get(crm_client, f"settings/custom_views/{mine}", module="Tasks"))[
        "custom_views"
    ]
    assert view["criteria"]["value"] == "${CURRENTUSER}"
    assert await get(crm_client, f"settings/custom_views/{mine}", module="Deals") == 204


async def test_related_lists(crm_client: httpx2.AsyncClient) -> None:
    lists = (await get(crm_client, "settings/related_lists", module="Deals"))["related_lists"]
    assert [r["api_name"] for r in lists] == ["Calls", "Events", "Notes"]
    assert all(r["href"] for r in lists)
    assert await get(crm_client, "settings/related_lists", module="Notes") == 204
    [one] = (await get(crm_client, f"settings/related_lists/{lists[2]['id']}", module="Deals"))[
        "related_lists"
    ]
    assert one["api_name"] == "Notes"


async def test_profiles_and_tags(crm_client: httpx2.AsyncClient, sb: Sandbox) -> None:
    profiles = (await get(crm_client, "settings/profiles"))["profiles"]
    assert {p["id"] for p in profiles} == {u["profile"]["id"] for u in sb.users}
    [admin] = (await get(crm_client, f"settings/profiles/{sb.current_user['profile']['id']}"))[
        "profiles"
    ]
    assert admin["name"] == "Administrator"
    assert await get(crm_client, "settings/profiles/1") == 204
    tags = await get(crm_client, "settings/tags", module="Deals")
    assert [t["name"] for t in tags["tags"]] == ["Expansion", "Multi-year"]
    assert tags["info"] == {"count": 2, "allowed_count": 100}
    assert (await get(crm_client, "settings/tags", module="Calls"))["tags"] == []


@pytest.mark.parametrize("path", ["layouts", "custom_views", "related_lists", "tags", "fields"])
async def test_settings_need_a_known_module(crm_client: httpx2.AsyncClient, path: str) -> None:
    missing = await get(crm_client, f"settings/{path}")
    assert (missing["code"], missing["details"]) == (
        "REQUIRED_PARAM_MISSING",
        {"param_name": "module"},
    )
    unknown = await get(crm_client, f"settings/{path}", module="Nope")
    assert unknown["code"] == "INVALID_MODULE"


async def test_settings_cost_a_credit_each(crm_client: httpx2.AsyncClient) -> None:
    async def used() -> int:
        value: int = (await crm_client.get("/__sandbox/stats")).json()["credits"]["total_used"]
        return value

    before = await used()
    for path in ("layouts", "custom_views", "related_lists", "tags"):
        await get(crm_client, f"settings/{path}", module="Accounts")
    await get(crm_client, "settings/profiles")
    await get(crm_client, "settings/modules/Accounts")
    assert await used() - before == 6
