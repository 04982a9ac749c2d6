"""The CRM's modules and fields: what the sandbox validates writes, criteria and COQL against.

Fields carry what Zoho's SDK reads from field metadata (api_name, data_type, json_type,
system_mandatory, custom_field, pick_list_values, lookup.module); `meta_shapes` renders
them as /settings/fields and /settings/modules answer. Modules are declared in a fixed
order, so field ids (handed out in declaration order) stay the same when modules are added
at the end.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Data types grouped by how values compare.
TEXT_TYPES = frozenset({"text", "textarea", "email", "phone", "website", "autonumber"})
NUMBER_TYPES = frozenset({"integer", "bigint", "double", "currency", "percent", "decimal"})
DATE_TYPES = frozenset({"date"})
DATETIME_TYPES = frozenset({"datetime"})
LOOKUP_TYPES = frozenset({"lookup", "ownerlookup", "userlookup"})

JSON_TYPES = {
    "text": "string",
    "textarea": "string",
    "email": "string",
    "phone": "string",
    "website": "string",
    "autonumber": "string",
    "picklist": "string",
    "integer": "integer",
    "bigint": "string",
    "double": "double",
    "currency": "double",
    "percent": "double",
    "date": "string",
    "datetime": "string",
    "boolean": "boolean",
    "lookup": "jsonobject",
    "ownerlookup": "jsonobject",
    "userlookup": "jsonobject",
}

# Beside a multi-module lookup's value, the module it points at (Zoho's `$se_module`).
SE_MODULE_KEY = "$se_module"
# Fields Zoho marks as display fields (the record's name in lookups).
DISPLAY_FIELDS = frozenset({"Account_Name", "Deal_Name", "Subject", "Note_Title", "Event_Title"})

# Record ids look like Zoho's: 19 digits, an org prefix then a sequence.
ID_BASE = 5725767000000000000
MODULE_ID_BASE = 5725767000000002000
FIELD_ID_BASE = 5725767000000100000


@dataclass(frozen=True)
class Field:
    api_name: str
    data_type: str
    label: str
    id: str
    system_mandatory: bool = False
    custom_field: bool = False
    read_only: bool = False
    picklist: tuple[str, ...] = ()
    lookup_module: str | None = None
    length: int | None = None
    # A multi-module lookup (What_Id, Parent_Id) names the modules it may point at; the
    # record says which: `$se_module` beside the value, or `module` inside it (Parent_Id).
    lookup_modules: tuple[str, ...] = ()
    module_in_value: bool = False

    @property
    def json_type(self) -> str:
        return JSON_TYPES.get(self.data_type, "string")

    @property
    def display_field(self) -> bool:
        return self.api_name in DISPLAY_FIELDS

    def linked_module(self, record: Mapping[str, Any]) -> str | None:
        """The module this lookup's value in `record` points at (None if it cannot say)."""
        if not self.lookup_modules:
            return self.lookup_module
        if self.module_in_value:
            value = record.get(self.api_name)
            module = value.get("module") if isinstance(value, dict) else None
            name = module.get("api_name") if isinstance(module, dict) else None
            return name if isinstance(name, str) else None
        name = record.get(SE_MODULE_KEY)
        return name if isinstance(name, str) else None


@dataclass(frozen=True)
class Module:
    api_name: str
    singular: str
    id: str
    fields: tuple[Field, ...]
    plural: str = ""
    searchable: bool = True
    name_field: str = "Name"
    # Keys beside the fields that every record of the module carries (Notes' `$editable`...).
    record_extras: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    by_name: dict[str, Field] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.by_name.update({f.api_name: f for f in self.fields})

    def field(self, api_name: str) -> Field | None:
        return self.by_name.get(api_name)


class _FieldIds:
    """Hands out deterministic field ids in declaration order."""

    def __init__(self) -> None:
        self.next = FIELD_ID_BASE

    def __call__(self) -> str:
        self.next += 7
        return str(self.next)


_fid = _FieldIds()


def _f(api_name: str, data_type: str, label: str | None = None, **kw: Any) -> Field:
    return Field(api_name, data_type, label or api_name.replace("_", " "), _fid(), **kw)


def _system_fields() -> tuple[Field, ...]:
    return (
        _f("Owner", "ownerlookup", "Owner", system_mandatory=False),
        _f("Created_By", "ownerlookup", read_only=True),
        _f("Modified_By", "ownerlookup", read_only=True),
        _f("Created_Time", "datetime", read_only=True),
        _f("Modified_Time", "datetime", read_only=True),
        _f("Last_Activity_Time", "datetime", read_only=True),
    )


