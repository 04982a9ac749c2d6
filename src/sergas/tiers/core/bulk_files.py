"""Zoho's bulk jobs as files: the zipped CSVs going up and coming back, Bulk Read's text cells
typed back into the records API's JSON, and a failed job's error.

Bulk Write takes a CSV only for records a cell can say exactly (`csv_ready`): scalars and
lookups by id. None or "" (clearing a field) cannot be told from "leave it" under
`ignore_empty`, and lists and subforms have no CSV form; such records go by PUT instead.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sergas import errors
from sergas.errors import SergasError, error_from_zoho
from sergas.query import api_name
from sergas.tiers.base import Record, RecordResult

__all__ = [
    "DONE",
    "NAME_FIELDS",
    "OWNER_TYPES",
    "bulk_columns",
    "csv_ready",
    "csv_rows",
    "job_error",
    "row_result",
    "typed_row",
    "zip_csv",
]

DONE = ("updated", "added")  # a result row's STATUS when the record was written
OWNER_TYPES = frozenset({"ownerlookup", "userlookup"})
_INTEGER = frozenset({"integer", "long"})  # bigint: a string, as the records API shows it
_DECIMAL = frozenset({"double", "currency", "percent", "decimal"})
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
FieldTypes = Mapping[str, Mapping[str, Any]]  # api_name -> its /settings/fields entry


def csv_ready(record: Mapping[str, Any]) -> bool:
    """True when a CSV cell can carry every value of the record exactly."""
    for key, value in record.items():
        if key == "id":
            continue
        if isinstance(value, dict):
            if set(value) - {"id", "name", "email"} or not value.get("id"):
                return False
        elif value is None or value == "" or not isinstance(value, str | int | float | bool):
            return False
    return True


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return str(value["id"])
    return str(value)


def zip_csv(module: str, records: list[Mapping[str, Any]]) -> bytes:
    """The records as a zipped CSV for Zoho's upload: an Id column, then every field seen."""
    import zipfile  # zipfile and dateutil's parser: only for bulk jobs, not every command

    columns: list[str] = []
    for record in records:
        columns.extend(api_name(k) for k in record if k != "id" and k not in columns)
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["Id", *columns])
    for record in records:
        writer.writerow([record["id"], *(_cell(record[c]) if c in record else "" for c in columns)])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{module}.csv", text.getvalue().encode("utf-8"))
    return buffer.getvalue()


def csv_rows(archive: bytes) -> list[dict[str, str]]:
    """The rows of the one CSV in a bulk job's zip, by header."""
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
            member = next(n for n in zipped.namelist() if n.lower().endswith(".csv"))
            text = zipped.read(member).decode("utf-8-sig")
    except (zipfile.BadZipFile, StopIteration, UnicodeDecodeError) as exc:
        raise SergasError(
            f"Zoho's bulk result is not a zipped CSV ({type(exc).__name__})",
            code="BULK_RESULT_UNREADABLE",
        ) from None
    return list(csv.DictReader(io.StringIO(text, newline="")))


def row_result(rows: list[dict[str, str]], n: int, index: int, rid: str) -> RecordResult:
    """Row n of a Bulk Write job's result CSV (rows are in upload order) as a RecordResult."""
    if n >= len(rows):
        return RecordResult(rid, False, "NOT_PROCESSED", "missing from the job's result", {}, index)
    row = rows[n]
    status = (row.get("STATUS") or "").strip().lower()
    if status in DONE:
        return RecordResult(
            row.get("RECORD_ID") or rid, True, "SUCCESS", f"record {status}", {}, index
        )
    raw = (row.get("ERRORS") or "").strip()
    code, _, column = raw.split(":", 1)[0].partition("-")
    details = {"api_name": column, "errors": raw} if column else {"errors": raw}
    return RecordResult(
        rid, False, code or "NOT_PROCESSED", status or "not processed", details, index
    )


def job_error(job: Mapping[str, Any], job_id: str) -> SergasError:
    """The error of a failed bulk job, mapped like any other Zoho error."""
    raw = (job.get("result") or {}).get("error_message") or {}
    if isinstance(raw, dict) and raw.get("code"):
        details = raw.get("details") if isinstance(raw.get("details"), dict) else {}
        return error_from_zoho(str(raw["code"]), None, str(raw.get("message", "")), details or {})
    return errors.ServerError(f"Bulk job {job_id} failed", code="BULK_JOB_FAILED")


# -- Bulk Read CSV -------------------------------------------------------------------------


def name_column(meta: Mapping[str, Any] | None) -> str | None:
    """The Bulk Read column that holds a (non-user) lookup's display name."""
    if not meta or meta.get("data_type") != "lookup":
        return None
    target = ((meta.get("lookup") or {}).get("module") or {}).get("api_name")
    if not target:
        return None
    return f"{meta['api_name']}.{NAME_FIELDS.get(str(target), 'Name')}"


def bulk_columns(fields: Sequence[str], types: FieldTypes) -> list[str]:
    """The columns to ask Bulk Read for: `fields` but id, each lookup followed by its name
    column, which the records API returns inside the lookup and Bulk Read only on request."""
    columns: list[str] = []
    for name in fields:
        if name == "id" or name in columns:
            continue
        columns.append(name)
        extra = name_column(types.get(name))
        if extra is not None:
            columns.append(extra)
    return columns


def typed_row(
    row: Mapping[str, str],
    fields: Sequence[str],
    types: FieldTypes,
    users: Mapping[str, Mapping[str, Any]],
) -> Record:
    """One Bulk Read CSV row as the records API's record: `id` first, then `fields` in order.
    Owners come from `users` (id -> `{"name","id","email"}`), as the records API shows them."""
    record: Record = {"id": row.get("Id") or row.get("id") or None}
    for name in fields:
        if name == "id":
            continue
        meta = types.get(name)
        raw = row.get(name, "")
        record[name] = _typed(raw, meta, row, users) if meta is not None else (raw or None)
    return record


def _typed(
    raw: str,
    meta: Mapping[str, Any],
    row: Mapping[str, str],
    users: Mapping[str, Mapping[str, Any]],
) -> Any:
    if raw == "":
        return None
    kind = meta.get("data_type", "text")
    if kind in OWNER_TYPES:
        return dict(users.get(raw) or {"name": None, "id": raw})
    if kind == "lookup":
        return {"name": row.get(name_column(meta) or "") or None, "id": raw}
    try:
        if kind in _INTEGER:
            return int(raw)
        if kind in _DECIMAL:
            return float(raw)
        if kind == "datetime":
            from dateutil.parser import isoparse

            return _iso_utc(isoparse(raw))
    except ValueError:
        return raw
    if kind == "boolean":
        return raw.strip().lower() == "true"
    if kind == "multiselectpicklist":
        return raw.split(";")
    return raw


def _iso_utc(value: datetime) -> str:
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat()
