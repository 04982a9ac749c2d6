"""What `sergas accounts` shares: the manager on the configured CRM (or the embedded
sandbox), typed criteria from `--where`, values from `--set`, and the export's writers.

Values are typed by the field's type in Zoho's metadata (`describe_fields`), so what is sent
is what the field holds: a text field gets the text as typed (`--set Phone=5550100` stays
"5550100"; JSON quotes, `"42"`, are taken off), a number field a number, a boolean true or
false, a multi-select a list (a JSON list, or one value), a lookup its id (or a JSON object);
`null` clears a field. A field the module does not have, or a value that does not fit its
type, is bad usage (exit 2) naming the field. Without metadata (syntax checks before
anything is opened) a value that parses as JSON is that value."""

from __future__ import annotations

import contextlib
import csv
import difflib
import json
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from typing import IO, TYPE_CHECKING, Any, Literal, get_args

import typer

from sergas.cli._common import err_console, local_caller
from sergas.query import NO_VALUE_OPS, Criteria, Op, Value
from sergas.zoho_limits import SORTABLE

if TYPE_CHECKING:
    from sergas.manager import ZohoIntegrationManager

__all__ = [
    "OPS",
    "CsvWriter",
    "FieldTypes",
    "JsonlWriter",
    "Writer",
    "criteria_from",
    "field_list",
    "field_types",
    "open_manager",
    "parse_assignments",
    "parse_value",
    "show_value",
    "sort_field",
    "typed_assignments",
]

FieldTypes = dict[str, dict[str, Any]]  # api_name -> its field metadata
MODULE = "Accounts"

# Every operator the HTTP service and the MCP tools take (`query.Op`, which their
# `access.schemas.ConditionCriteria` checks conditions by).
OPS: tuple[str, ...] = get_args(Op)


@contextlib.asynccontextmanager
async def open_manager() -> AsyncIterator[ZohoIntegrationManager]:
    """The manager on Zoho when ZOHO_* credentials are set, else on the embedded sandbox
    (the same one, and the same CRM state file, that the health sweep uses), which is said on
    stderr so that stdout stays data."""
    from sergas.log import configure_logging
    from sergas.runtime import open_runtime
    from sergas.settings import get_settings

    settings = get_settings()
    # At the default level failovers and retries would drown the output; errors still show.
    level = "ERROR" if settings.log_level == "INFO" else settings.log_level
    configure_logging(settings.log_format, level)
    async with open_runtime(settings, embedded=True, caller=local_caller()) as runtime:
        if runtime.target.embedded:
            err_console.print(
                f"embedded sandbox: no Zoho credentials configured, using the offline CRM "
                f"in {runtime.target.state_file}",
                style="dim",
                highlight=False,
                soft_wrap=True,
            )
        yield runtime.manager


def field_list(text: str | None) -> list[str] | None:
    """`--fields a,b,c` as a list of API names (a bad name is a usage error)."""
    if not text:
        return None
    names = [part.strip() for part in text.split(",") if part.strip()]
    for name in names:
        _api_name(name, "--fields")
    return names or None


def parse_value(text: str) -> Any:
    """A JSON value when the text parses as one (`42`, `true`, `null`, `"42"`, `[1]`), else
    the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def sort_field(text: str | None) -> str | None:
    """`--sort-by`: Zoho sorts records by id, Created_Time or Modified_Time only."""
    names = field_list(text)
    if not names:
        return None
    if len(names) > 1 or names[0] not in SORTABLE:
        raise typer.BadParameter(
            f"Zoho sorts records by {', '.join(SORTABLE[:-1])} or {SORTABLE[-1]} only, "
            f"not {text!r}",
            param_hint="--sort-by",
        )
    return names[0]


def field_types(fields: Sequence[dict[str, Any]]) -> FieldTypes:
    """Zoho's field metadata by API name."""
    return {str(f["api_name"]): dict(f) for f in fields if f.get("api_name")}


def parse_assignments(pairs: Sequence[str]) -> dict[str, str]:
    """`--set FIELD=VALUE` options as field → the value's text (`typed_assignments` types
    them once the fields' types are known)."""
    data: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise typer.BadParameter(f"expected FIELD=VALUE, got {pair!r}", param_hint="--set")
        data[_api_name(name.strip(), "--set")] = value
    if not data:
        raise typer.BadParameter("give at least one FIELD=VALUE", param_hint="--set")
    return data


def typed_assignments(texts: dict[str, str], types: FieldTypes) -> dict[str, Any]:
    """The record's data: each value typed by its field's type (see the module docstring)."""
    data: dict[str, Any] = {}
    for name, text in texts.items():
        meta = _field(name, types, "--set")
        data[meta["api_name"]] = _typed(meta, text, "--set", clear=True)
    return data


