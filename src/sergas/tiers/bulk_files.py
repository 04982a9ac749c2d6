"""What the REST and SDK tiers share about Zoho's bulk jobs: the zipped CSVs going up and
coming back, and a failed job's error.

Bulk Write takes a CSV only for records a cell can say exactly (`csv_ready`): scalars and
lookups by id. None or "" (clearing a field) cannot be told from "leave it" under
`ignore_empty`, and lists and subforms have no CSV form; such records go by PUT instead.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Mapping
from typing import Any

from sergas import errors
from sergas.errors import SergasError, error_from_zoho
from sergas.query import api_name
from sergas.tiers.base import RecordResult

__all__ = ["DONE", "csv_ready", "csv_rows", "job_error", "row_result", "zip_csv"]

DONE = ("updated", "added")  # a result row's STATUS when the record was written


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
