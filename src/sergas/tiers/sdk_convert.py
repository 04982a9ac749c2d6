"""Between the SDK's models and Sergas's plain records (Zoho's JSON shape, see `tiers.base`).

Out of the SDK: `to_plain()` walks a Record's key_values and any other model through the
SDK's own spec (`json_details.json`: member → JSON key and type), so a record compares equal
to what the REST API returns: ids (and every Long sent as a string) are strings, datetimes
ISO 8601 in UTC (`2024-05-01T10:00:00+00:00`), dates `yyyy-MM-dd`, Choice → its value,
lookups `{"name","id"}` and users `{"name","id","email"}`.

Into the SDK: `to_sdk_record()` types a plain update with the module's field metadata,
because the SDK refuses (for the whole batch) a string where its metadata says DateTime,
Choice, Record or MinifiedUser. A value that fits no type is reported for that record alone,
as Zoho would (INVALID_DATA), and never sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from dateutil.parser import isoparse
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.record import Record as SDKRecord
from zohocrmsdk.src.com.zoho.crm.api.users import MinifiedUser
from zohocrmsdk.src.com.zoho.crm.api.util import Choice

from sergas.tiers.core.bulk_files import OWNER_TYPES

__all__ = [
    "FieldInfo",
    "InvalidValue",
    "choice_text",
    "field_info",
    "iso_utc",
    "plain_list",
    "to_plain",
    "to_sdk_record",
]

_LONG_STRING = "com.zoho.api.spec.template.type.TLongString"
USER_TYPES = OWNER_TYPES
LOOKUP_TYPES = USER_TYPES | {"lookup"}
_INTEGER = frozenset({"integer", "long"})
_DECIMAL = frozenset({"double", "currency", "percent", "decimal"})
_TEXT = frozenset(
    {"text", "textarea", "email", "phone", "website", "autonumber", "richtext", "picklist"}
)


def plain_list(items: Any) -> list[dict[str, Any]]:
    """SDK models as plain dicts (anything else left out)."""
    return [p for p in (to_plain(i) for i in items or []) if isinstance(p, dict)]


def choice_text(value: Any) -> str:
    """A Choice's value (or any value) as text; "" for None."""
    if isinstance(value, Choice):
        value = value.get_value()
    return "" if value is None else str(value)


def iso_utc(value: datetime) -> str:
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat()


# -- SDK → plain ---------------------------------------------------------------------------


