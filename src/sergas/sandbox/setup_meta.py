"""Layouts, profiles and tags in the JSON shape of Zoho's /settings APIs.

Each module has one layout, "Standard", with one section holding every field; the org has
Zoho's two standard profiles (the ids the users carry); a few modules have tags. Keys
Zoho's metadata always carries are given at neutral values.
"""

from __future__ import annotations

from typing import Any

from sergas.sandbox.meta_shapes import METADATA_TIME_ISO, field_json
from sergas.sandbox.schema import MODULE_ID_BASE, MODULES, Module
from sergas.sandbox.seed.people import PROFILE_IDS

LAYOUT_ID_BASE = 5725767000000510000
TAG_ID_BASE = 5725767000000530000
TAG_LIMIT = 100  # tags per module (Zoho's `allowed_count`)

# Per module: (tag name, Zoho colour code).
TAGS: dict[str, tuple[tuple[str, str], ...]] = {
    "Accounts": (("Key Account", "#57B1FD"), ("Churn Risk", "#F17574"), ("Renewal", "#63C57E")),
    "Deals": (("Expansion", "#879BFC"), ("Multi-year", "#1DB9B4")),
    "Leads": (("Webinar", "#E7A826"), ("Hot", "#F48435")),
    "Contacts": (("Champion", "#D297EE"),),
}


def _user(admin: dict[str, Any]) -> dict[str, Any]:
    return {"name": admin["full_name"], "id": admin["id"], "email": admin["email"]}


def layout_id(module: Module) -> str:
    return str(LAYOUT_ID_BASE + int(module.id) - MODULE_ID_BASE)


def layout_json(module: Module, admin: dict[str, Any]) -> dict[str, Any]:
    """The module's one layout, as GET /settings/layouts answers it."""
    section_id = 1
    fields = []
    for sequence, field in enumerate(module.fields, start=1):
        shown = field_json(field, MODULES)
        shown["required"] = field.system_mandatory
        shown["sequence_number"] = sequence
        shown["section_id"] = section_id
        fields.append(shown)
    user = _user(admin)
    return {
        "display_type": -1,
        "api_name": "Standard",
        "has_more_profiles": False,
        "created_time": None,
        "modified_time": METADATA_TIME_ISO,
        "visible": True,
        "source": "crm",
        "id": layout_id(module),
        "name": "Standard",
        "display_label": "Standard",
        "mode": None,
        "subform_properties": {"pinned_column": None},
        "status": "active",
        "show_business_card": False,
        "generated_type": "default",
        "created_for": user,
        "convert_mapping": _convert_mapping(module),
        "modified_by": user,
        "profiles": [
            {
                "default": True,
                "name": name,
                "id": pid,
                "_default_view": {"name": "Standard", "id": layout_id(module), "type": "layout"},
            }
            for name, pid in PROFILE_IDS.items()
        ],
        "created_by": user,
        "sections": [
            {
                "display_label": f"{module.singular} Information",
                "sequence_number": 1,
                "isSubformSection": False,
                "tab_traversal": "left_to_right",
                "api_name": f"{module.singular.replace(' ', '_')}_Information",
                "column_count": 2,
                "name": f"{module.singular} Information",
                "generated_type": "default",
                "id": str(int(layout_id(module)) + section_id),
                "type": "used",
                "fields": fields,
                "properties": {
                    "reorder_rows": None,
                    "maximum_rows": None,
                    "tooltip": {"name": "Info Icon", "value": ""},
                },
                "_delete": {"permanent": False},
            }
        ],
        "actions_allowed": {
            "edit": True,
            "rename": False,
            "clone": True,
            "downgrade": False,
            "delete": False,
            "deactivate": False,
            "set_layout_permissions": True,
        },
    }


def _convert_mapping(module: Module) -> dict[str, Any] | None:
    """Where a converted lead's values go: the Standard layouts of the modules a lead
    becomes; None for modules that do not convert."""
    if module.api_name != "Leads":
        return None

    def to(name: str) -> dict[str, Any]:
        return {"display_label": "Standard", "name": "Standard", "id": layout_id(MODULES[name])}

    return {
        "Contacts": to("Contacts"),
        "Deals": {**to("Deals"), "fields": []},
        "Accounts": to("Accounts"),
    }


def profile_json(name: str, profile_id: str, admin: dict[str, Any]) -> dict[str, Any]:
    """A profile as GET /settings/profiles answers it."""
    admin_profile = name == "Administrator"
    user = _user(admin)
    return {
        "name": name,
        "description": "This profile will have all the permissions."
        if admin_profile
        else "This profile will have all the permissions except administrative privileges.",
        "id": profile_id,
        "default": not admin_profile,
        "permission_type": "crm",
        "custom": False,
        "display_label": name,
        "type": "normal_profile",
        "permissions_details": [
            {
                "id": str(int(profile_id) * 10 + k),
                "enabled": True,
                "name": f"Crm_Implied_{action}_{module.api_name}",
                "display_label": action,
                "module": module.api_name,
            }
            for module in MODULES.values()
            for k, action in enumerate(("View", "Create", "Edit", "Delete"))
        ],
        "sections": [],
        "created_time": METADATA_TIME_ISO,
        "modified_time": METADATA_TIME_ISO,
        "modified_by": user,
        "category": admin_profile,
        "created_by": user,
    }


def tags_json(module: Module, admin: dict[str, Any]) -> list[dict[str, Any]]:
    """The module's tags as GET /settings/tags answers them."""
    user = {"name": admin["full_name"], "id": admin["id"]}
    base = TAG_ID_BASE + (int(module.id) - MODULE_ID_BASE) * 10
    return [
        {
            "name": name,
            "color_code": colour,
            "created_time": METADATA_TIME_ISO,
            "modified_time": METADATA_TIME_ISO,
            "modified_by": dict(user),
            "created_by": dict(user),
            "id": str(base + k),
        }
        for k, (name, colour) in enumerate(TAGS.get(module.api_name, ()), start=1)
    ]
