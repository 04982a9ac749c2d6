"""Bulk Write (zoho-api.md §6): uploaded zips, job validation, row application, result CSV.

Rows are applied one by one through `Records.apply`, so validation and write bookkeeping
are the same as for the Records API. CSV cells become Zoho JSON values first: lookups by id
(`Account_Name`, `Account_Name.id`) or by a field of the related module
(`Account_Name.Account_Name`, or `find_by` in the mapping), owners by id or email, booleans
from `true`/`false`, dates and datetimes by the mapping's `format` (Zoho's defaults
`MM/dd/yyyy` and `MM/dd/yyyy HH:mm:ss`) or ISO 8601, which Bulk Read exports.

Auto-mapping (no `field_mappings`) maps every header that is a field API name (`Id` for the
id); read-only fields such as `Created_Time` are skipped, unknown headers are an error.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sergas.sandbox import errors as E
from sergas.sandbox.bulk_common import (
    COMPLETED,
    IN_PROGRESS,
    ColumnIndexNotFound,
    FileNotSupported,
    MandatoryFieldsNotMapped,
    RequestBodyNotSupported,
    Timeline,
    validate_callback,
    zip_one,
)
from sergas.sandbox.clock import iso
from sergas.sandbox.schema import (
    DATE_TYPES,
    DATETIME_TYPES,
    LOOKUP_TYPES,
    TEXT_TYPES,
    Field,
    Module,
)

if TYPE_CHECKING:
    from sergas.sandbox.backend import Sandbox
    from sergas.sandbox.bulk import BulkJobs

MAX_UPLOAD = 25 * 1024 * 1024
MAX_UNCOMPRESSED = 8 * MAX_UPLOAD  # a guard against zip bombs
MAX_ROWS = 25_000
OPERATIONS = ("insert", "update", "upsert")
DELIMITERS = ",;:|"
DEFAULT_FORMATS = {"date": "MM/dd/yyyy", "datetime": "MM/dd/yyyy HH:mm:ss"}
_JAVA_TO_STRPTIME = (
    ("yyyy", "%Y"),
    ("MM", "%m"),
    ("dd", "%d"),
    ("HH", "%H"),
    ("mm", "%M"),
    ("ss", "%S"),
)
_TOP_STATUS = {"ADDED": "ADDED", IN_PROGRESS: "INPROGRESS", COMPLETED: "COMPLETED"}


@dataclass
class UploadedFile:
    id: str
    name: str
    data: bytes
    created_at: float


@dataclass
class Mapping:
    api_name: str
    index: int | None
    find_by: str | None = None
    format: str | None = None
    default_value: Any = None

    def json(self) -> dict[str, Any]:
        default = None if self.default_value is None else {"value": self.default_value}
        return {
            "api_name": self.api_name,
            "index": self.index,
            "format": self.format,
            "find_by": self.find_by,
            "default_value": default,
        }


@dataclass
class Outcome:
    record_id: str
    status: str  # added, updated or skipped
    errors: str  # CODE-column, as in Zoho's result file


@dataclass
class WriteJob:
    id: str
    module: Module
    operation: str
    find_by: str | None
    mappings: list[Mapping]
    header: list[str]
    rows: list[list[str]]
    file_id: str
    file_name: str
    ignore_empty: bool
    character_encoding: str
    callback: dict[str, Any] | None
    created_by: dict[str, Any]
    timeline: Timeline
    outcomes: list[Outcome] | None = None


# -- upload ----------------------------------------------------------------------------------


def check_upload(
    sb: Sandbox, data: bytes | None, *, size: int, feature: str | None, org: str | None
) -> None:
    """The checks of POST /crm/v8/upload, in Zoho's order: headers, then the file."""
    if not feature:
        raise E.MandatoryNotFound("Required key feature is not available", {"api_name": "feature"})
    if feature.strip().lower() != "bulk-write":
        raise E.NotSupportedFeature(details={"api_name": "feature"})
    if not org:
        raise E.MandatoryNotFound(
            "Required key x-crm-org is not available", {"api_name": "X-CRM-ORG"}
        )
    if org.strip() != str(sb.org["zgid"]):
        raise E.InvalidData("Invalid data - x-crm-org", {"api_name": "X-CRM-ORG"})
    if data is None:
        raise E.MandatoryNotFound("Required key file is not available", {"api_name": "file"})
    if size > MAX_UPLOAD:
        raise E.FileTooLarge("File size too large to process", {"max_size": MAX_UPLOAD})
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        raise E.InvalidFileFormat(details={"api_name": "file"}) from None


# -- job creation ----------------------------------------------------------------------------