def to_plain(value: Any, key: str | None = None) -> Any:
    """An SDK value as the JSON value Zoho sent. `key` is the JSON key it sits under."""
    if value is None or isinstance(value, bool | str | float):
        return value
    if isinstance(value, int):
        return str(value) if key == "id" else value
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Choice):
        return to_plain(value.get_value(), key)
    if isinstance(value, SDKRecord):
        return {k: to_plain(v, k) for k, v in value.get_key_values().items()}
    if isinstance(value, Mapping):
        return {str(k): to_plain(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(v, key) for v in value]
    spec = _spec(type(value))
    if spec is None:
        return value
    return _model(value, spec)


def _spec(cls: type) -> dict[str, Any] | None:
    details = Initializer.json_details
    if not details or not cls.__module__.startswith("zohocrmsdk."):
        return None
    found = details.get(cls.__module__.rsplit(".", 1)[0] + "." + cls.__name__)
    return found if isinstance(found, dict) else None


def _model(value: Any, spec: dict[str, Any]) -> dict[str, Any]:
    """A model through its spec. The SDK keeps no trace of which keys the answer had, so
    members left None are omitted (Zoho omits them more often than it sends null)."""
    out: dict[str, Any] = {}
    prefix = f"_{type(value).__name__}__"
    for attr, member_value in vars(value).items():
        member = attr.removeprefix(prefix)
        detail = spec.get(member)
        if member_value is None or not isinstance(detail, dict) or member == "key_modified":
            continue
        name = str(detail.get("name", member))
        if detail.get("spec_type") == _LONG_STRING and isinstance(member_value, int):
            out[name] = str(member_value)
        else:
            out[name] = to_plain(member_value, name)
    return out


# -- field metadata ------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldInfo:
    api_name: str
    data_type: str
    lookup_module: str | None = None


def field_info(plain: Mapping[str, Any]) -> FieldInfo:
    """A FieldInfo from one /settings/fields entry (already through `to_plain`)."""
    lookup = plain.get("lookup")
    module = lookup.get("module") if isinstance(lookup, Mapping) else None
    target = module.get("api_name") if isinstance(module, Mapping) else None
    return FieldInfo(str(plain["api_name"]), str(plain.get("data_type") or ""), target)


# -- plain → SDK ---------------------------------------------------------------------------


class InvalidValue(Exception):
    """A value that fits its field's type in no way; becomes that record's INVALID_DATA."""

    def __init__(self, api_name: str, expected: str) -> None:
        super().__init__(api_name)
        self.api_name = api_name
        self.expected = expected

    def item(self, index: int) -> dict[str, Any]:
        """The error item Zoho would answer for the record at `index` of a write."""
        return {
            "status": "error",
            "code": "INVALID_DATA",
            "message": "invalid data",
            "details": {
                "api_name": self.api_name,
                "json_path": f"$.data[{index}].{self.api_name}",
                "expected_data_type": self.expected,
            },
        }


def to_sdk_record(data: Mapping[str, Any], fields: Mapping[str, FieldInfo]) -> Any:
    """An SDK Record for an update. Fields missing from `fields` are passed through as they
    are (Zoho then judges them). Raises InvalidValue."""
    record = SDKRecord()
    for key, value in data.items():
        if key == "id":
            record.set_id(_long(value, "id"))
        else:
            info = fields.get(key)
            record.add_key_value(key, value if info is None else _sdk_value(value, info))
    return record


def _sdk_value(value: Any, info: FieldInfo) -> Any:
    kind, name = info.data_type, info.api_name
    if value is None:
        return None
    if kind == "datetime":
        return _datetime(value, name)
    if kind == "date":
        return _date(value, name)
    if kind == "picklist":
        return Choice(_expect(value, str, name, kind))
    if kind == "multiselectpicklist":
        if not isinstance(value, list):
            raise InvalidValue(name, kind)
        return [Choice(_expect(v, str, name, kind)) for v in value]
    if kind in LOOKUP_TYPES:
        ref = value.get("id") if isinstance(value, Mapping) else value
        target: Any = MinifiedUser() if kind in USER_TYPES else SDKRecord()
        target.set_id(_long(ref, name))
        return target
    if kind == "bigint":
        return _long(value, name)
    if kind in _INTEGER:
        return _expect(value, int, name, kind)
    if kind in _DECIMAL:
        return float(_expect(value, int | float, name, kind))
    if kind == "boolean":
        return _expect(value, bool, name, kind)
    if kind in _TEXT:
        return _expect(value, str, name, kind)
    return value


def _expect(value: Any, kind: Any, name: str, expected: str) -> Any:
    if isinstance(value, bool) and kind is not bool:
        raise InvalidValue(name, expected)
    if not isinstance(value, kind):
        raise InvalidValue(name, expected)
    return value


def _long(value: Any, name: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise InvalidValue(name, "bigint")


def _datetime(value: Any, name: str) -> datetime:
    if isinstance(value, str):
        try:
            value = isoparse(value)
        except ValueError:
            raise InvalidValue(name, "datetime") from None
    if not isinstance(value, datetime):
        raise InvalidValue(name, "datetime")
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _date(value: Any, name: str) -> date:
    if isinstance(value, datetime):
        raise InvalidValue(name, "date")
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise InvalidValue(name, "date") from None
    if not isinstance(value, date):
        raise InvalidValue(name, "date")
    return value
