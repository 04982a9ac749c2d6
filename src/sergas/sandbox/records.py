"""The Records API: one method per Zoho operation, with typed arguments.

Each public method is one API call as Zoho counts it: it holds the org's concurrency slot
(and the sub-concurrency slot of heavy APIs) through `Sandbox.api_call`, charges its
credits, and returns what the call answers (`None` where Zoho answers 204). Front ends
(`sergas.sandbox.http`, `sergas.sandbox.mcp_server`) parse their input into these
arguments and render the result; they keep no accounting of their own.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sergas.sandbox import errors as E
from sergas.sandbox.clock import iso
from sergas.sandbox.limits import CVID_CREDITS, HEAVY_WRITE, write_credits
from sergas.sandbox.record_writes import RecordWriter
from sergas.sandbox.schema import SE_MODULE_KEY, Module

if TYPE_CHECKING:
    from sergas.sandbox.backend import Caller, Sandbox

MAX_PER_PAGE = 200
DISCRETE_LIMIT = 2000
PAGE_TOKEN_TTL = 24 * 3600.0
MAX_FIELDS = 50
MAX_WRITE = 100
SORTABLE = ("id", "Created_Time", "Modified_Time")

Record = dict[str, Any]


@dataclass
class PageToken:
    binding: str
    offset: int
    user_id: str
    expires_at: float


@dataclass
class Page:
    data: list[Record]
    info: dict[str, Any]


@dataclass
class WriteResult:
    """Per-record outcomes in input order, and the HTTP status Zoho would use."""

    items: list[dict[str, Any]]
    status: int


def positive(name: str, value: int | None, default: int) -> int:
    if value is None:
        return default
    if value < 1:
        raise E.InvalidData("invalid data", {"param_name": name, "minimum": 1})
    return value


def per_page_of(value: int | None) -> int:
    per_page = positive("per_page", value, MAX_PER_PAGE)
    if per_page > MAX_PER_PAGE:
        raise E.LimitExceeded(details={"limit": MAX_PER_PAGE, "param_name": "per_page"})
    return per_page


def known_module(sb: Sandbox, name: str, *, per_item: bool = False) -> Module:
    """The module named in the path; INVALID_MODULE otherwise."""
    module = sb.module(name)
    if module is None:
        raise E.InvalidModule(details={"resource_path_index": 0}, per_item=per_item)
    return module


def field_names(module: Module, names: Sequence[str] | None, *, required: bool) -> list[str] | None:
    """The `fields` parameter checked against the module: at most 50 known names."""
    if not names:
        if required:
            raise E.RequiredParamMissing(details={"param_name": "fields"})
        return None
    if len(names) > MAX_FIELDS:
        raise E.LimitExceeded(details={"limit": MAX_FIELDS, "param_name": "fields"})
    for name in names:
        if module.field(name) is None:
            raise E.InvalidData(
                "the field api name given seems to be invalid",
                {"api_name": name, "param_name": "fields"},
            )
    return list(names)


def project(record: Record, fields: list[str] | None) -> Record:
    """The record with only the asked fields (and its id); a copy either way."""
    if fields is None:
        return dict(record)
    out = {name: record.get(name) for name in fields}
    out["id"] = record["id"]
    if SE_MODULE_KEY in record:
        out[SE_MODULE_KEY] = record[SE_MODULE_KEY]
    return out


class Records:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox
        self.page_tokens: dict[str, PageToken] = {}
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
    ) -> Page | None:
        async with self.sb.api_call(caller):
            self.sb.limits.charge(CVID_CREDITS if cvid else 1)
            module = known_module(self.sb, module_name)
            names = field_names(module, fields, required=True)
            size = per_page_of(per_page)
            order_by = sort_by or "id"
            if order_by not in SORTABLE:
                raise E.InvalidData(
                    "invalid data",
                    {"param_name": "sort_by", "supported_values": list(SORTABLE)},
                )
            order = (sort_order or "desc").lower()
            if order not in ("asc", "desc"):
                raise E.InvalidData(
                    "invalid data",
                    {"param_name": "sort_order", "supported_values": ["asc", "desc"]},
                )
            if cvid and sort_by:
                raise E.AmbiguityDuringProcessing(
                    details={
                        "ambiguity_due_to": [{"param_name": "cvid"}, {"param_name": "sort_by"}]
                    }
                )
            binding = self._binding(module, names, per_page, sort_by, sort_order, cvid, ids)
            if page_token:
                if page is not None:
                    raise E.AmbiguityDuringProcessing(
                        details={
                            "ambiguity_due_to": [
                                {"param_name": "page"},
                                {"param_name": "page_token"},
                            ]
                        }
                    )
                offset = self._redeem(page_token, binding, caller.user_id)
            else:
                offset = (positive("page", page, 1) - 1) * size
                if offset >= DISCRETE_LIMIT:
                    raise E.DiscretePaginationLimitExceeded(details={"limit": DISCRETE_LIMIT})
            records = self._sorted(module, self._select(module, ids), order_by, order == "desc")
            end = offset + size
            if not page_token and end > DISCRETE_LIMIT:
                end = DISCRETE_LIMIT
            chunk = records[offset:end]
            if not chunk:
                return None
            more = len(records) > end
            next_token: str | None = None
            expiry: str | None = None
            if more:
                next_token = self._issue(binding, end, caller.user_id)
                expiry = iso(self.page_tokens[next_token].expires_at)
            info = {
                "per_page": size,
                "count": len(chunk),
                "page": offset // size + 1,
                "sort_by": order_by,
                "sort_order": order,
                "more_records": more,
                "next_page_token": next_token,
                "previous_page_token": None,
                "page_token_expiry": expiry,
                "call": False,
                "email": False,
            }
            return Page([project(r, names) for r in chunk], info)

    def _select(self, module: Module, ids: Sequence[str] | None) -> list[Record] | None:
        """None means every record; `ids` narrows to the listed ones."""
        if not ids:
            return None
        if len(ids) > MAX_WRITE:
            raise E.LimitExceeded(details={"limit": MAX_WRITE, "param_name": "ids"})
        found = (self.sb.store.get(module.api_name, i) for i in ids)
        return [r for r in found if r is not None]

    def _sorted(
        self,
        module: Module,
        selected: list[Record] | None,
        sort_by: str,
        descending: bool,
    ) -> list[Record]:
        if selected is None:
            return self.sb.store.ordered(module.api_name, sort_by, descending)
        key = (
            (lambda r: int(r["id"]))
            if sort_by == "id"
            else (lambda r: (r.get(sort_by) or "", r["id"]))
        )
        return sorted(selected, key=key, reverse=descending)

    @staticmethod
    def _binding(module: Module, *bound: Any) -> str:
        """What a page token is bound to: the module and the request's other parameters."""
        values = [tuple(v) if isinstance(v, list | tuple) else v for v in bound]
        return hashlib.sha1(repr((module.api_name, values)).encode()).hexdigest()

    def _issue(self, binding: str, offset: int, user_id: str) -> str:
        token = secrets.token_hex(16)
        self.page_tokens[token] = PageToken(
            binding, offset, user_id, self.sb.clock.now() + PAGE_TOKEN_TTL
        )
        return token

    def _redeem(self, token: str, binding: str, user_id: str) -> int:
        state = self.page_tokens.get(token)
        if state is None or state.user_id != user_id:
            raise E.InvalidData(
                "invalid data", {"api_name": "page_token", "json_path": "$.query.page_token"}
            )
        if state.expires_at <= self.sb.clock.now():
            raise E.ExpiredValue(
                details={"api_name": "page_token", "json_path": "$.query.page_token"}
            )
        if state.binding != binding:
            raise E.TokenBoundDataMismatch(details={"param_name": "page_token"})
        limit = self.sb.config.page_token_limit
        if state.offset >= limit:
            raise E.PaginationLimitExceeded(
                f"You can only get upto {limit} records using page_token param",
                {"param_name": "page_token"},
            )
        return state.offset

    # -- GET /crm/v8/{module}/{id} ---------------------------------------------------------

    async def get_record(
        self,
        caller: Caller,
        module_name: str,
        record_id: str,
        *,
        fields: Sequence[str] | None = None,
    ) -> Record | None:
        async with self.sb.api_call(caller):
            self.sb.limits.charge(1)
            module = known_module(self.sb, module_name)
            if not record_id.isdigit():
                raise E.InvalidData("the id given seems to be invalid", {"resource_path_index": 1})
            names = field_names(module, fields, required=False)
            record = self.sb.store.get(module.api_name, record_id)
            return None if record is None else project(record, names)

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
            return WriteResult(results, _write_status(ok, len(items), mode))

    # -- DELETE ----------------------------------------------------------------------------

    async def delete_records(
        self, caller: Caller, module_name: str, ids: Sequence[str]
    ) -> WriteResult:
        """DELETE /crm/v8/{module}?ids=…"""
        async with self.sb.api_call(caller):
            self.sb.limits.charge(write_credits(len(ids) or 1))
            return self._delete(module_name, ids)

    async def delete_record(self, caller: Caller, module_name: str, record_id: str) -> WriteResult:
        """DELETE /crm/v8/{module}/{record_id}."""
        async with self.sb.api_call(caller):
            self.sb.limits.charge(1)
            if not record_id.isdigit():
                raise E.InvalidData("invalid record id", {"resource_path_index": 1})
            return self._delete(module_name, [record_id])

    def _delete(self, module_name: str, ids: Sequence[str]) -> WriteResult:
        module = known_module(self.sb, module_name)
        if not ids:
            raise E.RequiredParamMissing(
                "One of the expected parameter is missing", {"param_name": "ids"}
            )
        if len(ids) > MAX_WRITE:
            raise E.LimitExceeded(details={"limit": MAX_WRITE, "param_name": "ids"})
        items: list[dict[str, Any]] = []
        ok = 0
        for record_id in ids:
            found = record_id.isdigit() and self.sb.store.delete(module.api_name, record_id)
            ok += bool(found)
            items.append(
                {
                    "code": "SUCCESS" if found else "INVALID_DATA",
                    "details": {"id": record_id},
                    "message": "record deleted" if found else "record not deleted",
                    "status": "success" if found else "error",
                }
            )
        return WriteResult(items, _write_status(ok, len(ids), "delete"))


def _write_status(ok: int, total: int, mode: str) -> int:
    """201/200 when every record succeeded, 400 when none did, 207 for a mix."""
    if ok == total:
        return 201 if mode == "create" else 200
    return 400 if ok == 0 else 207
