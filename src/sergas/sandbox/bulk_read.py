"""Bulk Read (zoho-api.md §5): parse the job, filter by Zoho's criteria, export one CSV page.

CSV layout (Zoho leaves some of it unconfirmed; these are the sandbox's choices):
- the first column is the record id, headed `Id`; then the requested fields in request
  order (every field of the module, in schema order, when `fields` is left out);
- lookup, owner and user columns hold the related id; `Lookup.Field` columns hold the
  related record's value (`Owner.last_name`, `Owner.email` and the like read the user);
- values are written as the records hold them (datetimes ISO 8601 with an offset, dates
  `yyyy-MM-dd`, booleans `true`/`false`); empty values are empty cells.
"""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sergas.sandbox import errors as E
from sergas.sandbox import values
from sergas.sandbox.bulk_common import (
    COMPLETED,
    CvidNotSupported,
    FieldComparatorNotSupported,
    FieldNotAvailable,
    GroupOperatorNotSupported,
    RequestBodyNotSupported,
    Timeline,
    ValueLimitExceeded,
    validate_callback,
    zip_one,
)
from sergas.sandbox.clock import iso
from sergas.sandbox.schema import DATE_TYPES, DATETIME_TYPES, LOOKUP_TYPES, NUMBER_TYPES, Module

if TYPE_CHECKING:
    from sergas.sandbox.backend import Sandbox
    from sergas.sandbox.bulk import BulkJobs

Record = dict[str, Any]
Predicate = Callable[[Record], bool]

PER_PAGE = 200_000
MAX_CRITERIA = 25
MAX_VALUES = 200
PAGE_TOKEN_TTL = 24 * 3600.0
EMPTY = "${EMPTY}"
USER_COLUMNS = ("id", "first_name", "last_name", "full_name", "email")

# Zoho's bulk comparators per field type, and their names in `values`.
_NUMBER_OPS = frozenset(
    {
        "equal",
        "not_equal",
        "in",
        "not_in",
        "less_than",
        "less_equal",
        "greater_than",
        "greater_equal",
    }
)
_TEXT_OPS = frozenset(
    {"equal", "not_equal", "in", "not_in", "contains", "not_contains", "starts_with", "ends_with"}
)
_DATE_OPS = _NUMBER_OPS | {"between", "not_between"}
_LOOKUP_OPS = frozenset({"equal", "not_equal", "in", "not_in"})
_OPS = {"equal": "equals"}


@dataclass
class ReadJob:
    id: str
    module: Module
    columns: list[str]  # CSV header after "Id": API names, dotted for related values
    predicate: Predicate | None
    page: int
    query: dict[str, Any]  # echoed in the job details
    callback: dict[str, Any] | None
    created_by: dict[str, Any]
    timeline: Timeline
    user_id: str | None
    result: dict[str, Any] | None = None
    archive: bytes | None = None
    tokens: dict[str, tuple[str | None, int, float]] = field(default_factory=dict)


def allowed_comparators(data_type: str) -> frozenset[str]:
    if data_type in NUMBER_TYPES:
        return _NUMBER_OPS
    if data_type in DATE_TYPES or data_type in DATETIME_TYPES:
        return _DATE_OPS
    if data_type == "boolean":
        return frozenset({"equal"})
    if data_type in LOOKUP_TYPES:
        return _LOOKUP_OPS
    return _TEXT_OPS


# -- parsing ---------------------------------------------------------------------------------


def parse_read(jobs: BulkJobs, body: Any, user_id: str | None) -> ReadJob:
    sb = jobs.sb
    if not isinstance(body, dict):
        raise RequestBodyNotSupported()
    query = body.get("query")
    if not isinstance(query, dict):
        raise E.MandatoryNotFound(details={"api_name": "query", "json_path": "$.query"})
    raw_module = query.get("module")
    name = raw_module.get("api_name") if isinstance(raw_module, dict) else raw_module
    if not isinstance(name, str) or not name:
        raise E.MandatoryNotFound(
            details={"api_name": "module", "json_path": "$.query.module.api_name"}
        )
    module = sb.module(name)
    if module is None:
        raise E.ModuleNotAvailable(
            f"Requested module '{name}' is not available.",
            {"api_name": "module", "json_path": "$.query.module.api_name"},
        )
    if query.get("cvid") not in (None, ""):
        raise CvidNotSupported(details={"api_name": "cvid", "json_path": "$.query.cvid"})
    file_type = body.get("file_type", query.get("file_type", "csv"))
    if file_type not in (None, "csv"):
        raise E.InvalidData(
            details={
                "api_name": "file_type",
                "json_path": "$.file_type",
                "supported_values": ["csv"],
            }
        )
    columns = _columns(sb, module, query.get("fields"))
    predicate = _criteria(module, query["criteria"]) if query.get("criteria") else None
    job_id = jobs.new_id()
    page = _page(jobs, query, module, user_id)
    echo: dict[str, Any] = {"module": {"id": module.id, "api_name": module.api_name}, "page": page}
    for key in ("fields", "criteria"):
        if query.get(key):
            echo[key] = query[key]
    return ReadJob(
        id=job_id,
        module=module,
        columns=columns,
        predicate=predicate,
        page=page,
        query=echo,
        callback=validate_callback(body.get("callback"), "$.callback"),
        created_by=jobs.created_by(user_id),
        timeline=jobs.timeline(),
        user_id=user_id,
    )


