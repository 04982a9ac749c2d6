"""`sergas accounts import`: changes to many accounts from a file, each record's outcome
written next to it.

The file is a CSV with a header row, or JSON lines (one object per line), as `sergas
accounts export` writes them: an `id` column and one column per field to change. Values are
typed by the field's type in Zoho's metadata (`accounts_io.typed_value`); in a CSV a text
field takes the cell exactly as written and an empty cell clears the field. A lookup is set
by its id: the export's `Owner.id` column (or an `Owner` column holding the id or a JSON
object with an id); its other keys (`Owner.name`, `Owner.email`) say what Zoho shows and are
not sent. Columns of read-only fields (Created_Time, Modified_By, …) and Zoho's own `$` keys
are not sent either; both are listed in the summary.

The whole file is read and checked before anything is sent: a missing id column, an unknown
field, a value its field cannot take, a bad or repeated id stops the import (exit 2) naming
the row and the column. Then `manager.bulk_update_accounts` writes every record, choosing by
size as the export reads: updates of 100 records at a time, or Bulk Write jobs past
SERGAS_BULK_WRITE_THRESHOLD records on a tier that has them.

Each record's outcome (row, id, ok, and Zoho's code, message and details verbatim) goes to
`<name>.outcomes.csv` (or `.jsonl`) beside the input: private (0600) and written whole or not
at all (`sergas.files.atomic_write`).
"""

from __future__ import annotations

import contextlib
import csv
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

import typer

from sergas.cli.accounts_io import FieldTypes, find_field, typed_value, unknown_field
from sergas.files import atomic_write

if TYPE_CHECKING:
    from sergas.errors import SergasError
    from sergas.tiers.base import RecordResult

__all__ = [
    "ImportFileError",
    "ImportPlan",
    "failed_rows",
    "file_format",
    "outcome_rows",
    "outcomes_path",
    "read_changes",
    "write_outcomes",
]

Format = Literal["csv", "jsonl"]
_LOOKUPS = frozenset({"lookup", "ownerlookup", "userlookup"})
OUTCOME_COLUMNS = ("row", "id", "ok", "code", "message", "details")


class ImportFileError(typer.BadParameter):
    """The import file cannot be sent as it is: what is wrong, and where (row, column).
    Bad usage (exit 2), raised before anything is sent."""

    def __init__(
        self, path: Path, message: str, *, row: int | None = None, column: str | None = None
    ) -> None:
        where = [f"row {row}" if row is not None else "", f"column {column}" if column else ""]
        place = ", ".join(w for w in where if w)
        super().__init__(f"{path}{' ' + place if place else ''}: {message}", param_hint="--file")
        self.path, self.row, self.column = path, row, column


@dataclass
class ImportPlan:
    """What the file asks for, checked: one record per row (id first, then the typed
    fields), each row's number in the file, and the columns that are not sent, with why."""

    records: list[dict[str, Any]] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    fields: dict[str, None] = field(default_factory=dict)
    ignored: dict[str, str] = field(default_factory=dict)  # column -> why it is not sent


def file_format(path: Path, given: str | None) -> Format:
    """csv or jsonl: as given, else by the file's suffix."""
    name = given or {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}.get(
        path.suffix.lower(), ""
    )
    if name not in ("csv", "jsonl"):
        raise typer.BadParameter(
            f"cannot tell the format of {path.name!r}: name it .csv or .jsonl, or give "
            "--format csv or jsonl",
            param_hint="--format",
        )
    return "csv" if name == "csv" else "jsonl"


def outcomes_path(path: Path, fmt: Format) -> Path:
    """Beside the input: `changes.csv` → `changes.outcomes.csv`."""
    return path.with_name(f"{path.stem}.outcomes.{fmt}")


def read_changes(path: Path, fmt: Format, types: FieldTypes) -> ImportPlan:
    """Every record of the file, typed and checked (ImportFileError naming the row and the
    column at the first problem)."""
    plan = ImportPlan()
    seen: dict[str, int] = {}
    try:
        for row, values in _csv_rows(path) if fmt == "csv" else _jsonl_rows(path):
            _add(path, row, values, types, plan, seen)
    except UnicodeDecodeError:
        raise ImportFileError(path, "not UTF-8 text: save it as UTF-8 (CSV UTF-8)") from None
    if not plan.records:
        raise ImportFileError(path, "no records to import")
    if not plan.fields:
        raise ImportFileError(path, "no field to change: give a column per field besides id")
    return plan


def _add(
    path: Path,
    row: int,
    values: dict[str, Any],
    types: FieldTypes,
    plan: ImportPlan,
    seen: dict[str, int],
) -> None:
    record = _record(path, row, values, types, plan)
    rid = record["id"]
    if rid in seen:
        raise ImportFileError(
            path, f"id {rid} is also on row {seen[rid]}: give each record once", row=row,
            column="id",
        )  # fmt: skip
    seen[rid] = row
    plan.records.append(record)
    plan.rows.append(row)


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number, {column: cell}); the header is row 1. Cells are text."""
    with _open(path) as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise ImportFileError(path, "the file is empty: expected a header row with id")
        header = [h.strip() for h in header]
        for name in header:
            if header.count(name) > 1:
                raise ImportFileError(path, "the header names it twice", row=1, column=name)
        if "id" not in header:
            raise ImportFileError(
                path, f"no id column: the header is {', '.join(header)}; add the records' "
                "ids as a column named id (as `sergas accounts export` writes it)", row=1,
            )  # fmt: skip
        row = 1
        try:
            # Rows as a spreadsheet numbers them (a cell may hold a line break).
            for row, cells in enumerate(reader, start=2):
                if not any(c.strip() for c in cells):
                    continue  # a blank line
                if len(cells) != len(header):
                    raise ImportFileError(
                        path, f"{len(cells)} cells for {len(header)} columns", row=row
                    )
                yield row, dict(zip(header, cells, strict=True))
        except csv.Error as exc:
            raise ImportFileError(path, f"not a CSV file: {exc}", row=row + 1) from None


def _jsonl_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, the object); blank lines are skipped."""
    with _open(path) as handle:
        for row, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except ValueError as exc:
                raise ImportFileError(path, f"not JSON: {exc}", row=row) from None
            if not isinstance(value, dict):
                raise ImportFileError(path, "expected one JSON object per line", row=row)
            if "id" not in value:
                raise ImportFileError(path, "no id: each record needs its id", row=row)
            yield row, value


