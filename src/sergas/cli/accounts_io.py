"""What `sergas accounts` shares: the manager on the configured CRM (or the embedded
sandbox), typed criteria from `--where`, values from `--set`, and the export's writers."""

from __future__ import annotations

import contextlib
import csv
import json
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from typing import IO, TYPE_CHECKING, Any, Literal

import typer

from sergas.cli._common import err_console, local_caller
from sergas.query import Criteria, F, Value

if TYPE_CHECKING:
    from sergas.manager import ZohoIntegrationManager

__all__ = [
    "OPS",
    "CsvWriter",
    "JsonlWriter",
    "Writer",
    "criteria_from",
    "field_list",
    "open_manager",
    "parse_assignments",
    "parse_value",
]

OPS = (
    "equals",
    "not_equal",
    "starts_with",
    "greater_than",
    "greater_equal",
    "less_than",
    "less_equal",
    "in",
)


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


def parse_assignments(pairs: Sequence[str]) -> dict[str, Any]:
    """`--set FIELD=VALUE` options as the record's data."""
    data: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise typer.BadParameter(f"expected FIELD=VALUE, got {pair!r}", param_hint="--set")
        data[_api_name(name.strip(), "--set")] = parse_value(value)
    if not data:
        raise typer.BadParameter("give at least one FIELD=VALUE", param_hint="--set")
    return data


def criteria_from(wheres: Sequence[str], any_of: bool) -> Criteria | None:
    """`--where 'FIELD OP VALUE'` options as one criteria: all of them, or any with `--any`.
    The value is the rest of the text after the operator, spaces included."""
    conditions = [_condition(*_split(where)) for where in wheres]
    if not conditions:
        return None
    combined = conditions[0]
    for condition in conditions[1:]:
        combined = (combined | condition) if any_of else (combined & condition)
    return combined


def _split(where: str) -> tuple[str, str, str]:
    parts = where.split(None, 2)
    if len(parts) != 3:
        raise typer.BadParameter(f"expected 'FIELD OP VALUE', got {where!r}", param_hint="--where")
    return parts[0], parts[1], parts[2]


def _condition(name: str, op: str, text: str) -> Criteria:
    field = F(_api_name(name, "--where"))
    if op == "in":
        return field.in_([_scalar(part.strip(), op) for part in text.split(",")])
    if op == "starts_with":
        return field.starts_with(text)
    value = _scalar(text, op)
    build = {
        "equals": field.__eq__,
        "not_equal": field.__ne__,
        "greater_than": field.__gt__,
        "greater_equal": field.__ge__,
        "less_than": field.__lt__,
        "less_equal": field.__le__,
    }.get(op)
    if build is None:
        raise typer.BadParameter(
            f"unknown operator {op!r}; use one of {', '.join(OPS)}", param_hint="--where"
        )
    criteria: Criteria = build(value)
    return criteria


def _scalar(text: str, op: str) -> Value:
    value = parse_value(text)
    if isinstance(value, str | int | float | bool):
        return value
    raise typer.BadParameter(f"{op} needs a text, number or true/false value, got {text!r}")


def _api_name(name: str, hint: str) -> str:
    from sergas.query import api_name

    try:
        return api_name(name)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=hint) from None


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
    record. Lookups, owners and lists are written as JSON so nothing is lost; null is empty.
    Rows are kept until `close()`, since a later record may carry a field the first lacked."""

    def __init__(self, out: IO[str], fields: Sequence[str] | None) -> None:
        super().__init__(out)
        self.columns: dict[str, None] = dict.fromkeys(["id", *(fields or [])])
        self.fixed = fields is not None
        self.rows: list[dict[str, Any]] = []

    def add(self, record: dict[str, Any]) -> None:
        if not self.fixed:
            self.columns.update(dict.fromkeys(record))
        self.rows.append(record)
        self.count += 1

    def finish(self) -> None:
        writer = csv.DictWriter(self.out, list(self.columns), extrasaction="ignore")
        writer.writeheader()
        for row in self.rows:
            writer.writerow({k: _cell(row.get(k)) for k in self.columns})


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
