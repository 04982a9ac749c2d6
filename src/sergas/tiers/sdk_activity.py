"""A record's related records and notes, deleted records and record counts through the SDK
(primitives of `SDKPrimitives`, in `SDKActivityCalls`).

- related records: `RelatedRecordsOperations(list, module).get_related_records`; the SDK
  looks the list up first (GET /settings/related_lists, once per list and process);
- notes on a record: the same call on the "Notes" list, newest first. The SDK's param class
  has no `sort_by`/`sort_order` (and its ParameterMap turns an unknown param's text into
  "None"), so they are set on the map directly. A note is added with
  `NotesOperations.create_notes` (POST /Notes with `Parent_Id` naming the record and its
  module: Zoho's way in the SDK);
- deleted records: `RecordOperations.get_deleted_records` (If-Modified-Since as a header);
- counts: `RecordOperations.record_count`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

from zohocrmsdk.src.com.zoho.crm.api.modules import MinifiedModule
from zohocrmsdk.src.com.zoho.crm.api.notes import BodyWrapper as NotesBody
from zohocrmsdk.src.com.zoho.crm.api.notes import Note, NotesOperations, ParentId
from zohocrmsdk.src.com.zoho.crm.api.record import GetDeletedRecordsParam, RecordCountParam
from zohocrmsdk.src.com.zoho.crm.api.related_records import (
    GetRelatedRecordsParam,
    RelatedRecordsOperations,
)

from sergas.tiers.core.calls import CallKind
from sergas.tiers.core.primitives import Item, Page, RelatedQuery, WriteAnswer
from sergas.tiers.sdk_convert import to_plain
from sergas.tiers.sdk_jobs import record_ops, request_headers
from sergas.tiers.sdk_runtime import parameters

__all__ = ["SDKActivityCalls", "sdk_items", "sdk_page"]

# Zoho takes these on related lists; the SDK's GetRelatedRecordsParam does not list them.
NEWEST_FIRST = {"sort_by": "Created_Time", "sort_order": "desc"}


class SDKActivityCalls:
    """Related records, notes, deleted records and counts over `run` (`SDKPrimitives.run`)."""

    run: Callable[..., Awaitable[Any]]  # (kind, call, *args, after=, records=, idempotent=)

    async def related_page(self, query: RelatedQuery) -> Page:
        return await self._related(query)

    async def notes_page(self, query: RelatedQuery) -> Page:
        return await self._related(query, newest_first=True)

    async def _related(self, query: RelatedQuery, newest_first: bool = False) -> Page:
        params = parameters(
            (GetRelatedRecordsParam.fields, ",".join(query.fields)),
            (GetRelatedRecordsParam.page, query.page),
            (GetRelatedRecordsParam.per_page, query.per_page),
        )
        if newest_first:
            params.request_parameters.update(NEWEST_FIRST)
        ops = RelatedRecordsOperations(query.related_list, query.module)
        page: Page = await self.run(
            CallKind.READ,
            ops.get_related_records,
            int(query.record_id),
            params,
            request_headers(),
            after=sdk_page,
        )
        return page

    async def add_note(self, module: str, record_id: str, note: Mapping[str, Any]) -> WriteAnswer:
        status, items = await self.run(
            CallKind.WRITE,
            lambda: NotesOperations().create_notes(_note_body(module, record_id, note)),
            after=sdk_items,
            records=1,
            idempotent=False,
            with_status=True,
        )
        return WriteAnswer(items, status)

    async def deleted_page(
        self, module: str, kind: str, page: int, per_page: int, since: datetime | None
    ) -> Page:
        params = parameters(
            (GetDeletedRecordsParam.type, kind),
            (GetDeletedRecordsParam.page, page),
            (GetDeletedRecordsParam.per_page, per_page),
        )
        found: Page = await self.run(
            CallKind.READ,
            record_ops(module).get_deleted_records,
            params,
            request_headers(since),
            after=sdk_page,
        )
        return found

    async def count(self, module: str, criteria: str | None) -> int:
        params = parameters((RecordCountParam.criteria, criteria))
        found: int = await self.run(
            CallKind.READ,
            record_ops(module).record_count,
            params,
            after=lambda m: int(m.get_count() or 0) if m is not None else 0,
        )
        return found


def _note_body(module: str, record_id: str, note: Mapping[str, Any]) -> Any:
    """Built in the worker thread, like every SDK request."""
    parent_module = MinifiedModule()
    parent_module.set_api_name(module)
    parent = ParentId()
    parent.set_module(parent_module)
    parent.set_id(int(record_id))
    model = Note()
    model.set_parent_id(parent)
    model.set_note_content(str(note["Note_Content"]))
    if note.get("Note_Title"):
        model.set_note_title(str(note["Note_Title"]))
    body = NotesBody()
    body.set_data([model])
    return body


# -- answers, converted in the worker thread ----------------------------------------------------


def sdk_page(model: Any) -> Page:
    """A records answer as plain records and its paging `info` (empty for 204 and 304)."""
    if model is None:
        return Page([])
    records = [to_plain(r) for r in model.get_data() or []]
    return Page.of(records, to_plain(model.get_info()) if hasattr(model, "get_info") else None)


def sdk_items(model: Any) -> list[Item | None]:
    """A write answer's items in Zoho's JSON shape (status, code, message, details)."""
    items = list(model.get_data() or []) if model is not None else []
    return [p if isinstance(p, dict) else None for p in (to_plain(i) for i in items)]
