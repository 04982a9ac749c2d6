"""Bulk Write (zoho-api.md §6), first half: uploaded zips and job validation.

Auto-mapping (no `field_mappings`) maps every header that is a field API name (`Id` for the
id, `Lookup.field` to resolve a lookup by that field); read-only fields such as
`Created_Time` are skipped, unknown headers are an error. `bulk_apply` runs the job.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sergas.sandbox import errors as E
from sergas.sandbox.bulk_common import (
    ColumnIndexNotFound,
    FileNotSupported,
    MandatoryFieldsNotMapped,
    RequestBodyNotSupported,
    Timeline,
    validate_callback,
)
from sergas.sandbox.schema import TEXT_TYPES, Field, Module

if TYPE_CHECKING:
    from sergas.sandbox.backend import Sandbox
    from sergas.sandbox.bulk import BulkJobs

MAX_UPLOAD = 25 * 1024 * 1024
MAX_UNCOMPRESSED = 8 * MAX_UPLOAD  # a guard against zip bombs
MAX_ROWS = 25_000
OPERATIONS = ("insert", "update", "upsert")
DELIMITERS = ",;:|"
DEFAULT_FORMATS = {"date": "MM/dd/yyyy", "datetime": "MM/dd/yyyy HH:mm:ss"}


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
        body: dict[str, Any] = {
            "api_name": self.api_name,
            "index": self.index,
            "format": self.format,
            "find_by": self.find_by,
        }
        if self.default_value is not None:  # Zoho leaves the key out rather than send null
            body["default_value"] = {"value": self.default_value}
        return body


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
        zlib.error,
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
        target = sb.modules.get(fld.lookup_module or "")  # multi-module lookups: by id only
        return key == "id" or (target is not None and target.field(key) is not None)
    return False