INDUSTRIES = (
    "ASP (Application Service Provider)",
    "Data/Telecom OEM",
    "ERP (Enterprise Resource Planning)",
    "Government/Military",
    "Large Enterprise",
    "ManagementISV",
    "MSP (Management Service Provider)",
    "Network Equipment Enterprise",
    "Non-management ISV",
    "Optical Networking",
    "Service Provider",
    "Small/Medium Enterprise",
    "Storage Equipment",
    "Storage Service Provider",
    "Systems Integrator",
    "Wireless Industry",
)
ACCOUNT_STATUSES = ("Healthy", "Watch", "At Risk")
DEAL_STAGES = (
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Id. Decision Makers",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
)
OPEN_DEAL_STAGES = DEAL_STAGES[:6]
TASK_STATUSES = ("Not Started", "Deferred", "In Progress", "Completed", "Waiting for input")
RATINGS = ("Acquired", "Active", "Market Failed", "Project Cancelled", "Shut Down")
LEAD_SOURCES = (
    "Advertisement",
    "Cold Call",
    "Employee Referral",
    "External Referral",
    "Online Store",
    "Partner",
    "Public Relations",
    "Sales Email Alias",
    "Seminar Partner",
    "Internal Seminar",
    "Trade Show",
    "Web Download",
    "Web Research",
    "Chat",
)
LEAD_STATUSES = (
    "Attempted to Contact",
    "Contact in Future",
    "Contacted",
    "Junk Lead",
    "Lost Lead",
    "Not Contacted",
    "Pre-Qualified",
    "Not Qualified",
)
CALL_TYPES = ("Outbound", "Inbound", "Missed")
CALL_PURPOSES = ("Prospecting", "Administrative", "Negotiation", "Demo", "Project", "Desk")
CALL_RESULTS = (
    "Interested",
    "Not interested",
    "No response/Busy",
    "Requested more info",
    "Requested call back",
    "Invalid number",
)
# What Zoho's Notes API gives every note beside its fields (typed as notes.json's Note).
NOTE_EXTRAS = {
    "$attachments": [],
    "$editable": True,
    "$is_shared_to_client": False,
    "$sharing_permission": "full_access",
    "$size": "0",
    "$state": "save",
    "$voice_note": False,
}
# What an activity (call, meeting) or a note can be about.
RELATED_TO = ("Accounts", "Deals", "Leads")
NOTE_PARENTS = ("Accounts", "Contacts", "Deals", "Leads")


def _module(
    api_name: str,
    singular: str,
    index: int,
    name_field: str,
    *fields: Field,
    plural: str | None = None,
) -> Module:
    return Module(
        api_name=api_name,
        singular=singular,
        plural=plural or api_name,
        id=str(MODULE_ID_BASE + index),
        fields=(_f("id", "bigint", "Record Id", read_only=True), *fields, *_system_fields()),
        name_field=name_field,
    )


def build_modules() -> dict[str, Module]:
    accounts = _module(
        "Accounts",
        "Account",
        1,
        "Account_Name",
        _f("Account_Name", "text", system_mandatory=True, length=200),
        _f("Account_Number", "text", length=40),
        _f("Account_Site", "text", length=80),
        _f(
            "Account_Type",
            "picklist",
            picklist=(
                "Analyst",
                "Competitor",
                "Customer",
                "Distributor",
                "Integrator",
                "Investor",
                "Other",
                "Partner",
                "Press",
                "Prospect",
                "Reseller",
                "Supplier",
            ),
        ),
        _f("Industry", "picklist", picklist=INDUSTRIES),
        _f("Annual_Revenue", "currency"),
        _f("Employees", "integer"),
        _f("Rating", "picklist", picklist=RATINGS),
        _f(
            "Ownership",
            "picklist",
            picklist=(
                "Other",
                "Private",
                "Public",
                "Subsidiary",
                "Partnership",
                "Government",
            ),
        ),
        _f("Phone", "phone", length=30),
        _f("Website", "website", length=255),
        _f("Ticker_Symbol", "text", length=30),
        _f("Billing_City", "text", length=30),
        _f("Billing_Country", "text", length=30),
        _f("Description", "textarea", length=32000),
        _f("Parent_Account", "lookup", lookup_module="Accounts"),
        _f("Health_Score", "integer", "Health Score", custom_field=True),
        _f(
            "Account_Status",
            "picklist",
            "Account Status",
            custom_field=True,
            picklist=ACCOUNT_STATUSES,
        ),
        _f("Last_Health_Check", "datetime", "Last Health Check", custom_field=True),
    )
    contacts = _module(
        "Contacts",
        "Contact",
        2,
        "Full_Name",
        _f("First_Name", "text", length=40),
        _f("Last_Name", "text", system_mandatory=True, length=80),
        _f("Full_Name", "text", read_only=True),
        _f("Email", "email", length=100),
        _f("Phone", "phone", length=30),
        _f("Title", "text", length=100),
        _f("Account_Name", "lookup", "Account Name", lookup_module="Accounts"),
    )
    deals = _module(
        "Deals",
        "Deal",
        3,
        "Deal_Name",
        _f("Deal_Name", "text", system_mandatory=True, length=120),
        _f("Account_Name", "lookup", "Account Name", lookup_module="Accounts"),
        _f("Amount", "currency"),
        _f("Stage", "picklist", system_mandatory=True, picklist=DEAL_STAGES),
        _f("Probability", "integer", "Probability (%)"),
        _f("Closing_Date", "date", system_mandatory=True),
    )
    tasks = _module(
        "Tasks",
        "Task",
        4,
        "Subject",
        _f("Subject", "text", system_mandatory=True, length=255),
        _f("Due_Date", "date"),
        _f("Status", "picklist", picklist=TASK_STATUSES),
        _f("Priority", "picklist", picklist=("High", "Highest", "Low", "Lowest", "Normal")),
        _f("What_Id", "lookup", "Related To", lookup_module="Accounts"),
    )
    return {m.api_name: m for m in (accounts, contacts, deals, tasks, *_activity_modules())}


