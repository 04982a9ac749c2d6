"""What the MCP tier learns once and keeps: each module's fields, and users' lookups.

Fields come from describe_module (once per module). They give the default column list (Zoho
requires one for list_records and COQL) and which fields are user lookups.

COQL shows a user lookup (Owner, Created_By, ...) as `{"name","id"}`; the records API adds
`"email"`. Zoho's MCP tools include no users call, so a user's lookup is read from one record
that points at them: search_records `(Field:equals:<user id>)`, one record, that field only
(1 credit per user, once per client). COQL rows are then given the records API's lookups, so
a record looks the same whichever read served it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from sergas.query import F
from sergas.tiers.base import Record

__all__ = ["MAX_FIELDS", "OWNER_TYPES", "Metadata"]

MAX_FIELDS = 50  # Zoho's cap on `fields` and on COQL columns
OWNER_TYPES = frozenset({"ownerlookup", "userlookup"})

Call = Callable[..., Awaitable[dict[str, Any]]]


class Metadata:
    """`call(tool, **arguments)` is the client's permission-checked, retried tool call."""

    def __init__(self, call: Call) -> None:
        self._call = call
        self._fields: dict[str, list[dict[str, Any]]] = {}
        self._users: dict[str, dict[str, Any] | None] = {}  # None: looked for, not found
        self._lock = asyncio.Lock()
        self._user_lock = asyncio.Lock()

    async def fields(self, module: str) -> list[dict[str, Any]]:
        """The module's fields as describe_module returns them."""
        if module not in self._fields:
            async with self._lock:
                if module not in self._fields:
                    body = await self._call("describe_module", module=module)
                    self._fields[module] = [
                        f for f in body.get("fields") or [] if isinstance(f, dict)
                    ]
        return self._fields[module]

    async def default_fields(self, module: str) -> list[str]:
        """Every field but `id` (always returned), within Zoho's 50-field cap."""
        names = [f["api_name"] for f in await self.fields(module) if f.get("api_name") != "id"]
        return names[:MAX_FIELDS]

    async def with_user_lookups(self, module: str, rows: list[Record]) -> list[Record]:
        """COQL rows with each user lookup as the records API shows it (with email)."""
        users = [
            f["api_name"]
            for f in await self.fields(module)
            if f.get("data_type") in OWNER_TYPES and any(_ref(r.get(f["api_name"])) for r in rows)
        ]
        if not users:
            return rows
        wanted = {(name, ref) for r in rows for name in users if (ref := _ref(r.get(name)))}
        async with self._user_lock:
            for name, user_id in sorted(wanted):
                if user_id not in self._users:
                    await self._learn(module, name, user_id)
        for row in rows:
            for name in users:
                known = self._users.get(_ref(row.get(name)) or "")
                if known is not None:
                    row[name] = dict(known)
        return rows

    async def _learn(self, module: str, field: str, user_id: str) -> None:
        self._users[user_id] = None
        body = await self._call(
            "search_records",
            module=module,
            criteria=(F(field) == user_id).to_search(),
            per_page=1,
            fields=[field],
        )
        for record in body.get("data") or []:
            lookup = record.get(field)
            if isinstance(lookup, dict) and str(lookup.get("id")) == user_id:
                self._users[user_id] = lookup


def _ref(value: Any) -> str | None:
    """The user id of a lookup value, if it is one."""
    if isinstance(value, dict) and value.get("id") is not None:
        return str(value["id"])
    return None
