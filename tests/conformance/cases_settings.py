"""Conformance cases: users, org and the /settings APIs."""

from __future__ import annotations

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
