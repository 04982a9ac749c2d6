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

Each is fetched at most once per client, even under concurrent first use. A copy older than
`max_age` (METADATA_MAX_AGE) is checked again on its next use: the read sends
If-Modified-Since (the time the copy was asked for), and Zoho's 304 keeps the copy (a tier
that cannot send the header, such as the SDK's fields call or MCP's describe_module, reads it
in full). For users, Zoho answers only the users changed since then, merged into the copy.
`revalidated` counts the 304s.

`find_users` looks users up in that copy (a users call is needed: UnsupportedError without).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sergas.errors import InvalidDataError, NotFoundError, UnsupportedError
from sergas.query import F, api_name
from sergas.tiers.base import Record
from sergas.tiers.core.bulk_files import OWNER_TYPES
from sergas.tiers.core.primitives import BulkWriteJobs, PageQuery, Primitives, UserDirectory
from sergas.zoho_limits import MAX_FIELDS

__all__ = ["METADATA_MAX_AGE", "Metadata"]

# Seconds a copy is used as it is before Zoho is asked whether it changed. Fields and users
# change rarely (an admin's edit); five minutes keeps a long-running process current at one
# credit per module per five minutes at most.
METADATA_MAX_AGE = 300.0


T = TypeVar("T")


@dataclass
class _Copy(Generic[T]):
    value: T
    asked: datetime  # when the request that filled it was sent: the next If-Modified-Since
    checked: float = field(default_factory=time.monotonic)

    def stale(self, max_age: float) -> bool:
        return time.monotonic() - self.checked >= max_age


class Metadata:
    def __init__(self, tier: Primitives, max_age: float = METADATA_MAX_AGE) -> None:
        self.tier = tier
        self.max_age = max_age
        self.directory = tier if isinstance(tier, UserDirectory) else None
        self.revalidated = 0  # Zoho's 304s: copies kept
        self._fields: dict[str, _Copy[list[dict[str, Any]]]] = {}
        self._users: _Copy[dict[str, dict[str, Any]]] | None = None
        self._learned: dict[str, dict[str, Any] | None] = {}  # None: looked for, not found
        self._zgid: str | None = None
        self._lock = asyncio.Lock()
        self._user_lock = asyncio.Lock()

    async def fields(self, module: str) -> list[dict[str, Any]]:
        """The module's fields as GET /settings/fields returns them."""
        module = api_name(module)
        held = self._fields.get(module)
        if held is None or held.stale(self.max_age):
            async with self._lock:
                held = self._fields.get(module)
                if held is None or held.stale(self.max_age):
                    asked = datetime.now(UTC)
                    found = await self.tier.fields(module, held.asked if held else None)
                    if found is None and held is not None:
                        self.revalidated += 1
                        held.checked = time.monotonic()
                    else:
                        fresh = [f for f in found or [] if isinstance(f, dict)]
                        held = self._fields[module] = _Copy(fresh, asked)
        return held.value

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
        return {
            uid: _user_ref(user) for uid, user in (await self._all_users(self.directory)).items()
        }

    async def find_users(self, query: str) -> list[dict[str, Any]]:
        """Users as Zoho gives them whose email is `query` (case-insensitive) or whose name
        contains it (case-insensitive); [] when none match."""
        wanted = query.strip().casefold()
        if not wanted:
            raise InvalidDataError(
                "give an email or part of a user's name to look for",
                details={"param_name": "query"},
            )
        if self.directory is None:
            raise UnsupportedError(
                f"the {self.tier.name} tier has no users call; use the sdk or rest tier",
                details={"tier": self.tier.name, "operation": "find_users"},
            )
        users = (await self._all_users(self.directory)).values()
        if "@" in wanted:
            return [dict(u) for u in users if str(u.get("email") or "").casefold() == wanted]
        return [dict(u) for u in users if wanted in _names(u)]

    async def _all_users(self, directory: UserDirectory) -> dict[str, dict[str, Any]]:
        held = self._users
        if held is None or held.stale(self.max_age):
            async with self._user_lock:
                held = self._users
                if held is None or held.stale(self.max_age):
                    asked = datetime.now(UTC)
                    changed = await _read_users(directory, held.asked if held else None)
                    if changed is None and held is not None:
                        self.revalidated += 1
                        held.checked = time.monotonic()
                    else:
                        merged = {**(held.value if held else {}), **(changed or {})}
                        held = self._users = _Copy(merged, asked)
        return held.value

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


async def _read_users(
    directory: UserDirectory, since: datetime | None
) -> dict[str, dict[str, Any]] | None:
    """Every user (changed after `since`, when given) by id; None for Zoho's 304."""
    found: dict[str, dict[str, Any]] = {}
    page = 1
    while True:
        answer = await directory.users_page(page, since)
        if answer is None:
            return None if page == 1 else found
        users, more = answer
        found.update({str(u["id"]): u for u in users if u.get("id") is not None})
        if not more:
            return found
        page += 1


def _user_ref(user: dict[str, Any]) -> dict[str, Any]:
    ref = {"name": user.get("full_name"), "id": str(user["id"])}
    if user.get("email"):
        ref["email"] = user["email"]
    return ref


def _names(user: dict[str, Any]) -> str:
    """The user's names, folded, for a part-of-a-name match."""
    parts = (user.get("full_name"), user.get("first_name"), user.get("last_name"))
    return " | ".join(str(p) for p in parts if p).casefold()


def _ref(value: Any) -> str | None:
    """The user id of a lookup value, if it is one."""
    if isinstance(value, dict) and value.get("id") is not None:
        return str(value["id"])
    return None
