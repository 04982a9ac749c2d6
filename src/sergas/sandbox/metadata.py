"""Users, org and the /settings APIs: one method per Zoho operation, 1 credit each.

Metadata never changes in the sandbox (modules, fields, layouts, views, lists, profiles and
tags date from 2024-01-01; users from their seeded `modified_time`), so an
`If-Modified-Since` at or after that answers 304 (None here) where Zoho documents the header.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sergas.sandbox import errors as E
from sergas.sandbox.meta_shapes import field_json, module_json
from sergas.sandbox.relations import RELATIONS, related_list_json
from sergas.sandbox.schema import Module
from sergas.sandbox.seed.people import PROFILE_IDS
from sergas.sandbox.setup_meta import layout_id, layout_json, profile_json, tags_json
from sergas.sandbox.views import VIEWS_OF, view_json, view_summary

if TYPE_CHECKING:
    from sergas.sandbox.backend import Caller, Sandbox

METADATA_TIME = 1704067200.0  # 2024-01-01
User = dict[str, Any]


def _admin(u: User) -> bool:
    return bool(u["profile"]["name"] == "Administrator")


def _active(u: User) -> bool:
    return bool(u["status"] == "active")


# Zoho's user types (GET /users?type=...), CurrentUser aside.
USER_TYPES: dict[str, Any] = {
    "AllUsers": lambda u: u["status"] != "deleted",
    "ActiveUsers": _active,
    "DeactiveUsers": lambda u: u["status"] == "disabled",
    "ConfirmedUsers": lambda u: u["confirm"],
    "ConfirmedReportingUsers": lambda u: u["confirm"] and u["Reporting_To"] is not None,
    "NotConfirmedUsers": lambda u: not u["confirm"],
    "DeletedUsers": lambda u: u["status"] == "deleted",
    "ActiveConfirmedUsers": lambda u: _active(u) and u["confirm"],
    "AdminUsers": _admin,
    "ActiveConfirmedAdmins": lambda u: _admin(u) and _active(u) and u["confirm"],
}


def _not_modified(since: datetime | None, modified: float = METADATA_TIME) -> bool:
    return since is not None and since.timestamp() >= modified


def _user_time(user: User) -> float:
    return datetime.fromisoformat(user["modified_time"]).timestamp()


class Metadata:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox

    # -- users and org ---------------------------------------------------------------------

    async def users(
        self,
        caller: Caller,
        kind: str | None = None,
        *,
        ids: Sequence[str] | None = None,
        modified_since: datetime | None = None,
    ) -> list[User] | None:
        """GET /crm/v8/users?type=...&ids=...; None when no user changed since
        `modified_since`."""
        async with self.sb.api_call(caller):
            self.sb.limits.charge(1)
            kind = kind or "AllUsers"
            if kind == "CurrentUser":
                found = [u for u in self.sb.all_users if u["id"] == caller.user_id]
            elif kind in USER_TYPES:
                found = [u for u in self.sb.all_users if USER_TYPES[kind](u)]
            else:
                raise E.InvalidData(
                    "invalid data",
                    {"param_name": "type", "supported_values": ["CurrentUser", *USER_TYPES]},
                )
            if ids:
                found = [u for u in found if u["id"] in set(ids)]
            if modified_since is not None:
                found = [u for u in found if not _not_modified(modified_since, _user_time(u))]
                if not found:
                    return None
            return found

    async def user(
        self, caller: Caller, user_id: str, *, modified_since: datetime | None = None
    ) -> User | None:
        """GET /crm/v8/users/{id}: the user; {} for an unknown id (Zoho's 204), None when
        it has not changed since `modified_since` (304)."""
        async with self.sb.api_call(caller):
            self.sb.limits.charge(1)
            user = self.sb.user(user_id)
            if user is None:
                return {}
            if _not_modified(modified_since, _user_time(user)):
                return None
            return user

    async def org(self, caller: Caller) -> dict[str, Any]:
        """GET /crm/v8/org."""
        async with self.sb.api_call(caller):
            self.sb.limits.charge(1)
            return self.sb.org

    # -- modules and fields ----------------------------------------------------------------

    async def modules(
        self, caller: Caller, *, modified_since: datetime | None = None
    ) -> list[dict[str, Any]] | None:
        """GET /crm/v8/settings/modules; None when nothing changed since `modified_since`."""
        async with self.sb.api_call(caller):
            self.sb.limits.charge(1)
            if _not_modified(modified_since):
                return None
            return [module_json(m) for m in self.sb.modules.values()]

    async def module(self, caller: Caller, api_name: str) -> dict[str, Any]:
        """GET /crm/v8/settings/modules/{api_name}: the module, its related lists and
        layouts (its fields are GET /settings/fields')."""
        async with self.sb.api_call(caller):
            self.sb.limits.charge(1)
            module = self.sb.module(api_name)
            if module is None:
                raise E.InvalidModule(details={"resource_path_index": 2})
            body = module_json(module)
            body["related_lists"] = [related_list_json(r) for r in RELATIONS[module.api_name]]
            body["layouts"] = [{"name": "Standard", "id": layout_id(module)}]
            return body

    async def fields(
        self, caller: Caller, module_name: str | None, *, modified_since: datetime | None = None
    ) -> list[dict[str, Any]] | None:
        """GET /crm/v8/settings/fields?module=; None when nothing changed since then."""
        async with self.sb.api_call(caller):
            self.sb.limits.charge(1)
            module = self._module_param(module_name)
            if _not_modified(modified_since):
                return None
            return [field_json(f, self.sb.modules) for f in module.fields]

    async def field(self, caller: Caller, field_id: str, module_name: str | None) -> Any:
        """GET /crm/v8/settings/fields/{id}?module=: the field, or None (Zoho's 204)."""
        async with self.sb.api_call(caller):
            self.sb.limits.charge(1)
            module = self._module_param(module_name)
            found = next((f for f in module.fields if f.id == field_id), None)
            return None if found is None else field_json(found, self.sb.modules)

    # -- layouts, custom views, related lists ----------------------------------------------

    async def layouts(self, caller: Caller, module_name: str | None) -> list[dict[str, Any]]:
        """GET /crm/v8/settings/layouts?module=."""
        async with self.sb.api_call(caller):
            self.sb.limits.charge(1)
            module = self._module_param(module_name)
            return [layout_json(module, self.sb.current_user)]

    async def layout(self, caller: Caller, layout: str, module_name: str | None) -> Any:
        """GET /crm/v8/settings/layouts/{id}?module=: the layout, or None (204)."""
        async with self.sb.api_call(caller):
            self.sb.limits.charge(1)
            module = self._module_param(module_name)
            if layout != layout_id(module):
                return None
            return layout_json(module, self.sb.current_user)

    async def custom_views(self, caller: Caller, module_name: str | None) -> list[dict[str, Any]]:
        """GET /crm/v8/settings/custom_views?module=."""
        async with self.sb.api_call(caller):
            self.sb.limits.charge(1)
            module = self._module_param(module_name)
            admin = self.sb.current_user
            return [view_summary(v, admin) for v in VIEWS_OF[module.api_name]]

    async def custom_view(self, caller: Caller, cvid: str, module_name: str | None) -> Any:
        """GET /crm/v8/settings/custom_views/{id}?module=: the view, or None (204)."""
        async with self.sb.api_call(caller):
            self.sb.limits.charge(1)
            module = self._module_param(module_name)
            view = next((v for v in VIEWS_OF[module.api_name] if v.id == cvid), None)
            return None if view is None else view_json(view, module, self.sb.current_user)

    async def related_lists(
        self, caller: Caller, module_name: str | None
    ) -> list[dict[str, Any]] | None:
        """GET /crm/v8/settings/related_lists?module=; None (204) for a module with none."""
        async with self.sb.api_call(caller):
            self.sb.limits.charge(1)
            module = self._module_param(module_name)
            found = [related_list_json(r) for r in RELATIONS[module.api_name]]
            return found or None

    async def related_list(self, caller: Caller, list_id: str, module_name: str | None) -> Any:
        """GET /crm/v8/settings/related_lists/{id}?module=: the list, or None (204)."""
        async with self.sb.api_call(caller):
            self.sb.limits.charge(1)
            module = self._module_param(module_name)
            found = next((r for r in RELATIONS[module.api_name] if r.id == list_id), None)
            return None if found is None else related_list_json(found)

    # -- profiles and tags -----------------------------------------------------------------

    async def profiles(self, caller: Caller, profile_id: str | None = None) -> Any:
        """GET /crm/v8/settings/profiles, or /profiles/{id} (None for an unknown id: 204)."""
        async with self.sb.api_call(caller):
            self.sb.limits.charge(1)
            admin = self.sb.current_user
            found = [
                profile_json(name, pid, admin)
                for name, pid in PROFILE_IDS.items()
                if profile_id is None or pid == profile_id
            ]
            return found or None

    async def tags(self, caller: Caller, module_name: str | None) -> list[dict[str, Any]]:
        """GET /crm/v8/settings/tags?module=."""
        async with self.sb.api_call(caller):
            self.sb.limits.charge(1)
            module = self._module_param(module_name)
            return tags_json(module, self.sb.current_user)

    def _module_param(self, name: str | None) -> Module:
        """The `module` query parameter the /settings APIs require."""
        if not name:
            raise E.RequiredParamMissing(details={"param_name": "module"})
        module = self.sb.module(name)
        if module is None:
            # fields.json documents api_name here, Zoho's /settings operation docs param_name.
            raise E.InvalidModule(details={"api_name": "module", "param_name": "module"})
        return module
