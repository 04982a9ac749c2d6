"""The CRM's modules and fields, as served by /crm/v8/settings/modules and /settings/fields.

Fields carry what the sandbox needs to validate writes, filter by criteria and COQL, and what
Zoho's SDK reads from field metadata (api_name, data_type, json_type, system_mandatory,
custom_field, pick_list_values, lookup.module).
"""

from __future__ import annotations

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

    @property
    def json_type(self) -> str:
        return JSON_TYPES.get(self.data_type, "string")

    def metadata(self, modules: dict[str, Module]) -> dict[str, Any]:
        """The field as Zoho's GET /settings/fields returns it."""
        lookup: dict[str, Any] = {}
        if self.data_type == "lookup" and self.lookup_module:
            target = modules[self.lookup_module]
            lookup = {
                "display_label": target.singular,
                "api_name": self.api_name,
                "module": {"api_name": target.api_name, "id": target.id},
                "id": self.id,
            }
        picklist = [
            {
                "display_value": value,
                "sequence_number": i,
                "actual_value": value,
                "id": str(int(self.id) + 1000 + i),
                "type": "used",
                "colour_code": None,
                "reference_value": value,
            }
            for i, value in enumerate(("-None-", *self.picklist) if self.picklist else ())
        ]
        return {
            "api_name": self.api_name,
            "id": self.id,
            "field_label": self.label,
            "display_label": self.label,
            "data_type": self.data_type,
            "json_type": self.json_type,
            "system_mandatory": self.system_mandatory,
            "custom_field": self.custom_field,
            "read_only": self.read_only,
            "field_read_only": self.read_only,
            "visible": True,
            "length": self.length or (255 if self.data_type in TEXT_TYPES else 16),
            "pick_list_values": picklist,
            "lookup": lookup,
            "formula": {},
            "currency": {},
            "decimal_place": 2 if self.data_type == "currency" else None,
            "unique": {},
            "sortable": self.api_name in ("id", "Created_Time", "Modified_Time"),
            # The rest of the keys Zoho's field metadata always carries, at neutral values.
            "additional_column": None,
            "associated_module": None,
            "association_details": None,
            "auto_number": {},
            "businesscard_supported": True,
            "colour_code_enabled_by_system": False,
            "column_name": self.api_name.upper(),
            "convert_mapping": {},
            "created_source": "user" if self.custom_field else "default",
            "created_time": None,
            "crypt": None,
            "customizable_properties": [],
            "display_field": self.api_name in ("Account_Name", "Deal_Name", "Subject"),
            "display_type": -1,
            "email_parser": {
                "fields_update_supported": False,
                "record_operations_supported": False,
            },
            "enable_colour_code": False,
            "external": None,
            "filterable": True,
            "hipaa_compliance": None,
            "hipaa_compliance_enabled": False,
            "history_tracking": None,
            "mass_update": not self.read_only,
            "modified_time": None,
            "multi_module_lookup": {},
            "multiselectlookup": {},
            "operation_type": {
                "web_update": not self.read_only,
                "api_create": not self.read_only,
                "web_create": not self.read_only,
                "api_update": not self.read_only,
            },
            "pick_list_values_sorted_lexically": False,
            "profiles": [
                {
                    "permission_type": "read_only" if self.read_only else "read_write",
                    "name": "Administrator",
                    "id": "5725767000000026011",
                }
            ],
            "rollup_summary": {},
            "searchable": self.data_type != "textarea",
            "separator": False,
            "tooltip": None,
            "type": "used",
            "ui_type": 1,
            "view_type": {
                "view": True,
                "edit": not self.read_only,
                "quick_create": self.system_mandatory,
                "create": not self.read_only,
            },
            "virtual_field": False,
            "webhook": True,
        }


@dataclass(frozen=True)
class Module:
    api_name: str
    singular: str
    id: str
    fields: tuple[Field, ...]
    plural: str = ""
    searchable: bool = True
    name_field: str = "Name"
    by_name: dict[str, Field] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.by_name.update({f.api_name: f for f in self.fields})

    def field(self, api_name: str) -> Field | None:
        return self.by_name.get(api_name)

    def metadata(self) -> dict[str, Any]:
        """The module as Zoho's GET /settings/modules returns it."""
        return {
            "api_name": self.api_name,
            "module_name": self.api_name,
            "id": self.id,
            "api_supported": True,
            "generated_type": "default",
            "singular_label": self.singular,
            "plural_label": self.plural or self.api_name,
            "creatable": True,
            "editable": True,
            "deletable": True,
            "viewable": True,
            "status": "visible",
            "visible": True,
            "global_search_supported": self.searchable,
            "modified_time": "2024-01-01T00:00:00+00:00",
            "arguments": [],
            "business_card_field_limit": 5,
            "convertable": False,
            "description": None,
            "feeds_required": False,
            "isBlueprintSupported": False,
            "modified_by": None,
            "parent_module": {},
            "presence_sub_menu": True,
            "profile_count": 1,
            "profiles": [{"name": "Administrator", "id": "5725767000000026011"}],
            "quick_create": True,
            "recycle_bin_on_delete": True,
            "sequence_number": int(self.id) - MODULE_ID_BASE,
            "show_as_tab": True,
            "visibility": 1,
            "web_link": None,
        }


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


def _module(api_name: str, singular: str, index: int, name_field: str, *fields: Field) -> Module:
    return Module(
        api_name=api_name,
        singular=singular,
        plural=api_name,
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
        _f(
            "Rating",
            "picklist",
            picklist=("Acquired", "Active", "Market Failed", "Project Cancelled", "Shut Down"),
        ),
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
    return {m.api_name: m for m in (accounts, contacts, deals, tasks)}


MODULES: dict[str, Module] = build_modules()


def find_module(name: str) -> Module | None:
    """Zoho accepts module API names case-insensitively in URLs."""
    module = MODULES.get(name)
    if module is None:
        lowered = name.lower()
        module = next((m for m in MODULES.values() if m.api_name.lower() == lowered), None)
    return module
