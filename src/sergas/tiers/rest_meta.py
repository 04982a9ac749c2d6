"""What tier 3 learns about the org once and keeps: fields per module, users, the org's zgid.

Field metadata (GET /settings/fields, 1 credit per module) gives the default column list
(Zoho requires `fields` on list calls) and the types that turn Bulk Read's CSV text back into
JSON values. Users (GET /users, 1 credit per 200) turn owner ids back into Zoho's
`{"name","id","email"}` lookups. The zgid goes into Bulk Write's `X-CRM-ORG` header.
Each is fetched at most once per client, even under concurrent first use.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sergas.errors import NotFoundError
from sergas.query import api_name
from sergas.tiers.rest_http import RestHTTP

__all__ = ["MAX_FIELDS", "NAME_FIELDS", "OWNER_TYPES", "Metadata"]

MAX_FIELDS = 50  # Zoho's cap on `fields` (records API) and on COQL columns
OWNER_TYPES = frozenset({"ownerlookup", "userlookup"})
# The field Zoho shows as a lookup's "name", per standard module; custom modules use "Name".
NAME_FIELDS = {
    "Accounts": "Account_Name",
    "Contacts": "Full_Name",
    "Leads": "Full_Name",
    "Deals": "Deal_Name",
    "Tasks": "Subject",
    "Calls": "Subject",
    "Events": "Event_Title",
    "Cases": "Subject",
    "Products": "Product_Name",
    "Vendors": "Vendor_Name",
    "Campaigns": "Campaign_Name",
    "Quotes": "Subject",
    "Sales_Orders": "Subject",
    "Purchase_Orders": "Subject",
    "Invoices": "Subject",
}


class Metadata:
    def __init__(self, http: RestHTTP) -> None:
        self.http = http
        self._fields: dict[str, list[dict[str, Any]]] = {}
        self._users: dict[str, dict[str, Any]] | None = None
        self._zgid: str | None = None
        self._lock = asyncio.Lock()

    async def fields(self, module: str) -> list[dict[str, Any]]:
        """The module's fields as GET /settings/fields returns them."""
        module = api_name(module)
        if module not in self._fields:
            async with self._lock:
                if module not in self._fields:
                    reply = await self.http.request(
                        "GET", "/crm/v8/settings/fields", params={"module": module}
                    )
                    body = reply.body if isinstance(reply.body, dict) else {}
                    self._fields[module] = list(body.get("fields") or [])
        return self._fields[module]

    async def field_types(self, module: str) -> dict[str, dict[str, Any]]:
        return {f["api_name"]: f for f in await self.fields(module)}

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
            reply = await self.http.request(
                "GET", "/crm/v8/users", params={"type": "AllUsers", "page": page, "per_page": 200}
            )
            body = reply.body if isinstance(reply.body, dict) else {}
            for user in body.get("users") or []:
                ref = {"name": user.get("full_name"), "id": str(user["id"])}
                if user.get("email"):
                    ref["email"] = user["email"]
                found[ref["id"]] = ref
            if not (body.get("info") or {}).get("more_records"):
                return found
            page += 1

    async def org_zgid(self) -> str:
        if self._zgid is None:
            reply = await self.http.request("GET", "/crm/v8/org")
            orgs = (reply.body or {}).get("org") or []
            if not orgs or not orgs[0].get("zgid"):
                raise NotFoundError("Zoho returned no organisation for this token")
            self._zgid = str(orgs[0]["zgid"])
        return self._zgid

    async def owner_ref(self, user_id: str, name: str | None = None) -> dict[str, Any]:
        """An owner lookup in the records API's shape; unknown users keep what we have."""
        ref = (await self.users()).get(str(user_id))
        if ref is not None:
            return dict(ref)
        return {"name": name, "id": str(user_id)}

    async def with_owner_emails(
        self, module: str, records: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """COQL shows owners as {"name","id"}; the records API adds "email". Align on the
        latter so every record tier 3 returns has one shape."""
        owners = [
            n for n, f in (await self.field_types(module)).items() if f["data_type"] in OWNER_TYPES
        ]
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