def _page(jobs: BulkJobs, query: dict[str, Any], module: Module, user_id: str | None) -> int:
    """`page` (1-based), or a `page_token` from an earlier job of the same user and module."""
    token = query.get("page_token")
    if token:
        for job in jobs.reads.values():
            found = job.tokens.get(token) if isinstance(token, str) else None
            if found is not None and job.module is module and found[0] == user_id:
                if found[2] <= jobs.sb.clock.now():
                    raise E.ExpiredValue(
                        details={"api_name": "page_token", "json_path": "$.query.page_token"}
                    )
                return found[1]
        raise E.InvalidData(details={"api_name": "page_token", "json_path": "$.query.page_token"})
    page = query.get("page", 1)
    if isinstance(page, str) and page.isdigit():
        page = int(page)
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise E.InvalidData(
            details={
                "api_name": "page",
                "json_path": "$.query.page",
                "expected_data_type": "integer",
            }
        )
    return page


def _columns(sb: Sandbox, module: Module, raw: Any) -> list[str]:
    if raw in (None, []):
        return [f.api_name for f in module.fields if f.api_name != "id"]
    if not isinstance(raw, list) or not all(isinstance(n, str) and n for n in raw):
        raise E.InvalidData(
            details={
                "api_name": "fields",
                "json_path": "$.query.fields",
                "expected_data_type": "jsonarray",
            }
        )
    columns: list[str] = []
    for name in raw:
        base, _, sub = name.partition(".")
        fld = module.field(base)
        ok = fld is not None and "." not in name
        if fld is not None and sub:
            if fld.data_type in ("ownerlookup", "userlookup"):
                ok = sub in USER_COLUMNS
            elif fld.data_type == "lookup":
                target = sb.modules.get(fld.lookup_module or "")
                ok = target is not None and target.field(sub) is not None
        if not ok:
            raise FieldNotAvailable(details={"api_name": name, "json_path": "$.query.fields"})
        if name != "id" and name not in columns:
            columns.append(name)
    return columns


def _criteria(module: Module, raw: Any) -> Predicate:
    leaves = [0]

    def build(node: Any, path: str) -> Predicate:
        if not isinstance(node, dict):
            raise E.InvalidCriteria(details={"json_path": path})
        if "group" in node or "group_operator" in node:
            op, group = node.get("group_operator"), node.get("group")
            if not isinstance(op, str) or op.lower() not in ("and", "or"):
                raise GroupOperatorNotSupported(
                    details={"api_name": "group_operator", "json_path": f"{path}.group_operator"}
                )
            if not isinstance(group, list) or not group:
                raise E.InvalidCriteria(details={"api_name": "group", "json_path": f"{path}.group"})
            parts = [build(child, f"{path}.group[{i}]") for i, child in enumerate(group)]
            combine = all if op.lower() == "and" else any
            return lambda record: combine(p(record) for p in parts)
        leaves[0] += 1
        if leaves[0] > MAX_CRITERIA:
            raise E.CriteriaLimitExceeded(
                "the number of criteria exceeds the limit", {"max_limit": MAX_CRITERIA}
            )
        return _leaf(module, node, path)

    return build(raw, "$.query.criteria")


