"""Bulk Write, second half: apply a completed job's rows, show its status, build its result.

Rows are applied one by one through `RecordWriter.apply`, so validation and write bookkeeping
are the same as for the Records API. CSV cells become Zoho JSON values first: lookups by id
(`Account_Name`, `Account_Name.id`) or by a field of the related module
(`Account_Name.Account_Name`, or `find_by` in the mapping), owners by id or email, booleans
from `true`/`false`, dates and datetimes by the mapping's `format` (Zoho's defaults
`MM/dd/yyyy` and `MM/dd/yyyy HH:mm:ss`) or ISO 8601, which Bulk Read exports.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sergas.sandbox import errors as E
from sergas.sandbox.bulk_common import COMPLETED, IN_PROGRESS, zip_one
from sergas.sandbox.bulk_write import DEFAULT_FORMATS, Mapping, Outcome, WriteJob
from sergas.sandbox.clock import iso
from sergas.sandbox.schema import DATE_TYPES, DATETIME_TYPES, LOOKUP_TYPES, Field

if TYPE_CHECKING:
    from sergas.sandbox.backend import Sandbox

_JAVA_TO_STRPTIME = (
    ("yyyy", "%Y"),
    ("MM", "%m"),
    ("dd", "%d"),
    ("HH", "%H"),
    ("mm", "%M"),
    ("ss", "%S"),
)
_TOP_STATUS = {"ADDED": "ADDED", IN_PROGRESS: "INPROGRESS", COMPLETED: "COMPLETED"}


class _Run:
    """One job's application: CSV rows to Zoho JSON items, find_by resolution, outcomes."""

    def __init__(self, sb: Sandbox, job: WriteJob) -> None:
        self.sb, self.job = sb, job
        self.indexes: dict[tuple[str, str], dict[str, str]] = {}

    def index(self, module: str, field: str) -> dict[str, str]:
        key = (module, field)
        if key not in self.indexes:
            found: dict[str, str] = {}
            for record in self.sb.store.all(module):
                value = record.get(field)
                if value not in (None, ""):
                    found.setdefault(_key(value), record["id"])
            self.indexes[key] = found
        return self.indexes[key]

    def item(self, row: list[str]) -> dict[str, Any]:
        item: dict[str, Any] = {}
        for m in self.job.mappings:
            raw: Any = row[m.index] if m.index is not None and m.index < len(row) else ""
            if raw.strip() == "" and m.default_value is not None:
                raw = m.default_value
            if isinstance(raw, str) and raw.strip() == "":
                if not self.job.ignore_empty and self.job.operation != "insert":
                    item[m.api_name] = None
                continue
            fld = self.job.module.field(m.api_name)
            item[m.api_name] = self.convert(fld, m, raw) if fld and isinstance(raw, str) else raw
        return item

    def convert(self, fld: Field, m: Mapping, raw: str) -> Any:
        t = fld.data_type
        if t in LOOKUP_TYPES:
            key = m.find_by or "id"
            if key == "id":
                return {"id": raw.strip()}
            if key == "email":
                email = raw.strip().casefold()
                ref = next((u["id"] for u in self.sb.users if u["email"].casefold() == email), None)
            else:
                ref = self.index(fld.lookup_module or "", key).get(_key(raw))
            if ref is None:
                raise E.InvalidData(details={"api_name": m.api_name})
            return {"id": ref}
        if t == "boolean":
            return {"true": True, "false": False}.get(raw.strip().lower(), raw)
        if t in DATE_TYPES or t in DATETIME_TYPES:
            return _temporal(t in DATETIME_TYPES, raw.strip(), m.format)
        return raw

    def apply(self, position: int, row: list[str]) -> Outcome:
        job, records = self.job, self.sb.records.writer
        item = self.item(row)
        existing: str | None = None
        if job.find_by == "id":
            rid = str(item.get("id") or "")
            existing = rid if rid and self.sb.store.get(job.module.api_name, rid) else None
        elif job.find_by is not None and item.get(job.find_by) not in (None, ""):
            existing = self.index(job.module.api_name, job.find_by).get(_key(item[job.find_by]))
        if job.operation == "update" and existing is None:
            raise E.ResourceNotFound(details={"api_name": job.find_by})
        if existing is not None:
            result = records.apply(job.module, {**item, "id": existing}, "update", position)
            status = "updated"
        else:
            item.pop("id", None)
            result = records.apply(job.module, item, "create", position)
            status = "added"
        record_id = str(result["details"]["id"])
        if job.find_by not in (None, "id") and item.get(job.find_by) not in (None, ""):
            self.index(job.module.api_name, str(job.find_by))[_key(item[job.find_by])] = record_id
        return Outcome(record_id, status, "")


