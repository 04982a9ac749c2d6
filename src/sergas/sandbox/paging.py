"""Zoho's paging of record lists, shared by every API that lists records page by page.

`page`/`per_page` reach the first 2,000 records; past that, `page_token` continues a chain
(valid 24 hours, bound to the request's other parameters and to the user, to
`SandboxConfig.page_token_limit` records). The list APIs (records, related records) check
their own parameters, then ask `Pager.start` where the page begins and `Pager.page` for it.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sergas.sandbox import errors as E
from sergas.sandbox.clock import iso
from sergas.sandbox.schema import SE_MODULE_KEY, Module

if TYPE_CHECKING:
    from sergas.sandbox.backend import Caller, Sandbox

MAX_PER_PAGE = 200
DISCRETE_LIMIT = 2000
PAGE_TOKEN_TTL = 24 * 3600.0
MAX_FIELDS = 50
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


def sort_of(sort_by: str | None, sort_order: str | None) -> tuple[str, str]:
    """`sort_by` (id, Created_Time or Modified_Time; id by default) and `sort_order`
    (desc by default)."""
    order_by = sort_by or "id"
    if order_by not in SORTABLE:
        raise E.InvalidData(
            "invalid data", {"param_name": "sort_by", "supported_values": list(SORTABLE)}
        )
    order = (sort_order or "desc").lower()
    if order not in ("asc", "desc"):
        raise E.InvalidData(
            "invalid data", {"param_name": "sort_order", "supported_values": ["asc", "desc"]}
        )
    return order_by, order


def sort_records(records: list[Record], sort_by: str, descending: bool) -> list[Record]:
    """Sorted by id, or by a time with ties broken by id (so paging is stable)."""
    if sort_by == "id":
        return sorted(records, key=lambda r: int(r["id"]), reverse=descending)
    return sorted(records, key=lambda r: (r.get(sort_by) or "", r["id"]), reverse=descending)


def project(record: Record, fields: list[str] | None) -> Record:
    """The record with only the asked fields (and its id, and `$se_module` when it has one);
    a copy either way."""
    if fields is None:
        return dict(record)
    out = {name: record.get(name) for name in fields}
    out["id"] = record["id"]
    if SE_MODULE_KEY in record:
        out[SE_MODULE_KEY] = record[SE_MODULE_KEY]
    return out


def binding_of(*bound: Any) -> str:
    """What a page token is bound to: the request's other parameters."""
    values = [tuple(v) if isinstance(v, list | tuple) else v for v in bound]
    return hashlib.sha1(repr(values).encode()).hexdigest()


class Pager:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox
        self.tokens: dict[str, PageToken] = {}

    def start(
        self,
        caller: Caller,
        binding: str,
        *,
        page: int | None,
        per_page: int | None,
        page_token: str | None,
    ) -> tuple[int, int]:
        """(offset, page size) of the asked page; Zoho's errors for a bad request."""
        size = per_page_of(per_page)
        if page_token:
            if page is not None:
                raise E.AmbiguityDuringProcessing(
                    details={
                        "ambiguity_due_to": [{"param_name": "page"}, {"param_name": "page_token"}]
                    }
                )
            return self._redeem(page_token, binding, caller.user_id), size
        offset = (positive("page", page, 1) - 1) * size
        if offset >= DISCRETE_LIMIT:
            raise E.DiscretePaginationLimitExceeded(details={"limit": DISCRETE_LIMIT})
        return offset, size

    def page(
        self,
        caller: Caller,
        binding: str,
        records: Sequence[Record],
        offset: int,
        size: int,
        *,
        by_token: bool,
        fields: list[str] | None,
    ) -> Page | None:
        """The page at `offset` (None when empty, Zoho's 204), with the paging `info`."""
        end = offset + size
        if not by_token and end > DISCRETE_LIMIT:
            end = DISCRETE_LIMIT
        chunk = records[offset:end]
        if not chunk:
            return None
        more = len(records) > end
        next_token: str | None = None
        expiry: str | None = None
        if more:
            next_token = self._issue(binding, end, caller.user_id)
            expiry = iso(self.tokens[next_token].expires_at)
        info = {
            "per_page": size,
            "count": len(chunk),
            "page": offset // size + 1,
            "more_records": more,
            "next_page_token": next_token,
            "previous_page_token": None,
            "page_token_expiry": expiry,
        }
        return Page([project(r, fields) for r in chunk], info)

    def _issue(self, binding: str, offset: int, user_id: str) -> str:
        token = secrets.token_hex(16)
        self.tokens[token] = PageToken(
            binding, offset, user_id, self.sb.clock.now() + PAGE_TOKEN_TTL
        )
        return token

    def _redeem(self, token: str, binding: str, user_id: str) -> int:
        state = self.tokens.get(token)
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
