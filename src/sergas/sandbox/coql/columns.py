"""Resolving a column name against the module: fields, `id`, one-level lookup joins."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sergas.sandbox.errors import InvalidQuery, ZohoError
from sergas.sandbox.schema import LOOKUP_TYPES, Field, Module
from sergas.sandbox.store import Record, RecordStore
from sergas.sandbox.values import is_null

Getter = Callable[[Record], Any]


@dataclass
class Column:
    key: str  # the key in result rows
    field: Field  # the field whose type governs comparison
    get: Getter  # raw value from a base record
    present: Callable[[Any], Any]  # raw value -> JSON value in a row
    joined: bool = False


def present_lookup(raw: Any) -> Any:
    if not isinstance(raw, dict) or is_null(raw):
        return None
    return {"name": raw.get("name"), "id": raw.get("id")}


def present_id(raw: Any) -> Any:
    if not isinstance(raw, dict) or is_null(raw):
        return None
    return raw.get("id")


def present_link_id(raw: Any) -> Any:
    """Multi-module lookups (What_Id, Parent_Id) come back as {"id"} only in COQL."""
    if not isinstance(raw, dict) or is_null(raw):
        return None
    return {"id": raw.get("id")}


def _same(raw: Any) -> Any:
    return raw


def presenter(target: Field) -> Callable[[Any], Any]:
    if target.lookup_modules:
        return present_link_id
    return present_lookup if target.data_type in LOOKUP_TYPES else _same


def find_field(module: Module, name: str) -> Field | None:
    found = module.field(name)
    if found is None:
        lowered = name.lower()
        found = next((f for f in module.fields if f.api_name.lower() == lowered), None)
    return found


def unsupported(column: str) -> ZohoError:
    return InvalidQuery("unsupported column", {"column_name": column})


class Resolver:
    def __init__(self, module: Module, modules: Mapping[str, Module], store: RecordStore) -> None:
        self.module = module
        self.modules = modules
        self.store = store
        self.cache: dict[str, Column] = {}

    def column(self, name: str) -> Column:
        cached = self.cache.get(name)
        if cached is None:
            cached = self.cache[name] = self._resolve(name)
        return cached

    def _resolve(self, name: str) -> Column:
        parts = name.split(".")
        base = find_field(self.module, parts[0])
        if base is None or len(parts) > 2:
            raise unsupported(name)
        api_name = base.api_name
        if len(parts) == 1:

            def get(record: Record) -> Any:
                return record.get(api_name)

            return Column(api_name, base, get, presenter(base))

        sub = parts[1]
        if base.data_type not in LOOKUP_TYPES:
            raise unsupported(name)
        if sub.lower() == "id":
            # The lookup's own id: compared and shown without reading the other module.
            return Column(f"{api_name}.id", base, lambda r: r.get(api_name), present_id)
        target_module = self.modules.get(base.lookup_module or "")
        if target_module is None:
            raise unsupported(name)
        target = find_field(target_module, sub)
        if target is None:
            raise unsupported(name)
        module_name, target_name = target_module.api_name, target.api_name
        lookup = self.store.get

        def joined(record: Record) -> Any:
            link = record.get(api_name)
            if not isinstance(link, dict):
                return None
            other = lookup(module_name, str(link.get("id")))
            return None if other is None else other.get(target_name)

        return Column(f"{api_name}.{target_name}", target, joined, presenter(target), True)
