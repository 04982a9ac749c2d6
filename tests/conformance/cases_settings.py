"""Conformance cases: users, org and the /settings APIs."""

from __future__ import annotations

from typing import Any

import httpx2
from tests.conformance.cases import Ctx, case

# -- users, org, modules, fields ----------------------------------------------------------------

USERS = ("users.json", "/crm/v8/users", "get", "get_users")


@case(*USERS, "current_user", 200)
async def _(c: Ctx) -> httpx2.Response:
    return await c.client.get("/crm/v8/users", params={"type": "CurrentUser"})


@case(*USERS, "all_users", 200)
async def _(c: Ctx) -> httpx2.Response:
    return await c.client.get("/crm/v8/users", params={"type": "AllUsers"})


@case(*USERS, "invalid_type", 400, valid_request=False)
async def _(c: Ctx) -> httpx2.Response:
    return await c.client.get("/crm/v8/users", params={"type": "Martians"})


@case("org.json", "/crm/v8/org", "get", "get_org", "org", 200)
async def _(c: Ctx) -> httpx2.Response:
    return await c.client.get("/crm/v8/org")


@case("modules.json", "/crm/v8/settings/modules", "get", "get_modules", "all", 200)
async def _(c: Ctx) -> httpx2.Response:
    return await c.client.get("/crm/v8/settings/modules")


FIELDS_OP = ("fields.json", "/crm/v8/settings/fields", "get", "get_fields")


@case(*FIELDS_OP, "accounts", 200)
async def _(c: Ctx) -> httpx2.Response:
    return await c.client.get("/crm/v8/settings/fields", params={"module": "Accounts"})


@case(*FIELDS_OP, "missing_module", 400, valid_request=False)
async def _(c: Ctx) -> httpx2.Response:
    return await c.client.get("/crm/v8/settings/fields")


@case(*FIELDS_OP, "invalid_module", 400)
async def _(c: Ctx) -> httpx2.Response:
    return await c.client.get("/crm/v8/settings/fields", params={"module": "Nope"})


# -- users: the other types, one user, If-Modified-Since -----------------------------------------

LATER = {"If-Modified-Since": "2031-01-01T00:00:00+00:00"}


def _users(kind: str) -> Any:
    async def send(c: Ctx) -> httpx2.Response:
        return await c.client.get("/crm/v8/users", params={"type": kind})

    return send


for _kind, _status in (
    ("ActiveUsers", 200),
    ("DeactiveUsers", 200),
    ("NotConfirmedUsers", 200),
    ("ConfirmedUsers", 200),
    ("ActiveConfirmedUsers", 200),
    ("AdminUsers", 200),
    ("ActiveConfirmedAdmins", 200),
    ("DeletedUsers", 204),
):
    case(*USERS, _kind.lower(), _status)(_users(_kind))


@case(*USERS, "not_modified_since", 304)
async def _(c: Ctx) -> httpx2.Response:
    return await c.client.get("/crm/v8/users", params={"type": "ActiveUsers"}, headers=LATER)


@case(*USERS, "paged", 200)
async def _(c: Ctx) -> httpx2.Response:
    return await c.client.get("/crm/v8/users", params={"type": "ActiveUsers", "per_page": 5})


USER = ("users.json", "/crm/v8/users/{user}", "get", "get_user")


@case(*USER, "found", 200)
async def _(c: Ctx) -> httpx2.Response:
    return await c.client.get(f"/crm/v8/users/{c.sandbox.users[3]['id']}")


@case(*USER, "unknown", 204)
async def _(c: Ctx) -> httpx2.Response:
    return await c.client.get("/crm/v8/users/5725767000000000002")


@case(*USER, "not_modified_since", 304)
async def _(c: Ctx) -> httpx2.Response:
    return await c.client.get(f"/crm/v8/users/{c.sandbox.users[3]['id']}", headers=LATER)


# -- modules/{api_name}, fields/{id} --------------------------------------------------------------

MODULE = ("modules.json", "/crm/v8/settings/modules/{api_name}", "get", "get_module_by_api_name")

for _module in ("Accounts", "Leads", "Notes", "Calls", "Events"):

    def _get_module(c: Ctx, module: str = _module) -> Any:
        return c.client.get(f"/crm/v8/settings/modules/{module}")

    case(*MODULE, _module.lower(), 200)(_get_module)


@case(*MODULE, "unknown", 400)
async def _(c: Ctx) -> httpx2.Response:
    return await c.client.get("/crm/v8/settings/modules/Nope")


