"""The Records API: one method per Zoho operation, with typed arguments.

Each public method is one API call as Zoho counts it: it holds the org's concurrency slot
(and the sub-concurrency slot of heavy APIs) through `Sandbox.api_call`, charges its
credits, and returns what the call answers (`None` where Zoho answers 204, `NOT_MODIFIED`
for 304). Front ends (`sergas.sandbox.http`, `sergas.sandbox.mcp_server`) parse their
input into these arguments and render the result; they keep no accounting of their own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from sergas.sandbox import errors as E
from sergas.sandbox.clock import iso
from sergas.sandbox.limits import CVID_CREDITS, HEAVY_WRITE, write_credits
from sergas.sandbox.paging import (
    Page,
    Pager,
    binding_of,
    field_names,
    project,
    sort_of,
    sort_records,
)
from sergas.sandbox.record_writes import RecordWriter
from sergas.sandbox.schema import Module
from sergas.sandbox.views import view_for

if TYPE_CHECKING:
    from sergas.sandbox.backend import Caller, Sandbox

MAX_WRITE = 100

Record = dict[str, Any]
Predicate = Callable[[Record], bool]


class NotModified:
    """What a read answers when nothing changed since If-Modified-Since (Zoho's 304)."""


NOT_MODIFIED: Final = NotModified()


@dataclass
class WriteResult:
    """Per-record outcomes in input order, and the HTTP status Zoho would use."""

    items: list[dict[str, Any]]
    status: int


def known_module(sb: Sandbox, name: str, *, per_item: bool = False) -> Module:
    """The module named in the path; INVALID_MODULE otherwise."""
    module = sb.module(name)
    if module is None:
        raise E.InvalidModule(details={"resource_path_index": 0}, per_item=per_item)
    return module


def since_iso(since: datetime | None) -> str | None:
    """If-Modified-Since as the stored times are written (UTC ISO), for comparing as text."""
    return None if since is None else iso(since.timestamp())


def modified_after(since: str) -> Predicate:
    return lambda record: (record.get("Modified_Time") or "") > since


def record_id_of(raw: str, index: int = 1) -> str:
    if not raw.isdigit():
        raise E.InvalidData("the id given seems to be invalid", {"resource_path_index": index})
    return raw


class Records:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox
        self.pager = Pager(sandbox)
        self.writer = RecordWriter(sandbox)

    # -- GET /crm/v8/{module} --------------------------------------------------------------

    async def list_records(
        self,
        caller: Caller,
        module_name: str,
        *,
        fields: Sequence[str] | None = None,
        page: int | None = None,
        per_page: int | None = None,
        page_token: str | None = None,
        sort_by: str | None = None,
        sort_order: str | None = None,
        cvid: str | None = None,
        ids: Sequence[str] | None = None,
        modified_since: datetime | None = None,
    ) -> Page | NotModified | None:
        """GET /crm/v8/{module}: a page; `cvid` filters by a custom view (3 credits) and
        If-Modified-Since to records modified after it (NOT_MODIFIED if none)."""
        async with self.sb.api_call(caller):
            self.sb.limits.charge(CVID_CREDITS if cvid else 1)
            module = known_module(self.sb, module_name)
            names = field_names(module, fields, required=True)
            order_by, order = sort_of(sort_by, sort_order)
            if cvid and sort_by:
                raise E.AmbiguityDuringProcessing(
                    details={
                        "ambiguity_due_to": [{"param_name": "cvid"}, {"param_name": "sort_by"}]
                    }
                )
            view = view_for(module, cvid).predicate(module, caller.user_id) if cvid else None
            since = since_iso(modified_since)
            binding = binding_of(
                module.api_name, names, per_page, sort_by, sort_order, cvid, ids, since
            )
            offset, size = self.pager.start(
                caller, binding, page=page, per_page=per_page, page_token=page_token
            )
            tests = [t for t in (view, modified_after(since) if since else None) if t]
            records = self.select(module, ids, order_by, order == "desc", tests)
            if since and not records:
                return NOT_MODIFIED
            found = self.pager.page(
                caller,
                binding,
                records,
                offset,
                size,
                by_token=bool(page_token),
                fields=names,
            )
            if found is not None:
                found.info.update(
                    {"sort_by": order_by, "sort_order": order, "call": False, "email": False}
                )
            return found

    def select(
        self,
        module: Module,
        ids: Sequence[str] | None,
        sort_by: str,
        descending: bool,
        tests: Sequence[Predicate] = (),
    ) -> list[Record]:
        """The module's records (or those in `ids`) that pass every test, sorted."""
        if ids:
            if len(ids) > MAX_WRITE:
                raise E.LimitExceeded(details={"limit": MAX_WRITE, "param_name": "ids"})
            found = (self.sb.store.get(module.api_name, i) for i in ids)
            records = sort_records([r for r in found if r is not None], sort_by, descending)
        else:
            records = self.sb.store.ordered(module.api_name, sort_by, descending)
        for test in tests:
            records = [r for r in records if test(r)]
        return records

    # -- GET /crm/v8/{module}/{id} ---------------------------------------------------------

    async def get_record(
        self,
        caller: Caller,
        module_name: str,
        record_id: str,
        *,
        fields: Sequence[str] | None = None,
        modified_since: datetime | None = None,
    ) -> Record | NotModified | None:
        async with self.sb.api_call(caller):
            self.sb.limits.charge(1)
            module = known_module(self.sb, module_name)
            record_id_of(record_id)
            names = field_names(module, fields, required=False)
            record = self.sb.store.get(module.api_name, record_id)
            if record is None:
                return None
            since = since_iso(modified_since)
            if since and not modified_after(since)(record):
                return NOT_MODIFIED
            return project(record, names)

    # -- writes ----------------------------------------------------------------------------

    async def create_records(
        self, caller: Caller, module_name: str, records: Sequence[Any]
    ) -> WriteResult:
        """POST /crm/v8/{module}."""
        return await self._write(caller, module_name, records, "create")

    async def update_records(
        self,
        caller: Caller,
        module_name: str,
        records: Sequence[Any],
        *,
        record_id: str | None = None,
    ) -> WriteResult:
        """PUT /crm/v8/{module}, or PUT /crm/v8/{module}/{record_id} for one record."""
        return await self._write(caller, module_name, records, "update", record_id=record_id)

    async def upsert_records(
        self,
        caller: Caller,
        module_name: str,
        records: Sequence[Any],
        *,
        duplicate_check_fields: Sequence[str] | None = None,
    ) -> WriteResult:
        """POST /crm/v8/{module}/upsert."""
        return await self._write(
            caller, module_name, records, "upsert", duplicate_check_fields=duplicate_check_fields
        )

    async def _write(
        self,
        caller: Caller,
        module_name: str,
        records: Sequence[Any],
        mode: str,
        *,
        record_id: str | None = None,
        duplicate_check_fields: Sequence[str] | None = None,
    ) -> WriteResult:
        """≤ 100 records, per-record results; more than 10 make it a heavy call."""
        async with self.sb.api_call(caller, heavy=len(records) > HEAVY_WRITE):
            self.sb.limits.charge(write_credits(len(records)))
            module = known_module(self.sb, module_name, per_item=True)
            if not records:
                raise E.MandatoryNotFound(
                    "required field not found",
                    {"api_name": "data", "json_path": "$.data"},
                    per_item=True,
                )
            if len(records) > MAX_WRITE:
                raise E.LimitExceeded(
                    "count of records in your request exceeds the limit",
                    {"maximum_length": MAX_WRITE, "api_name": "data"},
                    per_item=True,
                )
            items = list(records)
            if record_id is not None and isinstance(items[0], dict):
                items = [{**items[0], "id": record_id}]
            dup_fields = list(duplicate_check_fields) if duplicate_check_fields else None
            for index, name in enumerate(dup_fields or ()):
                if module.field(name) is None:
                    raise E.InvalidData(
                        "invalid data",
                        {
                            "api_name": "duplicate_check_fields",
                            "json_path": f"$.duplicate_check_fields[{index}]",
                        },
                        per_item=True,
                    )
            results: list[dict[str, Any]] = []
            ok = 0
            for index, item in enumerate(items):
                try:
                    results.append(self.writer.apply(module, item, mode, index, dup_fields))
                    ok += 1
                except E.ZohoError as exc:
                    results.append(exc.to_json())
            return WriteResult(results, write_status(ok, len(items), mode))

    # -- DELETE ----------------------------------------------------------------------------

    async def delete_records(
        self, caller: Caller, module_name: str, ids: Sequence[str]
    ) -> WriteResult:
        """DELETE /crm/v8/{module}?ids=…: deleted records go to the recycle bin."""
        async with self.sb.api_call(caller):
            self.sb.limits.charge(write_credits(len(ids) or 1))
            return self._delete(caller, module_name, ids)

    async def delete_record(self, caller: Caller, module_name: str, record_id: str) -> WriteResult:
        """DELETE /crm/v8/{module}/{record_id}."""
        async with self.sb.api_call(caller):
            self.sb.limits.charge(1)
            if not record_id.isdigit():
                raise E.InvalidData("invalid record id", {"resource_path_index": 1})
            return self._delete(caller, module_name, [record_id])

    def _delete(self, caller: Caller, module_name: str, ids: Sequence[str]) -> WriteResult:
        module = known_module(self.sb, module_name)
        if not ids:
            raise E.RequiredParamMissing(
                "One of the expected parameter is missing", {"param_name": "ids"}
            )
        if len(ids) > MAX_WRITE:
            raise E.LimitExceeded(details={"limit": MAX_WRITE, "param_name": "ids"})
        items: list[dict[str, Any]] = []
        binned: list[Record] = []
        ok = 0
        for record_id in ids:
            removed = self.sb.store.delete(module.api_name, record_id)
            found = removed is not None
            if removed is not None:
                binned.append(self._bin_entry(caller, module, removed))
            ok += found
            items.append(
                {
                    "code": "SUCCESS" if found else "INVALID_DATA",
                    "details": {"id": record_id},
                    "message": "record deleted" if found else "record not deleted",
                    "status": "success" if found else "error",
                }
            )
        self.sb.store.put_deleted(module.api_name, binned)
        return WriteResult(items, write_status(ok, len(ids), "delete"))

    def _bin_entry(self, caller: Caller, module: Module, record: Record) -> Record:
        """What GET /{module}/deleted lists for a deleted record."""
        by = self.sb.user_ref(caller.user_id, email=False)
        created = record.get("Created_By") or by
        name = record.get(module.name_field)
        return {
            "deleted_by": by,
            "id": record["id"],
            "display_name": name if isinstance(name, str) else None,
            "created_by": {"name": created.get("name"), "id": created.get("id")},
            "deleted_time": iso(self.sb.clock.now()),
        }


def write_status(ok: int, total: int, mode: str) -> int:
    """201/200 when every record succeeded, 400 when none did, 207 for a mix."""
    if ok == total:
        return 201 if mode == "create" else 200
    return 400 if ok == 0 else 207
