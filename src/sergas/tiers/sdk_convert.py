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

Bulk Read: `typed_row()` turns a CSV row into the same shape, with the lookup names that
`bulk_columns()` asked for next to the ids, and owners from the org's user list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from dateutil.parser import isoparse
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.record import Record as SDKRecord
from zohocrmsdk.src.com.zoho.crm.api.users import MinifiedUser
from zohocrmsdk.src.com.zoho.crm.api.util import Choice

from sergas.tiers.base import Record, RecordResult

__all__ = [
    "FieldInfo",
    "InvalidValue",
    "bulk_columns",
    "choice_text",
    "field_info",
    "iso_utc",
    "record_result",
    "to_plain",
    "to_sdk_record",
    "typed_row",
]

_LONG_STRING = "com.zoho.api.spec.template.type.TLongString"
USER_TYPES = frozenset({"ownerlookup", "userlookup"})
LOOKUP_TYPES = USER_TYPES | {"lookup"}
_INTEGER = frozenset({"integer", "long"})
_DECIMAL = frozenset({"double", "currency", "percent", "decimal"})
_TEXT = frozenset(
    {"text", "textarea", "email", "phone", "website", "autonumber", "richtext", "picklist"}
)
# The field Zoho shows as a related record's name, per standard module ("Name" otherwise).
NAME_FIELDS = {
    "Accounts": "Account_Name",
    "Contacts": "Full_Name",
    "Leads": "Full_Name",
    "Deals": "Deal_Name",
    "Products": "Product_Name",
    "Vendors": "Vendor_Name",
    "Campaigns": "Campaign_Name",
    "Price_Books": "Price_Book_Name",
    "Solutions": "Solution_Title",
    "Events": "Event_Title",
    "Cases": "Subject",
    "Tasks": "Subject",
    "Calls": "Subject",
    "Quotes": "Subject",
    "Sales_Orders": "Subject",
    "Purchase_Orders": "Subject",
    "Invoices": "Subject",
}


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


def record_result(item: Any, index: int, record_id: str | None) -> RecordResult:
    """One item of a write answer (SuccessResponse or APIException) as a RecordResult."""
    details = to_plain(item.get_details()) if hasattr(item, "get_details") else None
    return RecordResult(
        id=record_id,
        ok=choice_text(item.get_status()) == "success",
        code=choice_text(item.get_code()),
        message=choice_text(item.get_message()),
        details=details if isinstance(details, dict) else {},
        index=index,
    )


# -- field metadata ------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldInfo:
    api_name: str
    data_type: str
    lookup_module: str | None = None

    @property
    def name_column(self) -> str | None:
        """The Bulk Read column that holds a (non-user) lookup's display name."""
        if self.data_type == "lookup" and self.lookup_module:
            return f"{self.api_name}.{NAME_FIELDS.get(self.lookup_module, 'Name')}"
        return None


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

    def result(self, index: int, record_id: str | None) -> RecordResult:
        return RecordResult(
            id=record_id,
            ok=False,
            code="INVALID_DATA",
            message="invalid data",
            details={
                "api_name": self.api_name,
                "json_path": f"$.data[{index}].{self.api_name}",
                "expected_data_type": self.expected,
            },
            index=index,
        )


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


# -- Bulk Read CSV -------------------------------------------------------------------------


def bulk_columns(fields: Sequence[str], infos: Mapping[str, FieldInfo]) -> list[str]:
    """The columns to ask Bulk Read for: `fields`, plus each lookup's name column, which the
    records API returns inside the lookup and Bulk Read only on request."""
    columns: list[str] = []
    for name in fields:
        if name == "id" or name in columns:
            continue
        columns.append(name)
        info = infos.get(name)
        if info is not None and info.name_column:
            columns.append(info.name_column)
    return columns


def typed_row(
    row: Mapping[str, str],
    fields: Sequence[str],
    infos: Mapping[str, FieldInfo],
    users: Mapping[str, Mapping[str, Any]],
) -> Record:
    """One Bulk Read CSV row as a record: `id` first, then `fields` in order. Owners come
    from `users` (id → `{"name","id","email"}`), as the records API shows them."""
    record: Record = {"id": row.get("Id") or row.get("id") or None}
    for name in fields:
        if name == "id":
            continue
        info = infos.get(name)
        raw = row.get(name, "")
        record[name] = _cell(raw, info, row, users) if info is not None else (raw or None)
    return record


def _cell(
    raw: str, info: FieldInfo, row: Mapping[str, str], users: Mapping[str, Mapping[str, Any]]
) -> Any:
    if raw == "":
        return None
    kind = info.data_type
    if kind in USER_TYPES:
        return dict(users.get(raw) or {"name": None, "id": raw})
    if kind == "lookup":
        return {"name": row.get(info.name_column or "") or None, "id": raw}
    try:
        if kind in _INTEGER:
            return int(raw)
        if kind in _DECIMAL:
            return float(raw)
        if kind == "datetime":
            return iso_utc(isoparse(raw))
    except ValueError:
        return raw
    if kind == "boolean":
        return raw.strip().lower() == "true"
    if kind == "multiselectpicklist":
        return raw.split(";")
    return raw
