"""Users, org and module metadata: what the official SDK reads before any record call."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sergas.sandbox import errors as E
from sergas.sandbox.meta_shapes import field_json, module_json

if TYPE_CHECKING:
    from sergas.sandbox.backend import Caller, Sandbox

METADATA_TIME = 1704067200.0  # 2024-01-01: module metadata never changes in the sandbox
USER_TYPES = ("AllUsers", "ActiveUsers", "CurrentUser")


def _not_modified(since: datetime | None) -> bool:
    return since is not None and since.timestamp() >= METADATA_TIME


class Metadata:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox

    async def users(self, caller: Caller, kind: str | None = None) -> list[dict[str, Any]]:
        """GET /crm/v8/users?type=AllUsers|ActiveUsers|CurrentUser."""
        async with self.sb.api_call(caller):
            self.sb.limits.charge(1)
            kind = kind or "AllUsers"
            if kind == "CurrentUser":
                return [u for u in self.sb.users if u["id"] == caller.user_id]
            if kind in ("AllUsers", "ActiveUsers"):
                return list(self.sb.users)
            raise E.InvalidData("invalid data", {"param_name": "type"})

    async def org(self, caller: Caller) -> dict[str, Any]:
        """GET /crm/v8/org."""
        async with self.sb.api_call(caller):
            self.sb.limits.charge(1)
            return self.sb.org

    async def modules(
        self, caller: Caller, *, modified_since: datetime | None = None
    ) -> list[dict[str, Any]] | None:
        """GET /crm/v8/settings/modules; None when nothing changed since `modified_since`."""
        async with self.sb.api_call(caller):
            self.sb.limits.charge(1)
            if _not_modified(modified_since):
                return None
            return [module_json(m) for m in self.sb.modules.values()]

    async def fields(
        self, caller: Caller, module_name: str | None, *, modified_since: datetime | None = None
    ) -> list[dict[str, Any]] | None:
        """GET /crm/v8/settings/fields?module=; None when nothing changed since then."""
        async with self.sb.api_call(caller):
            self.sb.limits.charge(1)
            if not module_name:
                raise E.RequiredParamMissing(details={"param_name": "module"})
            module = self.sb.module(module_name)
            if module is None:
                raise E.InvalidModule(details={"api_name": "module"})
            if _not_modified(modified_since):
                return None
            return [field_json(f, self.sb.modules) for f in module.fields]
