"""Related lists: which records of one module belong to a record of another, and how.

Every related list here is lookup-based: a child record points at its parent through one
field (a contact's Account_Name, a call's What_Id with `$se_module`, a note's Parent_Id).
That field is what GET /{module}/{id}/{list} reads, and what relating (PUT) and delinking
(DELETE) set and clear. Notes are reached from their parent but not relinked through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sergas.sandbox.meta_shapes import METADATA_TIME_ISO
from sergas.sandbox.schema import MODULES, SE_MODULE_KEY, Field, Module

RELATED_LIST_ID_BASE = 5725767000000520000

Record = dict[str, Any]


@dataclass(frozen=True)
class Relation:
    parent: str  # the parent module
    api_name: str  # the related list, e.g. "Contacts"
    module: str  # the child module
    field: str  # the child's field that points at the parent
    id: str
    sequence: int
    relatable: bool = True  # PUT (relate) and DELETE (delink) set and clear `field`

    @property
    def child(self) -> Module:
        return MODULES[self.module]

    @property
    def link_field(self) -> Field:
        return self.child.by_name[self.field]

    def points_at(self, child: Record, parent: Module, parent_id: str) -> bool:
        """Whether `child` belongs to the parent record."""
        value = child.get(self.field)
        if not isinstance(value, dict) or value.get("id") != parent_id:
            return False
        linked = self.link_field.linked_module(child)
        return linked == parent.api_name

    def link(self, parent: Module, record: Record) -> dict[str, Any]:
        """The values that make a child point at `record` of `parent`."""
        ref: dict[str, Any] = {"name": record.get(parent.name_field), "id": record["id"]}
        field = self.link_field
        if field.module_in_value:
            return {self.field: {"module": {"api_name": parent.api_name, "id": parent.id}, **ref}}
        if field.lookup_modules:
            return {self.field: ref, SE_MODULE_KEY: parent.api_name}
        return {self.field: ref}

    def unlink(self) -> dict[str, Any]:
        if self.link_field.lookup_modules and not self.link_field.module_in_value:
            return {self.field: None, SE_MODULE_KEY: None}
        return {self.field: None}


_LISTS: dict[str, tuple[tuple[str, str, bool], ...]] = {
    # parent: (related list = child module, the child's field, relatable)
    "Accounts": (
        ("Contacts", "Account_Name", True),
        ("Deals", "Account_Name", True),
        ("Tasks", "What_Id", True),
        ("Calls", "What_Id", True),
        ("Events", "What_Id", True),
        ("Notes", "Parent_Id", False),
    ),
    "Contacts": (
        ("Calls", "Who_Id", True),
        ("Events", "Who_Id", True),
        ("Notes", "Parent_Id", False),
    ),
    "Deals": (
        ("Calls", "What_Id", True),
        ("Events", "What_Id", True),
        ("Notes", "Parent_Id", False),
    ),
    "Leads": (
        ("Calls", "What_Id", True),
        ("Events", "What_Id", True),
        ("Notes", "Parent_Id", False),
    ),
}


def _relations() -> dict[str, tuple[Relation, ...]]:
    out: dict[str, tuple[Relation, ...]] = {}
    for index, module in enumerate(MODULES.values()):
        lists = _LISTS.get(module.api_name, ())
        out[module.api_name] = tuple(
            Relation(
                module.api_name,
                child,
                child,
                field,
                str(RELATED_LIST_ID_BASE + index * 10 + k),
                k,
                relatable,
            )
            for k, (child, field, relatable) in enumerate(lists, start=1)
        )
    return out


RELATIONS: dict[str, tuple[Relation, ...]] = _relations()


def relation_of(parent: Module, name: str) -> Relation | None:
    """The parent's related list named `name` (case-insensitively, as Zoho's URLs allow)."""
    lowered = name.lower()
    return next((r for r in RELATIONS[parent.api_name] if r.api_name.lower() == lowered), None)


def related_list_json(relation: Relation) -> dict[str, Any]:
    """A related list as GET /settings/related_lists answers it."""
    child = relation.child
    name_field = child.by_name[child.name_field]
    shown = [child.name_field, "Owner", "Modified_Time"]
    return {
        "id": relation.id,
        "sequence_number": str(relation.sequence),
        "display_label": child.plural or child.api_name,
        "api_name": relation.api_name,
        "module": {"api_name": child.api_name, "id": child.id},
        "name": relation.api_name,
        "action": None,
        "href": f"{relation.parent}/{{{relation.parent.upper()}ID}}/{relation.api_name}",
        "type": "default",
        "customize_sort": False,
        "customize_fields": False,
        "customize_display_label": False,
        "sort_by": {"api_name": name_field.api_name, "id": name_field.id},
        "sort_order": "asc",
        "fields": [{"api_name": f, "id": child.by_name[f].id} for f in shown],
        "status": "visible",
        "visible": True,
        "modified_time": METADATA_TIME_ISO,
    }
