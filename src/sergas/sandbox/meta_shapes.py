"""Fields and modules in the JSON shape of Zoho's GET /settings/fields and /settings/modules.

What Zoho's SDK reads from them (api_name, data_type, json_type, system_mandatory,
custom_field, pick_list_values, lookup.module) carries the schema's values; the many other
keys Zoho's metadata always holds are given at neutral values so clients that parse the
whole object (and Zoho's OpenAPI schemas) find them.
"""

from __future__ import annotations

from typing import Any

from sergas.sandbox.schema import MODULE_ID_BASE, TEXT_TYPES, Field, Module
from sergas.sandbox.seed.people import PROFILE_IDS

# Zoho's multi-module lookups (What_Id, Parent_Id) name this pseudo-module in `lookup`.
SE_MODULE = "se_module"
METADATA_TIME_ISO = "2024-01-01T00:00:00+00:00"  # module metadata never changes in the sandbox


def profiles_of(*, read_only: bool = False) -> list[dict[str, Any]]:
    permission = "read_only" if read_only else "read_write"
    return [
        {"permission_type": permission, "name": name, "id": profile_id}
        for name, profile_id in PROFILE_IDS.items()
    ]


def _lookup(field: Field, modules: dict[str, Module]) -> dict[str, Any]:
    if field.data_type != "lookup":
        return {}
    if field.lookup_modules:
        return {
            "display_label": field.label,
            "api_name": field.api_name,
            "module": {"api_name": SE_MODULE, "id": None},
            "id": field.id,
        }
    target = modules[field.lookup_module or ""]
    return {
        "display_label": target.singular,
        "api_name": field.api_name,
        "module": {"api_name": target.api_name, "id": target.id},
        "id": field.id,
    }


def field_json(field: Field, modules: dict[str, Module]) -> dict[str, Any]:
    """One field as Zoho's GET /settings/fields returns it."""
    picklist = [
        {
            "display_value": value,
            "sequence_number": i,
            "actual_value": value,
            "id": str(int(field.id) + 1000 + i),
            "type": "used",
            "colour_code": None,
            "reference_value": value,
        }
        for i, value in enumerate(("-None-", *field.picklist) if field.picklist else ())
    ]
    writable = not field.read_only
    return {
        "api_name": field.api_name,
        "id": field.id,
        "field_label": field.label,
        "display_label": field.label,
        "data_type": field.data_type,
        "json_type": field.json_type,
        "system_mandatory": field.system_mandatory,
        "custom_field": field.custom_field,
        "read_only": field.read_only,
        "field_read_only": field.read_only,
        "visible": True,
        "length": field.length or (255 if field.data_type in TEXT_TYPES else 16),
        "pick_list_values": picklist,
        "lookup": _lookup(field, modules),
        "formula": {},
        "currency": {},
        "decimal_place": 2 if field.data_type == "currency" else None,
        "unique": {},
        "sortable": field.api_name in ("id", "Created_Time", "Modified_Time"),
        # The rest of the keys Zoho's field metadata always carries, at neutral values.
        "additional_column": None,
        "associated_module": None,
        "association_details": None,
        "auto_number": {},
        "businesscard_supported": True,
        "colour_code_enabled_by_system": False,
        "column_name": field.api_name.upper(),
        "convert_mapping": {},
        "created_source": "user" if field.custom_field else "default",
        "created_time": None,
        "crypt": None,
        "customizable_properties": [],
        "display_field": field.display_field,
        "display_type": -1,
        "email_parser": {"fields_update_supported": False, "record_operations_supported": False},
        "enable_colour_code": False,
        "external": None,
        "filterable": True,
        "hipaa_compliance": None,
        "hipaa_compliance_enabled": False,
        "history_tracking": None,
        "mass_update": writable,
        "modified_time": None,
        "multi_module_lookup": {},
        "multiselectlookup": {},
        "operation_type": {
            "web_update": writable,
            "api_create": writable,
            "web_create": writable,
            "api_update": writable,
        },
        "pick_list_values_sorted_lexically": False,
        "profiles": profiles_of(read_only=field.read_only),
        "rollup_summary": {},
        "searchable": field.data_type != "textarea",
        "separator": False,
        "tooltip": None,
        "type": "used",
        "ui_type": 1,
        "view_type": {
            "view": True,
            "edit": writable,
            "quick_create": field.system_mandatory,
            "create": writable,
        },
        "virtual_field": False,
        "webhook": True,
    }


def module_json(module: Module) -> dict[str, Any]:
    """One module as Zoho's GET /settings/modules returns it."""
    return {
        "api_name": module.api_name,
        "module_name": module.api_name,
        "id": module.id,
        "api_supported": True,
        "generated_type": "default",
        "singular_label": module.singular,
        "plural_label": module.plural or module.api_name,
        "creatable": True,
        "editable": True,
        "deletable": True,
        "viewable": True,
        "status": "visible",
        "visible": True,
        "global_search_supported": module.searchable,
        "modified_time": METADATA_TIME_ISO,
        "arguments": [],
        "business_card_field_limit": 5,
        "convertable": module.api_name == "Leads",
        "description": None,
        "feeds_required": False,
        "isBlueprintSupported": False,
        "modified_by": None,
        "parent_module": {},
        "presence_sub_menu": True,
        "profile_count": len(PROFILE_IDS),
        "profiles": [{"name": name, "id": pid} for name, pid in PROFILE_IDS.items()],
        "quick_create": True,
        "recycle_bin_on_delete": True,
        "sequence_number": int(module.id) - MODULE_ID_BASE,
        "show_as_tab": True,
        "visibility": 1,
        "web_link": None,
    }
