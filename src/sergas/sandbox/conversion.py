"""Lead conversion: POST /crm/v8/Leads/{id}/actions/convert (5 credits, a heavy call).

A lead becomes a contact at an account (the one named in `Accounts`, else the account whose
name is the lead's Company, else a new one) and, when `Deals` is given, a deal. Everything is
checked before anything is written, so a refused conversion leaves the CRM as it was. The
lead's notes move to the new contact, and its calls and meetings to the contact and the
account. The lead then leaves the Leads module (Zoho lists, searches and counts only
unconverted leads by default); converting it again is ID_ALREADY_CONVERTED.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sergas.sandbox import errors as E
from sergas.sandbox.limits import CONVERT_CREDITS
from sergas.sandbox.schema import MODULES, SE_MODULE_KEY

if TYPE_CHECKING:
    from sergas.sandbox.backend import Caller, Sandbox

Record = dict[str, Any]
CONVERTED = "The record has been converted successfully"

# Lead field -> the field it fills on the new account and on the new contact.
TO_ACCOUNT = {
    "Company": "Account_Name",
    "Phone": "Phone",
    "Website": "Website",
    "Industry": "Industry",
    "Annual_Revenue": "Annual_Revenue",
    "No_of_Employees": "Employees",
    "City": "Billing_City",
    "Country": "Billing_Country",
    "Rating": "Rating",
}
TO_CONTACT = {
    "First_Name": "First_Name",
    "Last_Name": "Last_Name",
    "Email": "Email",
    "Phone": "Phone",
    "Designation": "Title",
}
DEAL_MANDATORY = ("Deal_Name", "Stage", "Closing_Date")


class LeadConversion:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox
        self.converted: dict[str, dict[str, Any]] = {}

    async def convert(self, caller: Caller, lead_id: str, items: Sequence[Any]) -> dict[str, Any]:
        """The success item of Zoho's answer ({"data": [item]})."""
        async with self.sb.api_call(caller, heavy=True):
            self.sb.limits.charge(CONVERT_CREDITS)
            if lead_id in self.converted:
                raise E.IdAlreadyConverted(details={"resource_path_index": 1})
            lead = self.sb.store.get("Leads", lead_id) if lead_id.isdigit() else None
            if lead is None:
                raise E.InvalidData("invalid data", {"resource_path_index": 1})
            options = items[0] if items else {}
            if not isinstance(options, dict):
                raise E.InvalidData(
                    "invalid data", {"api_name": "data", "json_path": "$.data[0]"}, per_item=True
                )
            owner = self._owner(options, lead)
            account = self._existing(options, "Accounts")
            if account is None:
                account = next(
                    (
                        a
                        for a in self.sb.store.all("Accounts")
                        if a.get("Account_Name") == lead["Company"]
                    ),
                    None,
                )
            contact = self._existing(options, "Contacts")
            deal = self._deal_values(options.get("Deals"))

            writer = self.sb.records.writer
            accounts = MODULES["Accounts"]
            if account is None:
                values = {to: lead.get(frm) for frm, to in TO_ACCOUNT.items()}
                created = writer.apply(accounts, {**_filled(values), "Owner": owner}, "create")
                account = self.sb.store.get("Accounts", created["details"]["id"])
                assert account is not None
            account_ref = {"name": account["Account_Name"], "id": account["id"]}
            if contact is None:
                values = {to: lead.get(frm) for frm, to in TO_CONTACT.items()}
                created = writer.apply(
                    MODULES["Contacts"],
                    {**_filled(values), "Account_Name": account_ref, "Owner": owner},
                    "create",
                )
                contact = self.sb.store.get("Contacts", created["details"]["id"])
                assert contact is not None
            contact_ref = {"name": contact["Full_Name"], "id": contact["id"]}
            deal_ref: dict[str, Any] | None = None
            if deal is not None:
                item = {"Owner": owner, **deal, "Account_Name": account_ref}
                created = writer.apply(MODULES["Deals"], item, "create", path="$.data[0].Deals")
                deal_ref = {"name": item["Deal_Name"], "id": created["details"]["id"]}
            self._move_activity(lead, account_ref, contact_ref)
            self.sb.store.delete("Leads", lead_id)
            details = {"Contacts": contact_ref, "Deals": deal_ref, "Accounts": account_ref}
            self.converted[lead_id] = details
            return {
                "code": "SUCCESS",
                "details": details,
                "message": CONVERTED,
                "status": "success",
            }

    def _owner(self, options: dict[str, Any], lead: Record) -> dict[str, Any]:
        assign = options.get("assign_to")
        if assign is None:
            return {"id": lead["Owner"]["id"]}
        user_id = str(assign.get("id")) if isinstance(assign, dict) else str(assign)
        user = self.sb.user(user_id)
        if user is None or user["status"] != "active":
            raise E.InvalidData(
                "invalid data",
                {"api_name": "assign_to", "json_path": "$.data[0].assign_to"},
                per_item=True,
            )
        return {"id": user_id}

    def _existing(self, options: dict[str, Any], module: str) -> Record | None:
        """The record named by `Accounts: {"id"}` or `Contacts: {"id"}`, if given."""
        given = options.get(module)
        if given is None:
            return None
        ref = given.get("id") if isinstance(given, dict) else None
        found = self.sb.store.get(module, str(ref)) if ref is not None else None
        if found is None:
            raise E.InvalidData(
                "invalid data",
                {"api_name": module, "json_path": f"$.data[0].{module}"},
                per_item=True,
            )
        return found

    def _deal_values(self, raw: Any) -> dict[str, Any] | None:
        """The deal to create, checked before anything is written."""
        if raw is None:
            return None
        if not isinstance(raw, dict):
            raise E.InvalidData(
                "invalid data",
                {
                    "api_name": "Deals",
                    "json_path": "$.data[0].Deals",
                    "expected_data_type": "jsonobject",
                },
                per_item=True,
            )
        for name in DEAL_MANDATORY:
            if raw.get(name) in (None, ""):
                raise E.MandatoryNotFound(
                    "required field not found",
                    {"api_name": name, "json_path": f"$.data[0].Deals.{name}"},
                    per_item=True,
                )
        values = {k: v for k, v in raw.items() if k != "Account_Name"}
        try:
            self.sb.records.writer.check(MODULES["Deals"], values, "$.data[0].Deals")
        except E.ZohoError as exc:
            exc.per_item = True
            raise
        return values

    def _move_activity(
        self, lead: Record, account: dict[str, Any], contact: dict[str, Any]
    ) -> None:
        """The lead's notes go to the contact; its calls and meetings to the contact and
        the account."""
        store = self.sb.store
        notes = MODULES["Notes"]
        contacts = MODULES["Contacts"]
        moved = [
            {**n, "Parent_Id": {"module": {"api_name": "Contacts", "id": contacts.id}, **contact}}
            for n in store.all(notes.api_name)
            if (n.get("Parent_Id") or {}).get("id") == lead["id"]
        ]
        store.put_many(notes.api_name, moved)
        for module in ("Calls", "Events"):
            activity = [
                {**r, "What_Id": dict(account), SE_MODULE_KEY: "Accounts", "Who_Id": dict(contact)}
                for r in store.all(module)
                if r.get(SE_MODULE_KEY) == "Leads"
                and (r.get("What_Id") or {}).get("id") == lead["id"]
            ]
            store.put_many(module, activity)


def _filled(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}
