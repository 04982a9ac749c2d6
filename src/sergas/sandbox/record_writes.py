"""Writing one record: validation against the module's fields, Zoho's stored value shapes,
system fields, and the per-record success item.

Shared by the Records API (`Records.create_records` and friends) and Bulk Write
(`bulk_apply`), so both validate and count writes the same way.
"""

from __future__ import annotations

import copy
import math
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from sergas.sandbox import errors as E
from sergas.sandbox.clock import iso
from sergas.sandbox.schema import (
    LOOKUP_TYPES,
    NUMBER_TYPES,
    SE_MODULE_KEY,
    TEXT_TYPES,
    Field,
    Module,
    find_module,
)

if TYPE_CHECKING:
    from sergas.sandbox.backend import Sandbox

SYSTEM_READ_ONLY = frozenset(
    {
        "Created_Time",
        "Modified_Time",
        "Created_By",
        "Modified_By",
        "Last_Activity_Time",
        "Full_Name",
    }
)

Record = dict[str, Any]


class RecordWriter:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox

    def apply(
        self,
        module: Module,
        item: Any,
        mode: str,
        index: int = 0,
        duplicate_check_fields: list[str] | None = None,
        *,
        path: str | None = None,
    ) -> dict[str, Any]:
        """Validate and store one record; returns Zoho's success item or raises ZohoError
        (whose json_path starts at `path`, by default `$.data[index]`)."""
        path = path or f"$.data[{index}]"
        if not isinstance(item, dict):
            raise E.InvalidData("invalid data", {"api_name": "data", "json_path": path})
        store = self.sb.store
        action = mode
        existing: Record | None = None
        if mode == "upsert":
            existing = self._find_duplicate(module, item, duplicate_check_fields)
            action = "update" if existing is not None else "insert"
        elif mode == "update":
            raw_id = item.get("id")
            if raw_id is None:
                raise E.MandatoryNotFound(
                    "required field not found", {"api_name": "id", "json_path": f"{path}.id"}
                )
            existing = store.get(module.api_name, str(raw_id))
            if existing is None:
                raise E.InvalidData(
                    "the id given seems to be invalid",
                    {"api_name": "id", "json_path": f"{path}.id"},
                )
        values = self._validate(module, item, path)
        now = iso(self.sb.clock.now())
        me = self.sb.user_ref()
        if existing is None:
            record: Record = {f.api_name: None for f in module.fields}
            record.update(values)
            record.update(copy.deepcopy(module.record_extras))
            missing = [
                f.api_name
                for f in module.fields
                if f.system_mandatory and not record.get(f.api_name)
            ]
            if missing:
                raise E.MandatoryNotFound(
                    "required field not found",
                    {"api_name": missing[0], "json_path": f"{path}.{missing[0]}"},
                )
            record["id"] = store.new_id()
            record["Owner"] = record.get("Owner") or me
            record["Created_Time"] = record["Modified_Time"] = now
            record["Created_By"] = record["Modified_By"] = me
            message = "record added"
        else:
            record = {**existing, **values, "Modified_Time": now, "Modified_By": me}
            message = "record updated"
        if module.field("Full_Name") is not None:
            record["Full_Name"] = " ".join(
                p for p in (record.get("First_Name"), record.get("Last_Name")) if p
            )
        store.put(module.api_name, record)
        self.sb.writes[(module.api_name, record["id"])] += 1
        details: dict[str, Any] = {
            "Modified_Time": record["Modified_Time"],
            "Modified_By": {"name": me["name"], "id": me["id"]},
            "Created_Time": record["Created_Time"],
            "id": record["id"],
            "Created_By": {
                "name": (record.get("Created_By") or me)["name"],
                "id": (record.get("Created_By") or me)["id"],
            },
            "$approval_state": "approved",
        }
        result: dict[str, Any] = {
            "code": "SUCCESS",
            "details": details,
            "message": message,
            "status": "success",
        }
        if mode == "upsert":
            result["action"] = action
            result["duplicate_field"] = (duplicate_check_fields or [module.name_field])[0]
        return result

    def check(self, module: Module, item: dict[str, Any], path: str) -> Record:
        """The item's values in the stored shape, or the ZohoError a write of it gets."""
        return self._validate(module, item, path)

    def _find_duplicate(
        self, module: Module, item: dict[str, Any], fields: list[str] | None
    ) -> Record | None:
        if item.get("id") is not None:
            found = self.sb.store.get(module.api_name, str(item["id"]))
            if found is not None:
                return found
        for name in fields or [module.name_field]:
            value = item.get(name)
            if value in (None, ""):
                continue
            for record in self.sb.store.all(module.api_name):
                if record.get(name) == value:
                    return record
        return None

    def _validate(self, module: Module, item: dict[str, Any], path: str) -> Record:
        values: Record = {}
        for name, raw in item.items():
            if name == "id" or name.startswith("$") or name in SYSTEM_READ_ONLY:
                continue
            field = module.field(name)
            if field is None:
                raise E.InvalidData(
                    "the field api name given seems to be invalid",
                    {"api_name": name, "json_path": f"{path}.{name}"},
                )
            if field.lookup_modules:
                values.update(self._multi_lookup(field, raw, item, path))
                continue
            values[name] = self._coerce(field, raw, f"{path}.{name}")
        return values

    def _multi_lookup(
        self, field: Field, raw: Any, item: dict[str, Any], path: str
    ) -> dict[str, Any]:
        """A What_Id or Parent_Id: the module it points at comes from `$se_module` beside
        the value, or from `module.api_name` inside it."""
        name = field.api_name
        if raw is None:
            return {name: None} if field.module_in_value else {name: None, SE_MODULE_KEY: None}
        inner = raw.get("module") if isinstance(raw, dict) else None
        target_name = inner.get("api_name") if isinstance(inner, dict) else None
        target_name = target_name or item.get(SE_MODULE_KEY)
        where = f"{path}.{SE_MODULE_KEY}" if not inner else f"{path}.{name}.module"
        if not target_name:
            raise E.MandatoryNotFound(
                "required field not found", {"api_name": SE_MODULE_KEY, "json_path": where}
            )
        target = find_module(str(target_name))
        if target is None or target.api_name not in field.lookup_modules:
            raise E.InvalidData(
                "invalid data",
                {
                    "api_name": SE_MODULE_KEY,
                    "json_path": where,
                    "supported_values": list(field.lookup_modules),
                },
            )
        ref_id = raw.get("id") if isinstance(raw, dict) else raw
        linked = self.sb.store.get(target.api_name, str(ref_id)) if ref_id else None
        if linked is None:
            raise E.InvalidData("invalid data", {"api_name": name, "json_path": f"{path}.{name}"})
        link: dict[str, Any] = {"name": linked.get(target.name_field), "id": linked["id"]}
        if field.module_in_value:
            return {name: {"module": {"api_name": target.api_name, "id": target.id}, **link}}
        return {name: link, SE_MODULE_KEY: target.api_name}

    def _coerce(self, field: Field, raw: Any, json_path: str) -> Any:
        """A written value in the stored (Zoho JSON) shape; wrong types are INVALID_DATA."""

        def bad(**extra: Any) -> E.ZohoError:
            return E.InvalidData(
                "invalid data",
                {
                    "api_name": field.api_name,
                    "json_path": json_path,
                    "expected_data_type": field.data_type,
                    **extra,
                },
            )

        if raw is None:
            return None
        t = field.data_type
        if t in TEXT_TYPES:
            if not isinstance(raw, str):
                raise bad()
            limit = field.length or 255
            if len(raw) > limit:
                raise E.InvalidData(
                    "invalid data",
                    {"api_name": field.api_name, "json_path": json_path, "maximum_length": limit},
                )
            return raw
        if t == "picklist":
            if not isinstance(raw, str):
                raise bad()
            if raw not in field.picklist and raw != "-None-":
                raise bad(supported_values=list(field.picklist))
            return None if raw == "-None-" else raw
        if t in ("integer", "bigint"):
            if isinstance(raw, bool) or not isinstance(raw, int | str):
                raise bad()
            try:
                return int(raw)
            except ValueError:
                raise bad() from None
        if t in NUMBER_TYPES:
            if isinstance(raw, bool):
                raise bad()
            try:
                value = float(raw)
            except (TypeError, ValueError):
                raise bad() from None
            if not math.isfinite(value):
                raise bad()
            return value
        if t == "boolean":
            if not isinstance(raw, bool):
                raise bad()
            return raw
        if t == "date":
            try:
                return date.fromisoformat(str(raw)).isoformat()
            except ValueError:
                raise bad() from None
        if t == "datetime":
            try:
                dt = datetime.fromisoformat(str(raw))
            except ValueError:
                raise bad() from None
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=UTC)
            return iso(dt)
        if t in LOOKUP_TYPES:
            ref_id = raw.get("id") if isinstance(raw, dict) else raw
            if ref_id is None:
                raise bad()
            ref_id = str(ref_id)
            if t in ("ownerlookup", "userlookup"):
                user = self.sb.user(ref_id)
                if user is None or user["status"] != "active":
                    raise E.InvalidData(
                        "invalid data", {"api_name": field.api_name, "json_path": json_path}
                    )
                return self.sb.user_ref(ref_id)
            target = self.sb.modules[field.lookup_module or ""]
            linked = self.sb.store.get(target.api_name, ref_id)
            if linked is None:
                raise E.InvalidData(
                    "invalid data", {"api_name": field.api_name, "json_path": json_path}
                )
            return {"name": linked.get(target.name_field), "id": ref_id}
        return raw