def _related_to() -> Field:
    return _f("What_Id", "lookup", "Related To", lookup_modules=RELATED_TO)


def _activity_modules() -> tuple[Module, ...]:
    """Leads, Notes, Calls and Events: declared after the first four, so those keep their
    field ids."""
    leads = _module(
        "Leads",
        "Lead",
        5,
        "Full_Name",
        _f("First_Name", "text", length=40),
        _f("Last_Name", "text", system_mandatory=True, length=80),
        _f("Full_Name", "text", read_only=True),
        _f("Company", "text", system_mandatory=True, length=200),
        _f("Designation", "text", "Title", length=100),
        _f("Email", "email", length=100),
        _f("Phone", "phone", length=30),
        _f("Mobile", "phone", length=30),
        _f("Website", "website", length=255),
        _f("Lead_Source", "picklist", picklist=LEAD_SOURCES),
        _f("Lead_Status", "picklist", picklist=LEAD_STATUSES),
        _f("Industry", "picklist", picklist=INDUSTRIES),
        _f("Annual_Revenue", "currency"),
        _f("No_of_Employees", "integer", "No. of Employees"),
        _f("Rating", "picklist", picklist=RATINGS),
        _f("City", "text", length=30),
        _f("Country", "text", length=30),
        _f("Description", "textarea", length=32000),
    )
    notes = _module(
        "Notes",
        "Note",
        6,
        "Note_Title",
        _f("Note_Title", "text", "Note Title", length=120),
        _f("Note_Content", "textarea", "Note Content", system_mandatory=True, length=32000),
        _f("Parent_Id", "lookup", "Parent ID", lookup_modules=NOTE_PARENTS, module_in_value=True),
    )
    notes.record_extras.update(NOTE_EXTRAS)
    calls = _module(
        "Calls",
        "Call",
        7,
        "Subject",
        _f("Subject", "text", system_mandatory=True, length=255),
        _f("Call_Type", "picklist", system_mandatory=True, picklist=CALL_TYPES),
        _f("Call_Purpose", "picklist", picklist=CALL_PURPOSES),
        _f("Call_Start_Time", "datetime", system_mandatory=True),
        _f("Call_Duration", "text", length=10),
        _f("Call_Duration_in_seconds", "integer", "Call Duration (in seconds)"),
        _f("Call_Result", "picklist", picklist=CALL_RESULTS),
        _f("Description", "textarea", length=32000),
        _related_to(),
        _f("Who_Id", "lookup", "Contact Name", lookup_module="Contacts"),
    )
    events = _module(
        "Events",
        "Meeting",
        8,
        "Event_Title",
        _f("Event_Title", "text", "Title", system_mandatory=True, length=255),
        _f("Start_DateTime", "datetime", "From", system_mandatory=True),
        _f("End_DateTime", "datetime", "To", system_mandatory=True),
        _f("All_day", "boolean", "All day"),
        _f("Venue", "text", length=255),
        _f("Description", "textarea", length=32000),
        _related_to(),
        _f("Who_Id", "lookup", "Contact Name", lookup_module="Contacts"),
        plural="Meetings",
    )
    return leads, notes, calls, events


MODULES: dict[str, Module] = build_modules()


def find_module(name: str) -> Module | None:
    """Zoho accepts module API names case-insensitively in URLs."""
    module = MODULES.get(name)
    if module is None:
        lowered = name.lower()
        module = next((m for m in MODULES.values() if m.api_name.lower() == lowered), None)
    return module
