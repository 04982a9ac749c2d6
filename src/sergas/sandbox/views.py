"""Custom views: what GET /settings/custom_views lists, and what `cvid` filters record lists by.

Each module has Zoho's "All" and "My" views (the My view is the caller's own records,
`${CURRENTUSER}` in Zoho's criteria) and a few system views with a criteria. A view's
conditions are written once and give both the criteria JSON Zoho shows and the predicate
the sandbox filters with (through the search criteria grammar, `criteria.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sergas.sandbox import errors as E
from sergas.sandbox.criteria import parse_criteria
from sergas.sandbox.meta_shapes import METADATA_TIME_ISO
from sergas.sandbox.schema import MODULES, OPEN_DEAL_STAGES, Module

VIEW_ID_BASE = 5725767000000500000
CURRENT_USER = "${CURRENTUSER}"

Record = dict[str, Any]
Predicate = Callable[[Record], bool]


@dataclass(frozen=True)
class Condition:
    field: str
    comparator: str  # Zoho's custom-view comparator: equal, not_equal, in
    value: str | tuple[str, ...]

    def search(self, user_id: str) -> str:
        """The condition in Zoho's search criteria grammar."""
        operator = {"equal": "equals", "not_equal": "not_equal", "in": "in"}[self.comparator]
        values = self.value if isinstance(self.value, tuple) else (self.value,)
        text = ",".join(user_id if v == CURRENT_USER else v for v in values)
        return f"({self.field}:{operator}:{text})"


@dataclass(frozen=True)
class View:
    id: str
    module: str
    name: str
    system_name: str
    conditions: tuple[Condition, ...] = ()
    default: bool = False

    def predicate(self, module: Module, user_id: str) -> Predicate | None:
        """The records this view shows for `user_id`; None for every record."""
        if not self.conditions:
            return None
        parts = [c.search(user_id) for c in self.conditions]
        text = parts[0] if len(parts) == 1 else "(" + "and".join(parts) + ")"
        return parse_criteria(text, module).predicate()


_AT_RISK = (Condition("Account_Status", "equal", "At Risk"),)
_OPEN_LEADS = (
    "Not Contacted",
    "Attempted to Contact",
    "Contacted",
    "Contact in Future",
    "Pre-Qualified",
)
# Per module, beyond All and My: (name, system name, conditions).
_SYSTEM_VIEWS: dict[str, tuple[tuple[str, str, tuple[Condition, ...]], ...]] = {
    "Accounts": (("At Risk Accounts", "ATRISKACCOUNTS", _AT_RISK),),
    "Deals": (("Open Deals", "OPENDEALS", (Condition("Stage", "in", OPEN_DEAL_STAGES),)),),
    "Tasks": (("Open Tasks", "OPENTASKS", (Condition("Status", "not_equal", "Completed"),)),),
    "Leads": (("Open Leads", "OPENLEADS", (Condition("Lead_Status", "in", _OPEN_LEADS),)),),
    "Calls": (("Missed Calls", "MISSEDCALLS", (Condition("Call_Type", "equal", "Missed"),)),),
}


def _views() -> dict[str, tuple[View, ...]]:
    views: dict[str, tuple[View, ...]] = {}
    for index, module in enumerate(MODULES.values()):
        base = VIEW_ID_BASE + index * 10
        plural = module.plural or module.api_name
        key = module.api_name.upper()
        mine = (Condition("Owner", "equal", CURRENT_USER),)
        found = [
            View(str(base + 1), module.api_name, f"All {plural}", f"ALLVIEWS{key}", default=True),
            View(str(base + 2), module.api_name, f"My {plural}", f"MY{key}", mine),
        ]
        extra = _SYSTEM_VIEWS.get(module.api_name, ())
        for k, (name, system, conditions) in enumerate(extra, start=3):
            found.append(View(str(base + k), module.api_name, name, system, conditions))
        views[module.api_name] = tuple(found)
    return views


VIEWS_OF: dict[str, tuple[View, ...]] = _views()
VIEWS: dict[str, View] = {v.id: v for views in VIEWS_OF.values() for v in views}


def view_for(module: Module, cvid: str) -> View:
    """The module's view with id `cvid`; Zoho's INVALID_DATA (param cvid) otherwise."""
    view = VIEWS.get(cvid)
    if view is None or view.module != module.api_name:
        raise E.InvalidData("invalid data", {"param_name": "cvid"})
    return view


# -- JSON ---------------------------------------------------------------------------------


def _criteria_json(view: View, module: Module) -> dict[str, Any] | None:
    def one(c: Condition) -> dict[str, Any]:
        field = module.by_name[c.field]
        value: Any = list(c.value) if isinstance(c.value, tuple) else c.value
        return {
            "comparator": c.comparator,
            "field": {"api_name": field.api_name, "id": field.id},
            "type": "value",
            "value": value,
            "$disrupted": False,
        }

    if not view.conditions:
        return None
    if len(view.conditions) == 1:
        return one(view.conditions[0])
    return {"group_operator": "AND", "group": [one(c) for c in view.conditions]}


def view_summary(view: View, admin: dict[str, Any]) -> dict[str, Any]:
    """A custom view as GET /settings/custom_views lists it (the keys of Zoho's example)."""
    by = {"name": admin["full_name"], "id": admin["id"]}
    return {
        "display_value": view.name,
        "created_time": None,
        "access_type": "public",
        "system_name": view.system_name,
        "created_by": dict(by),
        "default": view.default,
        "modified_time": METADATA_TIME_ISO,
        "name": view.name,
        "system_defined": True,
        "modified_by": dict(by),
        "id": view.id,
        "category": "public_views",
        "last_accessed_time": None,
        "locked": False,
    }


def view_json(view: View, module: Module, admin: dict[str, Any]) -> dict[str, Any]:
    """One custom view as GET /settings/custom_views/{id} answers it: with its criteria
    (None for a view of every record) and columns."""
    columns = [module.name_field, "Owner", "Created_Time", "Modified_Time"]
    return {
        **view_summary(view, admin),
        "criteria": _criteria_json(view, module),
        "$modified_criteria": False,
        "shared_to": [],
        "fields": [
            {"api_name": f.api_name, "id": f.id, "_pin": False}
            for f in (module.by_name[c] for c in columns)
        ],
        "sort_by": None,
        "sort_order": None,
        "favorite": None,
    }