@contextlib.contextmanager
def _open(path: Path) -> Iterator[IO[str]]:
    """The file as text (UTF-8; a spreadsheet's byte-order mark is dropped); a file that
    cannot be read is bad usage, named."""
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise ImportFileError(path, exc.strerror or str(exc)) from None
    with handle:
        yield handle


def _record(
    path: Path, row: int, values: dict[str, Any], types: FieldTypes, plan: ImportPlan
) -> dict[str, Any]:
    """One row as the record to send: its id, then each field's typed value."""
    rid = values.get("id")
    text = str(rid).strip() if isinstance(rid, str | int) and not isinstance(rid, bool) else ""
    if not text.isdigit():
        raise ImportFileError(
            path, f"{rid!r} is not a Zoho record id (digits)", row=row, column="id"
        )
    record: dict[str, Any] = {"id": text}
    for column, raw in values.items():
        if column == "id" or column in plan.ignored:
            continue
        target = _target(path, row, column, types, plan)
        if target is None:
            continue
        name, meta, by_id = target
        if name in record:
            raise ImportFileError(
                path, f"{name} is given twice (as {name} and {name}.id): keep one", row=row,
                column=column,
            )  # fmt: skip
        try:
            record[name] = _value(meta, raw, by_id=by_id)
        except ValueError as exc:
            raise ImportFileError(path, str(exc), row=row, column=column) from None
        plan.fields[name] = None
    return record


def _target(
    path: Path, row: int, column: str, types: FieldTypes, plan: ImportPlan
) -> tuple[str, dict[str, Any], bool] | None:
    """The field a column sets: (API name, metadata, set by its id); None for a column that
    is not sent (noted in `plan.ignored`)."""
    if column.startswith("$"):
        plan.ignored[column] = "Zoho's own key, not a field"
        return None
    base, dot, key = column.partition(".")
    meta = find_field(base, types)
    if meta is None:
        raise ImportFileError(path, unknown_field(base, types), row=row, column=column)
    name = str(meta["api_name"])
    if meta.get("read_only") or meta.get("field_read_only"):
        plan.ignored[column] = "read-only in Zoho"
        return None
    lookup = str(meta.get("data_type")) in _LOOKUPS
    if dot and not lookup:
        raise ImportFileError(
            path, f"{name} is not a lookup: name the column {name}", row=row, column=column
        )
    if dot and key != "id":
        plan.ignored[column] = f"a lookup is set by its id ({name}.id)"
        return None
    return name, meta, bool(dot)


def _value(meta: dict[str, Any], raw: Any, *, by_id: bool) -> Any:
    """A cell (text) or a JSON value as the value the field takes; a lookup as {"id": …}."""
    if raw is None or raw == "":
        return None  # an empty cell, or JSON null: the field is cleared
    if by_id:
        return {"id": _lookup_id(meta, raw)}
    text = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False)
    value = typed_value(meta, text, clear=True, verbatim=isinstance(raw, str))
    if str(meta.get("data_type")) in _LOOKUPS and value is not None:
        return {"id": _lookup_id(meta, value)}
    return value


def _lookup_id(meta: dict[str, Any], value: Any) -> str:
    found = value.get("id") if isinstance(value, dict) else value
    if isinstance(found, str | int) and not isinstance(found, bool) and str(found).isdigit():
        return str(found)
    name = meta["api_name"]
    raise ValueError(
        f"{name} (a lookup) is set by the id of the record it points at, not {value!r}"
    )


def outcome_rows(plan: ImportPlan, results: Sequence[RecordResult]) -> list[dict[str, Any]]:
    """One row per record, in the file's order: Zoho's code, message and details as sent."""
    return [
        {
            "row": plan.rows[r.index],
            "id": r.id or plan.records[r.index]["id"],
            "ok": r.ok,
            "code": r.code,
            "message": r.message,
            "details": dict(r.details),
        }
        for r in results
    ]


def failed_rows(plan: ImportPlan, exc: SergasError) -> list[dict[str, Any]]:
    """Every record's outcome when the whole update failed (nothing was written): the
    error's code, message and details."""
    return [
        {
            "row": row,
            "id": record["id"],
            "ok": False,
            "code": exc.code,
            "message": exc.message,
            "details": dict(exc.details),
        }
        for row, record in zip(plan.rows, plan.records, strict=True)
    ]


def write_outcomes(path: Path, fmt: Format, rows: Sequence[dict[str, Any]]) -> None:
    """The outcomes file, whole or not at all, 0600."""
    with atomic_write(path, newline="") as out:
        if fmt == "jsonl":
            for row in rows:
                out.write(json.dumps(row, default=str, ensure_ascii=False) + "\n")
            return
        writer = csv.writer(out)
        writer.writerow(OUTCOME_COLUMNS)
        for row in rows:
            details = row["details"]
            writer.writerow(
                [
                    row["row"],
                    row["id"],
                    "true" if row["ok"] else "false",
                    row["code"],
                    row["message"],
                    json.dumps(details, default=str, ensure_ascii=False) if details else "",
                ]
            )
