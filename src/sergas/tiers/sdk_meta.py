"""What the SDK tier learns about the org once per client, through the SDK: fields per
module, users, and the org's zgid.

Field metadata (1 credit per module) gives the default column list (Zoho requires `fields`
on list calls), the types that make a plain update acceptable to the SDK, and the types
that turn Bulk Read's CSV text into JSON values. Users (1 credit per 200) give COQL's owners
(`{"name","id"}`) the `email` the records API shows. The zgid goes into Bulk Write's
`X-CRM-ORG` header. Each is fetched at most once, even under concurrent first use.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

from zohocrmsdk.src.com.zoho.crm.api.fields import FieldsOperations, GetFieldsParam
from zohocrmsdk.src.com.zoho.crm.api.org import OrgOperations
from zohocrmsdk.src.com.zoho.crm.api.users import GetUsersParam, UsersOperations

from sergas.errors import NotFoundError
from sergas.query import api_name
from sergas.tiers.base import Record
from sergas.tiers.sdk_convert import USER_TYPES, FieldInfo, field_info, to_plain
from sergas.tiers.sdk_runtime import parameters

__all__ = ["MAX_FIELDS", "SDKCall", "SDKMetadata"]

MAX_FIELDS = 50  # Zoho's cap on `fields` (records API) and on COQL columns


class SDKCall(Protocol):
    """The client's way of running an SDK operation in a worker thread (`ZohoSDKClient.run`)."""

    async def __call__(
        self,
        call: Callable[..., Any],
        *args: Any,
        after: Callable[[Any], Any] | None = None,
        heavy: bool = False,
        idempotent: bool = True,
        with_status: bool = False,
    ) -> Any: ...


def _plain_list(items: Any) -> list[dict[str, Any]]:
    return [p for p in (to_plain(i) for i in items or []) if isinstance(p, dict)]


class SDKMetadata:
    def __init__(self, run: SDKCall) -> None:
        self.run = run
        self._fields: dict[str, list[dict[str, Any]]] = {}
        self._users: dict[str, dict[str, Any]] | None = None
        self._zgid: str | None = None
        self._lock = asyncio.Lock()

    async def fields(self, module: str) -> list[dict[str, Any]]:
        """The module's fields, as GET /settings/fields returns them."""
        module = api_name(module)
        if module not in self._fields:
            async with self._lock:
                if module not in self._fields:
                    self._fields[module] = await self.run(
                        FieldsOperations().get_fields,
                        parameters((GetFieldsParam.module, module)),
                        after=lambda m: _plain_list(m.get_fields() if m is not None else []),
                    )
        return self._fields[module]

    async def infos(self, module: str) -> dict[str, FieldInfo]:
        return {f["api_name"]: field_info(f) for f in await self.fields(module)}

    async def default_fields(self, module: str) -> list[str]:
        """Every field but `id` (always returned), within Zoho's 50-field cap."""
        names = [f["api_name"] for f in await self.fields(module) if f["api_name"] != "id"]
        return names[:MAX_FIELDS]

    async def users(self) -> dict[str, dict[str, Any]]:
        """Owner lookups by user id: `{"name": full name, "id", "email"}`."""
        if self._users is None:
            async with self._lock:
                if self._users is None:
                    self._users = await self._load_users()
        return self._users

    async def _load_users(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        page = 1
        while True:
            params = parameters(
                (GetUsersParam.type, "AllUsers"),
                (GetUsersParam.page, page),
                (GetUsersParam.per_page, 200),
            )
            users, more = await self.run(UsersOperations().get_users, params, after=_users_page)
            for user in users:
                ref = {"name": user.get("full_name"), "id": str(user["id"])}
                if user.get("email"):
                    ref["email"] = user["email"]
                found[ref["id"]] = ref
            if not more:
                return found
            page += 1

    async def zgid(self) -> str:
        if self._zgid is None:
            orgs = await self.run(
                OrgOperations().get_organization,
                after=lambda m: _plain_list(m.get_org() if m is not None else []),
            )
            if not orgs or not orgs[0].get("zgid"):
                raise NotFoundError("Zoho returned no organisation for this token")
            self._zgid = str(orgs[0]["zgid"])
        return self._zgid

    async def with_owner_emails(self, module: str, records: list[Record]) -> list[Record]:
        """COQL shows owners as {"name","id"}; the records API adds "email". Align on the
        latter, as the REST tier does, so every record this tier returns has one shape."""
        infos = await self.infos(module)
        owners = [n for n, f in infos.items() if f.data_type in USER_TYPES]
        present = [n for n in owners if any(isinstance(r.get(n), dict) for r in records)]
        if not present:
            return records
        users = await self.users()
        for record in records:
            for name in present:
                value = record.get(name)
                if isinstance(value, dict) and value.get("id") is not None:
                    known = users.get(str(value["id"]))
                    if known is not None:
                        record[name] = dict(known)
        return records


def _users_page(model: Any) -> tuple[list[dict[str, Any]], bool]:
    if model is None:
        return [], False
    info = model.get_info()
    return _plain_list(model.get_users()), bool(info is not None and info.get_more_records())