def criteria_from(
    wheres: Sequence[str], any_of: bool, types: FieldTypes | None = None
) -> Criteria | None:
    """`--where 'FIELD OP VALUE'` options as one criteria: all of them, or any with `--any`.
    The value is the rest of the text after the operator, spaces included; `in` and
    `between` take comma-separated values, `is_null` and `is_not_null` none. With `types`
    each field must exist and each value is typed by its field."""
    conditions = [_condition(where, types) for where in wheres]
    if not conditions:
        return None
    combined = conditions[0]
    for condition in conditions[1:]:
        combined = (combined | condition) if any_of else (combined & condition)
    return combined


_USAGE = {
    "in": "'FIELD in A,B,C'",
    "between": "'FIELD between LOW,HIGH'",
    "is_null": "'FIELD is_null'",
    "is_not_null": "'FIELD is_not_null'",
}


def _condition(where: str, types: FieldTypes | None) -> Criteria:
    """One condition, checked by the HTTP service's and MCP tools' own model
    (`access.schemas.ConditionCriteria`): one set of operators and arity rules for all."""
    from pydantic import ValidationError

    from sergas.access.schemas import ConditionCriteria

    parts = where.split(None, 2)
    if len(parts) < 2 or (len(parts) == 2 and parts[1] not in NO_VALUE_OPS):
        raise typer.BadParameter(f"expected 'FIELD OP VALUE', got {where!r}", param_hint="--where")
    name, op, text = parts[0], parts[1], parts[2] if len(parts) == 3 else None
    if op not in OPS:
        raise typer.BadParameter(
            f"unknown operator {op!r}; use one of {', '.join(OPS)}", param_hint="--where"
        )
    name = _api_name(name, "--where")
    meta = _field(name, types, "--where") if types is not None else None
    value: Value | None = None
    values: list[Value] | None = None
    if text is None:
        pass
    elif op in ("in", "between"):
        values = [_scalar(part.strip(), op, meta) for part in text.split(",")]
    elif op == "starts_with":
        value = text
    elif op not in NO_VALUE_OPS:
        value = _scalar(text, op, meta)
    else:
        values = [text]  # is_null with a value: the model says what is wrong
    try:
        condition = ConditionCriteria.model_validate(
            {
                "field": meta["api_name"] if meta is not None else name,
                "op": op,
                "value": value,
                "values": values,
            }
        )
    except ValidationError as exc:
        reason = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        said = f"write {_USAGE[op]}" if op in _USAGE else reason  # the CLI's own syntax
        raise typer.BadParameter(f"{where!r}: {said}", param_hint="--where") from None
    return condition.to_criteria()


def _scalar(text: str, op: str, meta: dict[str, Any] | None) -> Value:
    value = parse_value(text) if meta is None else _typed(meta, text, "--where", clear=False)
    if isinstance(value, str | int | float | bool):
        return value
    raise typer.BadParameter(
        f"{op} needs a text, number or true/false value, got {text!r}", param_hint="--where"
    )


# Zoho's field types by the JSON value they take (the rest take text).
_WHOLE = frozenset({"integer", "long"})  # bigint: text, as the records API shows it
_DECIMAL = frozenset({"double", "currency", "percent", "decimal"})
_LOOKUPS = frozenset({"lookup", "ownerlookup", "userlookup"})
_NOT_TEXT = _WHOLE | _DECIMAL | _LOOKUPS | {"boolean", "multiselectpicklist"}


def find_field(name: str, types: FieldTypes) -> dict[str, Any] | None:
    """The field's metadata (Zoho matches API names without regard to case), or None."""
    meta = types.get(name)
    if meta is None:
        meta = next((m for n, m in types.items() if n.lower() == name.lower()), None)
    return meta


def unknown_field(name: str, types: FieldTypes) -> str:
    """What to say of a field the module does not have: its name, and close ones."""
    close = difflib.get_close_matches(name, list(types), n=3)
    maybe = f"; did you mean {' or '.join(close)}?" if close else ""
    return f"{MODULE} has no field {name!r}{maybe}"


def _field(name: str, types: FieldTypes, hint: str) -> dict[str, Any]:
    """The field's metadata; a field the module does not have is bad usage, named."""
    meta = find_field(name, types)
    if meta is None:
        raise typer.BadParameter(unknown_field(name, types), param_hint=hint)
    return meta


def _typed(meta: dict[str, Any], text: str, hint: str, *, clear: bool) -> Any:
    """`text` as the JSON value a field of this type takes (see the module docstring)."""
    try:
        return typed_value(meta, text, clear=clear)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=hint) from None