def parse_write(jobs: BulkJobs, body: Any, user_id: str | None) -> WriteJob:
    sb = jobs.sb
    if not isinstance(body, dict):
        raise RequestBodyNotSupported()
    operation = body.get("operation")
    if operation is None:
        raise _missing("operation", "$.operation")
    if operation not in OPERATIONS:
        raise E.InvalidData(
            details={
                "api_name": "operation",
                "json_path": "$.operation",
                "supported_values": list(OPERATIONS),
            }
        )
    callback = validate_callback(body.get("callback"), "$.callback")
    resources = body.get("resource")
    if not isinstance(resources, list) or not resources:
        raise _missing("resource", "$.resource")
    if len(resources) > 1:
        raise E.InvalidData(
            "the sandbox takes one resource per job (no subforms)",
            {"api_name": "resource", "json_path": "$.resource"},
        )
    res, path = resources[0], "$.resource[0]"
    if not isinstance(res, dict):
        raise E.InvalidData(details={"api_name": "resource", "json_path": path})
    if res.get("type", "data") != "data":
        raise E.InvalidData(
            details={"api_name": "type", "json_path": f"{path}.type", "supported_values": ["data"]}
        )
    raw_module = res.get("module")
    name = raw_module.get("api_name") if isinstance(raw_module, dict) else raw_module
    if not isinstance(name, str) or not name:
        raise _missing("module", f"{path}.module")
    module = sb.module(name)
    if module is None:
        raise E.ModuleNotAvailable(
            f"Requested module '{name}' is not available.",
            {"api_name": "module", "json_path": f"{path}.module"},
        )
    file_id = res.get("file_id")
    if file_id in (None, ""):
        raise _missing("file_id", f"{path}.file_id")
    file = jobs.files.get(str(file_id))
    if file is None:
        raise E.FileNotFound(details={"api_name": "file_id", "json_path": f"{path}.file_id"})
    find_by = _find_by(module, operation, res.get("find_by"), path)
    ignore_empty = res.get("ignore_empty", body.get("ignore_empty", False))
    if not isinstance(ignore_empty, bool):
        raise E.InvalidData(
            details={
                "api_name": "ignore_empty",
                "json_path": f"{path}.ignore_empty",
                "expected_data_type": "boolean",
            }
        )
    encoding = body.get("character_encoding") or "UTF-8"
    try:
        codecs.lookup(str(encoding))
    except LookupError:
        raise E.InvalidData(
            details={"api_name": "character_encoding", "json_path": "$.character_encoding"}
        ) from None
    file_name, header, rows = _read_csv(file, res.get("file_names"), str(encoding))
    mappings = _mappings(sb, module, header, res.get("field_mappings"), path)
    mapped = {m.api_name for m in mappings}
    if find_by is not None and find_by not in mapped:
        raise E.InvalidData(
            "the find_by field is not mapped", {"api_name": find_by, "json_path": f"{path}.find_by"}
        )
    if operation != "update":
        missing = [
            f.api_name for f in module.fields if f.system_mandatory and f.api_name not in mapped
        ]
        if missing:
            raise MandatoryFieldsNotMapped(
                details={"api_name": missing[0], "json_path": f"{path}.field_mappings"}
            )
    return WriteJob(
        id=jobs.new_id(),
        module=module,
        operation=operation,
        find_by=find_by,
        mappings=mappings,
        header=header,
        rows=rows,
        file_id=file.id,
        file_name=file_name,
        ignore_empty=ignore_empty,
        character_encoding=str(encoding),
        callback=callback,
        created_by=jobs.created_by(user_id),
        timeline=jobs.timeline(),
    )


def _missing(key: str, json_path: str) -> E.ZohoError:
    return E.MissingRequiredKey(
        f"required key {key} is not found in request body.", {"json_path": json_path}
    )


def _find_by(module: Module, operation: str, raw: Any, path: str) -> str | None:
    """`find_by`: required for update and upsert; the id or a text field (Zoho: unique fields)."""
    if raw in (None, ""):
        if operation == "insert":
            return None
        raise E.MandatoryNotFound(
            "Required key find_by is not available",
            {"api_name": "find_by", "json_path": f"{path}.find_by"},
        )
    fld = module.field(raw) if isinstance(raw, str) else None
    if fld is None or (fld.api_name != "id" and (fld.data_type not in TEXT_TYPES or fld.read_only)):
        raise E.InvalidData(details={"api_name": "find_by", "json_path": f"{path}.find_by"})
    return fld.api_name