FIELD = ("fields.json", "/crm/v8/settings/fields/{field}", "get", "get_field")


@case(*FIELD, "found", 200)
async def _(c: Ctx) -> httpx2.Response:
    field = c.sandbox.modules["Calls"].by_name["What_Id"]
    return await c.client.get(f"/crm/v8/settings/fields/{field.id}", params={"module": "Calls"})


@case(*FIELD, "unknown", 204)
async def _(c: Ctx) -> httpx2.Response:
    return await c.client.get("/crm/v8/settings/fields/1", params={"module": "Accounts"})


@case(*FIELD, "missing_module", 400, valid_request=False)
async def _(c: Ctx) -> httpx2.Response:
    field = c.sandbox.modules["Accounts"].fields[1]
    return await c.client.get(f"/crm/v8/settings/fields/{field.id}")


for _module in ("Leads", "Notes", "Calls", "Events"):

    def _get_fields(c: Ctx, module: str = _module) -> Any:
        return c.client.get("/crm/v8/settings/fields", params={"module": module})

    case(*FIELDS_OP, _module.lower(), 200)(_get_fields)


# -- layouts, custom views, related lists, profiles, tags ----------------------------------------


def _settings(path: str, params: dict[str, str] | None = None) -> Any:
    async def send(c: Ctx) -> httpx2.Response:
        return await c.client.get(path, params=params)

    return send


def _last(c: Ctx, kind: str, module: str) -> Any:
    """The id of the module's last layout, view or related list (the last view has a
    criteria)."""

    async def first() -> str:
        body = (await c.client.get(f"/crm/v8/settings/{kind}", params={"module": module})).json()
        found: str = body[kind][-1]["id"]
        return found

    return first()


SETTINGS: dict[str, tuple[str, str]] = {
    "layouts": ("layouts.json", "get_layouts"),
    "custom_views": ("custom_views.json", "get_custom_views"),
    "related_lists": ("related_lists.json", "get_related_lists"),
    "tags": ("tags.json", "get_tags"),
}
for _kind, (_spec, _operation) in SETTINGS.items():
    _path = f"/crm/v8/settings/{_kind}"
    case(_spec, _path, "get", _operation, "accounts", 200)(_settings(_path, {"module": "Accounts"}))
    case(_spec, _path, "get", _operation, "leads", 200)(_settings(_path, {"module": "Leads"}))
    case(_spec, _path, "get", _operation, "missing_module", 400, valid_request=False)(
        _settings(_path)
    )
    case(_spec, _path, "get", _operation, "unknown_module", 400)(
        _settings(_path, {"module": "Nope"})
    )

case(
    "related_lists.json",
    "/crm/v8/settings/related_lists",
    "get",
    "get_related_lists",
    "module_with_none",
    204,
)(_settings("/crm/v8/settings/related_lists", {"module": "Tasks"}))

for _kind, _spec, _operation in (
    ("layouts", "layouts.json", "get_layout"),
    ("custom_views", "custom_views.json", "get_custom_view"),
    ("related_lists", "related_lists.json", "get_related_list"),
):
    _path = f"/crm/v8/settings/{_kind}/{{id}}"

    async def _found(c: Ctx, kind: str = _kind) -> httpx2.Response:
        item = await _last(c, kind, "Accounts")
        return await c.client.get(f"/crm/v8/settings/{kind}/{item}", params={"module": "Accounts"})

    async def _unknown(c: Ctx, kind: str = _kind) -> httpx2.Response:
        return await c.client.get(f"/crm/v8/settings/{kind}/1", params={"module": "Accounts"})

    case(_spec, _path, "get", _operation, "found", 200)(_found)
    case(_spec, _path, "get", _operation, "unknown", 204)(_unknown)

PROFILES = ("profiles.json", "/crm/v8/settings/profiles", "get", "get_profiles")
case(*PROFILES, "all", 200)(_settings("/crm/v8/settings/profiles"))
PROFILE = ("profiles.json", "/crm/v8/settings/profiles/{id}", "get", "get_profile")


@case(*PROFILE, "found", 200)
async def _(c: Ctx) -> httpx2.Response:
    profile_id = c.sandbox.users[1]["profile"]["id"]
    return await c.client.get(f"/crm/v8/settings/profiles/{profile_id}")


case(*PROFILE, "unknown", 204)(_settings("/crm/v8/settings/profiles/1"))