def _key(value: Any) -> str:
    return str(value.get("id") if isinstance(value, dict) else value).strip().casefold()


def _temporal(is_datetime: bool, raw: str, fmt: str | None) -> str:
    """A CSV date or datetime in the stored ISO form; unparseable text is passed on as is
    (so `RecordWriter.apply` reports it as INVALID_DATA)."""
    pattern = fmt or DEFAULT_FORMATS["datetime" if is_datetime else "date"]
    for java, py in _JAVA_TO_STRPTIME:
        pattern = pattern.replace(java, py)
    try:
        parsed = datetime.strptime(raw, pattern)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(raw)
        except ValueError:
            return raw
    if not is_datetime:
        return parsed.date().isoformat()
    return iso(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC))


def run_write(sb: Sandbox, job: WriteJob) -> None:
    """Apply every row (at the job's first observation when done); keep each row's outcome."""
    run = _Run(sb, job)
    outcomes: list[Outcome] = []
    for position, row in enumerate(job.rows):
        try:
            outcomes.append(run.apply(position, row))
        except E.ZohoError as exc:
            column = exc.details.get("api_name")
            outcomes.append(Outcome("", "skipped", f"{exc.code}-{column}" if column else exc.code))
    job.outcomes = outcomes


def write_json(job: WriteJob, state: str, download_url: str) -> dict[str, Any]:
    """The job as GET /crm/bulk/v8/write/{id} shows it (top level, not wrapped in `data`)."""
    done = state == COMPLETED and job.outcomes is not None
    outcomes = job.outcomes or []
    file = {
        "status": state,
        "name": job.file_name,
        "added_count": sum(o.status == "added" for o in outcomes),
        "skipped_count": sum(o.status == "skipped" for o in outcomes),
        "updated_count": sum(o.status == "updated" for o in outcomes),
        "total_count": len(job.rows),
    }
    resource: dict[str, Any] = {
        "status": state,
        "type": "data",
        "code": "SUCCESS" if done else "ADDED",
        "module": {"api_name": job.module.api_name, "id": job.module.id},
        "field_mappings": [m.json() for m in job.mappings],
        "file": file,
        "file_id": job.file_id,
        "ignore_empty": job.ignore_empty,
    }
    if job.find_by is not None:
        resource["find_by"] = job.find_by
    body: dict[str, Any] = {
        "status": _TOP_STATUS[state],
        "character_encoding": job.character_encoding,
        "resource": [resource],
        "id": job.id,
        "created_by": job.created_by,
        "operation": job.operation,
        "created_time": iso(job.timeline.created_at),
    }
    if job.callback is not None:
        body["callback"] = job.callback
    if done:
        body["result"] = {"download_url": download_url}
    return body


def result_archive(job: WriteJob) -> bytes:
    """Zoho's result file: the first three mapped columns, RECORD_ID, STATUS, ERRORS."""
    shown = sorted((m for m in job.mappings if m.index is not None), key=lambda m: m.index or 0)[:3]
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
    writer.writerow([*(job.header[m.index or 0] for m in shown), "RECORD_ID", "STATUS", "ERRORS"])
    for row, outcome in zip(job.rows, job.outcomes or [], strict=False):
        cells = [row[m.index] if m.index is not None and m.index < len(row) else "" for m in shown]
        writer.writerow([*cells, outcome.record_id, outcome.status, outcome.errors])
    stem = job.file_name.rsplit(".", 1)[0]
    return zip_one(f"{job.module.api_name}-{stem}.csv", buffer.getvalue().encode("utf-8"))