def _leaf(module: Module, node: dict[str, Any], path: str) -> Predicate:
    ref = node.get("field")
    name = ref.get("api_name") if isinstance(ref, dict) else node.get("api_name")
    fld = module.field(name) if isinstance(name, str) else None
    if fld is None:
        raise FieldNotAvailable(details={"api_name": name, "json_path": f"{path}.field"})
    comparator = node.get("comparator")
    if not isinstance(comparator, str) or comparator not in allowed_comparators(fld.data_type):
        raise FieldComparatorNotSupported(
            details={
                "api_name": fld.api_name,
                "comparator": comparator,
                "supported": sorted(allowed_comparators(fld.data_type)),
            }
        )
    if "value" not in node:
        raise E.InvalidCriteria(details={"api_name": "value", "json_path": f"{path}.value"})
    value = node["value"]
    many = comparator in ("in", "not_in", "between", "not_between")
    items = value if isinstance(value, list) else [value]
    if many and not isinstance(value, list):
        raise E.InvalidCriteria(details={"api_name": fld.api_name, "json_path": f"{path}.value"})
    if len(items) > MAX_VALUES:
        raise ValueLimitExceeded(details={"max_limit": MAX_VALUES, "api_name": fld.api_name})
    empty = EMPTY in items
    rest = [v for v in items if v != EMPTY]
    op = _OPS.get(comparator, comparator)
    try:
        if op in ("equals", "not_equal") and empty:
            check = values.compile_condition(fld, "is_null" if op == "equals" else "is_not_null")
        elif op in ("in", "not_in") and empty:
            inner = values.compile_condition(fld, "in", rest) if rest else (lambda v: False)
            null = values.compile_condition(fld, "is_null")
            hit: Callable[[Any], bool] = lambda v: null(v) or inner(v)  # noqa: E731
            check = hit if op == "in" else (lambda v: not hit(v))
        else:
            check = values.compile_condition(fld, op, value)
    except E.ZohoError as exc:
        raise E.InvalidCriteria(
            details={"api_name": fld.api_name, "json_path": f"{path}.value", **exc.details}
        ) from None
    api_name = fld.api_name
    return lambda record: check(record.get(api_name))


# -- running ---------------------------------------------------------------------------------


def run_read(sb: Sandbox, job: ReadJob) -> None:
    """Snapshot the matching records into the job's CSV (at its first observation when done)."""
    selected = [
        r for r in sb.store.all(job.module.api_name) if job.predicate is None or job.predicate(r)
    ]
    start = (job.page - 1) * PER_PAGE
    chunk = selected[start : start + PER_PAGE]
    more = len(selected) > start + PER_PAGE
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
    writer.writerow(["Id", *job.columns])
    cell = _cell_reader(sb, job.module)
    for record in chunk:
        writer.writerow([record["id"], *(cell(record, c) for c in job.columns)])
    job.archive = zip_one(f"{job.id}.csv", buffer.getvalue().encode("utf-8"))
    job.result = {
        "page": job.page,
        "per_page": PER_PAGE,
        "count": len(chunk),
        "download_url": f"/crm/bulk/v8/read/{job.id}/result",
        "more_records": more,
    }
    if more:
        token = secrets.token_hex(16)
        job.tokens[token] = (job.user_id, job.page + 1, sb.clock.now() + PAGE_TOKEN_TTL)
        job.result["next_page_token"] = token


def _cell_reader(sb: Sandbox, module: Module) -> Callable[[Record, str], str]:
    users = {u["id"]: u for u in sb.users}

    def cell(record: Record, column: str) -> str:
        base, _, sub = column.partition(".")
        value = record.get(base)
        if not sub:
            return _text(value)
        ref = value.get("id") if isinstance(value, dict) else None
        if ref is None:
            return ""
        fld = module.field(base)
        if fld is not None and fld.data_type == "lookup":
            target = fld.linked_module(record)
            related = sb.store.get(target, str(ref)) if target in sb.modules else None
            return _text(related.get(sub) if related else None)
        return _text(users.get(str(ref), {}).get(sub))

    return cell


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return str(value.get("id") or "")
    if isinstance(value, list):
        return ";".join(_text(v) for v in value)
    return str(value)


def read_json(job: ReadJob, state: str) -> dict[str, Any]:
    """The job as GET /crm/bulk/v8/read/{id} shows it; `result` once completed."""
    body: dict[str, Any] = {
        "id": job.id,
        "operation": "read",
        "state": state,
        "query": job.query,
        "created_by": job.created_by,
        "created_time": iso(job.timeline.created_at),
        "file_type": "csv",
    }
    if job.callback is not None:
        body["callback"] = job.callback
    if state == COMPLETED and job.result is not None:
        body["result"] = job.result
    return body