def typed_value(meta: dict[str, Any], text: str, *, clear: bool, verbatim: bool = False) -> Any:
    """`text` as the JSON value a field of this type takes; ValueError saying what the field
    takes when it cannot. `verbatim`: a text field takes the text exactly as written (a
    file's cell), not as JSON (`"42"` keeps its quotes)."""
    name, kind = meta["api_name"], str(meta.get("data_type") or "text")
    if verbatim and kind not in _NOT_TEXT:
        return text
    value = parse_value(text)
    if value is None and clear:
        return None
    if kind in _WHOLE and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind in _DECIMAL and isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if kind == "boolean" and isinstance(value, bool):
        return value
    if kind in _WHOLE | _DECIMAL | {"boolean"}:
        wanted = "true or false" if kind == "boolean" else "a number"
        wanted = "a whole number" if kind in _WHOLE else wanted
        raise ValueError(f"{name} ({kind}) takes {wanted}, not {text!r}")
    if kind == "multiselectpicklist":
        return [str(v) for v in value] if isinstance(value, list) else [_text(value, text)]
    if kind in _LOOKUPS and isinstance(value, dict):
        return value
    return _text(value, text)


def _text(value: Any, text: str) -> str:
    """A text field's value: a JSON string without its quotes, anything else as typed."""
    return value if isinstance(value, str) else text


def _api_name(name: str, hint: str) -> str:
    from sergas.query import api_name

    try:
        return api_name(name)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=hint) from None


def show_value(value: Any) -> str:
    """A value as a table shows it: lookups and owners by name."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return str(value.get("name") or value.get("id") or value)
    if isinstance(value, list):
        return ", ".join(show_value(v) for v in value)
    return str(value)


class Writer(ABC):
    """Records out to an open file, one at a time; `count` is how many were written. The
    caller owns the file (see `sergas.files.atomic_write`)."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.count = 0

    @abstractmethod
    def add(self, record: dict[str, Any]) -> None: ...

    @abstractmethod
    def finish(self) -> None:
        """Write whatever is still held back (after the last record)."""


class JsonlWriter(Writer):
    """One JSON object per line, values exactly as the tier returned them."""

    def add(self, record: dict[str, Any]) -> None:
        self.out.write(json.dumps(record, default=str, ensure_ascii=False) + "\n")
        self.count += 1

    def finish(self) -> None:
        """Nothing is held back: each record was written as it came."""


class CsvWriter(Writer):
    """A header row (id first, then the fields in the order first seen), then one row per
    record. A lookup (Owner, Parent_Account, …) is flattened into one column per key, name
    and id first (`Owner.name`, `Owner.id`, `Owner.email`), which `sergas accounts import`
    reads back by `.id`; lists stay JSON; null is empty. Rows are kept until `finish()`,
    since a later record may carry a field or a lookup key the first lacked."""

    def __init__(self, out: IO[str], fields: Sequence[str] | None) -> None:
        super().__init__(out)
        self.fields: dict[str, None] = dict.fromkeys(["id", *(fields or [])])
        self.fixed = fields is not None
        self.keys: dict[str, dict[str, None]] = {}  # lookup field -> its keys, first seen
        self.rows: list[dict[str, Any]] = []

    def add(self, record: dict[str, Any]) -> None:
        if not self.fixed:
            self.fields.update(dict.fromkeys(record))
        for name, value in record.items():
            if isinstance(value, dict) and name in self.fields:
                keys = self.keys.setdefault(name, dict.fromkeys(LOOKUP_KEYS[:2]))
                keys.update(dict.fromkeys(value))
        self.rows.append(record)
        self.count += 1

    def _lookup_keys(self, name: str) -> list[str] | None:
        """A lookup field's columns' keys (name, id, email, then any others); None for a
        field that is not a lookup."""
        keys = self.keys.get(name)
        if keys is None:
            return None
        return [k for k in LOOKUP_KEYS if k in keys] + [k for k in keys if k not in LOOKUP_KEYS]

    def columns(self) -> list[str]:
        """The header: each lookup as one column per key (`Owner.name`, `Owner.id`, …)."""
        out: list[str] = []
        for name in self.fields:
            keys = self._lookup_keys(name)
            out.extend([name] if keys is None else [f"{name}.{key}" for key in keys])
        return out

    def finish(self) -> None:
        writer = csv.writer(self.out)
        writer.writerow(self.columns())
        for row in self.rows:
            cells: list[Any] = []
            for name in self.fields:
                value = row.get(name)
                keys = self._lookup_keys(name)
                if keys is None:
                    cells.append(_cell(value))
                    continue
                if value is not None and not isinstance(value, dict):
                    value = {"id": value}  # a lookup given by its id alone
                cells.extend(_cell((value or {}).get(key)) for key in keys)
            writer.writerow(cells)


# A lookup's keys in a CSV header, in this order (then any others Zoho gives).
LOOKUP_KEYS = ("name", "id", "email")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, default=str, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def writer_for(out: IO[str], kind: Literal["csv", "jsonl"], fields: Sequence[str] | None) -> Writer:
    return CsvWriter(out, fields) if kind == "csv" else JsonlWriter(out)