def _read_csv(
    file: UploadedFile, names: Any, encoding: str
) -> tuple[str, list[str], list[list[str]]]:
    try:
        with zipfile.ZipFile(io.BytesIO(file.data)) as archive:
            infos = [
                i
                for i in archive.infolist()
                if not i.is_dir()
                and i.filename.lower().endswith(".csv")
                and not i.filename.startswith("__MACOSX")
            ]
            if isinstance(names, list) and names:
                infos = [
                    i
                    for i in infos
                    if i.filename in names or i.filename.rsplit("/", 1)[-1] in names
                ]
            if len(infos) != 1:
                raise FileNotSupported("the zip must hold exactly one CSV file for the module")
            if infos[0].file_size > MAX_UNCOMPRESSED:
                raise E.FileTooLarge("File size too large to process", {"max_size": MAX_UPLOAD})
            raw = archive.read(infos[0])
        text = raw.decode(encoding).lstrip("\ufeff")
        first = text.split("\n", 1)[0]
        delimiter = max(DELIMITERS, key=first.count)
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        header = [h.strip() for h in next(reader, [])]
        rows = [row for row in reader if any(cell.strip() for cell in row)]
    except (
        zipfile.BadZipFile,
        NotImplementedError,
        RuntimeError,
        UnicodeDecodeError,
        csv.Error,
        OSError,
        EOFError,
    ):
        raise FileNotSupported() from None
    if not any(header) or not rows:
        raise FileNotSupported("the CSV file holds no records")
    if len(rows) > MAX_ROWS:
        raise E.LimitExceeded(
            f"the CSV file holds more than {MAX_ROWS} records",
            {"limit": MAX_ROWS, "api_name": "file"},
        )
    return infos[0].filename.rsplit("/", 1)[-1], header, rows


def _mappings(sb: Sandbox, module: Module, header: list[str], raw: Any, path: str) -> list[Mapping]:
    jp = f"{path}.field_mappings"
    out: list[Mapping] = []
    if raw in (None, []):
        for position, column in enumerate(header):
            base, _, sub = column.partition(".")
            fld = module.field("id" if base == "Id" else base)
            if fld is None or (sub and not _lookup_key_ok(sb, fld, sub)):
                raise E.InvalidData(
                    f"invalid mapping. invalid api_name {column}.",
                    {"api_name": column, "json_path": jp},
                )
            if not (fld.read_only and fld.api_name != "id"):
                out.append(Mapping(fld.api_name, position, find_by=sub or None))
        return out
    if not isinstance(raw, list):
        raise E.InvalidData(details={"api_name": "field_mappings", "json_path": jp})
    for i, item in enumerate(raw):
        here = f"{jp}[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("api_name"), str):
            raise _missing("api_name", f"{here}.api_name")
        name = item["api_name"]
        fld = module.field(name)
        if fld is None or (fld.read_only and name != "id"):
            raise E.InvalidData(
                f"invalid mapping. invalid api_name {name}.",
                {"api_name": name, "json_path": f"{here}.api_name"},
            )
        if any(m.api_name == name for m in out):
            raise E.InvalidData("the field is mapped twice", {"api_name": name, "json_path": here})
        default = item.get("default_value")
        if isinstance(default, dict):
            default = default.get("value")
        index = item.get("index")
        if index is None and default is None:
            raise E.MissingRequiredKey(
                f"required key index for field {name} is not found in request body.",
                {"json_path": f"{here}.index"},
            )
        if index is not None and (
            isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(header)
        ):
            raise ColumnIndexNotFound(details={"api_name": name, "json_path": f"{here}.index"})
        find_by, fmt = item.get("find_by"), item.get("format")
        if find_by is not None and not (
            isinstance(find_by, str) and _lookup_key_ok(sb, fld, find_by)
        ):
            raise E.InvalidData(details={"api_name": "find_by", "json_path": f"{here}.find_by"})
        if fmt is not None and not (isinstance(fmt, str) and fld.data_type in DEFAULT_FORMATS):
            raise E.InvalidData(details={"api_name": "format", "json_path": f"{here}.format"})
        out.append(Mapping(name, index, find_by, fmt, default))
    return out


def _lookup_key_ok(sb: Sandbox, fld: Field, key: str) -> bool:
    """Lookups resolve by id or a field of the related module; owners by id or email."""
    if fld.data_type in ("ownerlookup", "userlookup"):
        return key in ("id", "email")
    if fld.data_type == "lookup":
        return key == "id" or sb.modules[fld.lookup_module or ""].field(key) is not None
    return False


# -- running ---------------------------------------------------------------------------------


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
        job, records = self.job, self.sb.records
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
    (so `Records.apply` reports it as INVALID_DATA)."""
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
