"""Search and COQL, the two heavy read APIs: one method per Zoho operation.

Like `records.py`: each method is one API call (`Sandbox.api_call`, heavy), charges its
credits, and returns the page (`None` where Zoho answers 204).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from sergas.sandbox import errors as E
from sergas.sandbox.paging import (
    SORTABLE,
    Page,
    Record,
    field_names,
    per_page_of,
    positive,
    project,
)
from sergas.sandbox.records import known_module
from sergas.sandbox.schema import Module

if TYPE_CHECKING:
    from sergas.sandbox.backend import Caller, Sandbox

SEARCH_LIMIT = 2000


def search_predicate(
    module: Module,
    criteria: str | None,
    email: str | None,
    phone: str | None,
    word: str | None,
) -> Callable[[Record], bool] | None:
    """What a search matches: by criteria, else email, else phone, else word (as Zoho
    reads them, in that order); None when none is given."""
    from sergas.sandbox import criteria as C

    if criteria:
        return C.parse_criteria(criteria, module).matches
    if email:
        return C.email_predicate(module, email)
    if phone:
        return C.phone_predicate(module, phone)
    if word:
        return C.word_predicate(module, word)
    return None


class Queries:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox

    # -- GET /crm/v8/{module}/search -------------------------------------------------------

    async def search_records(
        self,
        caller: Caller,
        module_name: str,
        *,
        criteria: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        word: str | None = None,
        page: int | None = None,
        per_page: int | None = None,
        fields: Sequence[str] | None = None,
        sort_by: str | None = None,
        sort_order: str | None = None,
    ) -> Page | None:
        """GET /crm/v8/{module}/search: by criteria, else email, else phone, else word."""
        async with self.sb.api_call(caller, heavy=True):
            self.sb.limits.charge(1)
            module = known_module(self.sb, module_name)
            names = field_names(module, fields, required=False)
            size = per_page_of(per_page)
            page_no = positive("page", page, 1)
            predicate = search_predicate(module, criteria, email, phone, word)
            if predicate is None:
                raise E.ExpectedParamMissing(
                    details={"param_names": ["criteria", "email", "phone", "word"]}
                )
            offset = (page_no - 1) * size
            if offset >= SEARCH_LIMIT:
                raise E.LimitReached(details={"limit": str(SEARCH_LIMIT)})
            order_by = sort_by or "id"
            order = (sort_order or "asc").lower()
            if order_by not in SORTABLE:
                raise E.InvalidData("invalid data", {"param_name": "sort_by"})
            candidates = self.sb.store.ordered(module.api_name, order_by, order == "desc")
            end = min(offset + size, SEARCH_LIMIT)
            matched: list[Record] = []
            more = False
            for record in candidates:
                if predicate(record):
                    if len(matched) >= end:
                        more = end < SEARCH_LIMIT
                        break
                    matched.append(record)
            chunk = matched[offset:end]
            if not chunk:
                return None
            info = {
                "per_page": size,
                "count": len(chunk),
                "page": page_no,
                "sort_by": order_by,
                "sort_order": order,
                "more_records": more,
            }
            return Page([project(r, names) for r in chunk], info)

    # -- POST /crm/v8/coql -----------------------------------------------------------------

    async def coql(self, caller: Caller, query: str | None) -> Page | None:
        """POST /crm/v8/coql; costs credits by the query's LIMIT (a rejected query: none)."""
        from sergas.sandbox import coql as Q

        async with self.sb.api_call(caller, heavy=True):
            if not query or not query.strip():
                raise E.MandatoryNotFound("required field not found", {"api_name": "select_query"})
            result = Q.execute(query, self.sb.store, self.sb.modules)
            self.sb.limits.charge(Q.credits_for_limit(result.limit))
            if not result.rows:
                return None
            info = {"count": len(result.rows), "more_records": result.more_records}
            return Page(result.rows, info)
