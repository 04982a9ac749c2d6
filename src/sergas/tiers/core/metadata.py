"""What a tier learns about the org once and keeps: fields per module, users, the org's zgid.

Field metadata (1 credit per module) gives the default column list (Zoho requires `fields` on
list calls and COQL; at most 50) and the types that turn Bulk Read's CSV text back into JSON
values. COQL shows a user lookup (Owner, Created_By, …) as `{"name","id"}` where the records
API adds "email"; `with_owner_emails` aligns on the latter, so a record looks the same
whichever read served it:

- a tier with a users call (`UserDirectory`) reads every user once (1 credit per 200);
- one without (MCP: Zoho's MCP tools include no users call) reads a user's lookup from one
  record that points at them: a search `(Field:equals:<user id>)`, one record, that field
  only (1 credit per user, once per client).

Each is fetched at most once per client, even under concurrent first use.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sergas.errors import NotFoundError
from sergas.query import F, api_name
from sergas.tiers.base import Record
from sergas.tiers.core.bulk_files import OWNER_TYPES
from sergas.tiers.core.primitives import BulkWriteJobs, PageQuery, Primitives, UserDirectory
from sergas.zoho_limits import MAX_FIELDS

__all__ = ["Metadata"]


class Metadata:
    def __init__(self, tier: Primitives) -> None:
        self.tier = tier
        self.directory = tier if isinstance(tier, UserDirectory) else None
        self._fields: dict[str, list[dict[str, Any]]] = {}
        self._users: dict[str, dict[str, Any]] | None = None
        self._learned: dict[str, dict[str, Any] | None] = {}  # None: looked for, not found
        self._zgid: str | None = None
        self._lock = asyncio.Lock()
        self._user_lock = asyncio.Lock()

    async def fields(self, module: str) -> list[dict[str, Any]]:
        """The module's fields as GET /settings/fields returns them."""
        module = api_name(module)
        if module not in self._fields:
            async with self._lock:
                if module not in self._fields:
                    found = await self.tier.fields(module)
                    self._fields[module] = [f for f in found if isinstance(f, dict)]
        return self._fields[module]

    async def field_types(self, module: str) -> dict[str, dict[str, Any]]:
        return {f["api_name"]: f for f in await self.fields(module) if f.get("api_name")}

    async def default_fields(self, module: str) -> list[str]:
        """Every field but `id` (always returned), within Zoho's 50-field cap."""
        names = [f["api_name"] for f in await self.fields(module) if f.get("api_name") != "id"]
        return names[:MAX_FIELDS]

    async def owner_fields(self, module: str) -> list[str]:
        types = await self.field_types(module)
        return [n for n, f in types.items() if f.get("data_type") in OWNER_TYPES]

    async def users(self) -> dict[str, dict[str, Any]]:
        """Owner lookups by user id: `{"name": full name, "id", "email"}` (a users call)."""
        if self.directory is None:
            return {}
        if self._users is None:
            async with self._user_lock:
                if self._users is None:
                    self._users = await self._load_users(self.directory)
        return self._users

    async def _load_users(self, directory: UserDirectory) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        page = 1
        while True:
            users, more = await directory.users_page(page)
            for user in users:
                user_id = str(user["id"])
                ref = {"name": user.get("full_name"), "id": user_id}
                if user.get("email"):
                    ref["email"] = user["email"]
                found[user_id] = ref
            if not more:
                return found
            page += 1

    async def with_owner_emails(self, module: str, records: list[Record]) -> list[Record]:
        """COQL rows with each user lookup as the records API shows it (with email)."""
        owners = await self.owner_fields(module)
        present = [n for n in owners if any(_ref(r.get(n)) for r in records)]
        if not present:
            return records
        if self.directory is not None:
            known: dict[str, dict[str, Any] | None] = dict(await self.users())
        else:
            known = await self._learn(module, present, records)
        for record in records:
            for name in present:
                user = known.get(_ref(record.get(name)) or "")
                if user is not None:
                    record[name] = dict(user)
        return records

    async def _learn(
        self, module: str, present: list[str], records: list[Record]
    ) -> dict[str, dict[str, Any] | None]:
        """Each user's lookup from one record that points at them (no users call)."""
        wanted = {(name, ref) for r in records for name in present if (ref := _ref(r.get(name)))}
        async with self._user_lock:
            for name, user_id in sorted(wanted):
                if user_id in self._learned:
                    continue
                self._learned[user_id] = None
                page = await self.tier.search_page(
                    PageQuery(module, [name], per_page=1, criteria=(F(name) == user_id).to_search())
                )
                for record in page.records:
                    lookup = record.get(name)
                    if isinstance(lookup, dict) and str(lookup.get("id")) == user_id:
                        self._learned[user_id] = lookup
        return self._learned

    async def org_zgid(self, jobs: BulkWriteJobs) -> str:
        if self._zgid is None:
            zgid = await jobs.org_zgid()
            if not zgid:
                raise NotFoundError("Zoho returned no organisation for this token")
            self._zgid = zgid
        return self._zgid


def _ref(value: Any) -> str | None:
    """The user id of a lookup value, if it is one."""
    if isinstance(value, dict) and value.get("id") is not None:
        return str(value["id"])
    return None
