"""Related records: GET, PUT (relate) and DELETE (delink) /{module}/{id}/{related list},
and adding notes to a record (POST /{module}/{id}/Notes). One method per Zoho operation.

A related list is the child module's records whose link field points at the parent
(`relations.py`). Children are found through an index per (list, store version), so a
request reads only its parent's children. Relating sets a child's link field to the parent,
delinking clears it; both answer per child, in input order, like record writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sergas.sandbox import errors as E
from sergas.sandbox.clock import iso
from sergas.sandbox.limits import write_credits
from sergas.sandbox.paging import Page, binding_of, field_names, sort_of, sort_records
from sergas.sandbox.records import (
    MAX_WRITE,
    NOT_MODIFIED,
    NotModified,
    WriteResult,
    known_module,
    modified_after,
    record_id_of,
    since_iso,
    write_status,
)
from sergas.sandbox.relations import Relation, relation_of
from sergas.sandbox.schema import Module

if TYPE_CHECKING:
    from sergas.sandbox.backend import Caller, Sandbox

Record = dict[str, Any]
NOTES = "Notes"


class Related:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox
        self._index: dict[str, tuple[int, dict[str, list[Record]]]] = {}

    # -- GET /crm/v8/{module}/{id}/{related_list}[/{related_id}] ---------------------------

    async def list_related(
        self,
        caller: Caller,
        module_name: str,
        record_id: str,
        related_list: str,
        *,
        fields: Sequence[str] | None = None,
        page: int | None = None,
        per_page: int | None = None,
        page_token: str | None = None,
        sort_by: str | None = None,
        sort_order: str | None = None,
        ids: Sequence[str] | None = None,
        modified_since: datetime | None = None,
    ) -> Page | NotModified | None:
        """The parent's related records, a page at a time (1 credit); 204 when none,
        304 when none changed since If-Modified-Since."""
        async with self.sb.api_call(caller):
            self.sb.limits.charge(1)
            parent, record, relation = self._resolve(module_name, record_id, related_list)
            child = relation.child
            names = field_names(child, fields, required=True)
            order_by, order = sort_of(sort_by, sort_order)
            since = since_iso(modified_since)
            records = self.children(relation, parent, record["id"])
            if ids:
                wanted = set(ids)
                records = [r for r in records if r["id"] in wanted]
            if since:
                records = [r for r in records if modified_after(since)(r)]
                if not records:
                    return NOT_MODIFIED
            records = sort_records(records, order_by, order == "desc")
            pager = self.sb.records.pager
            binding = binding_of(
                parent.api_name,
                record["id"],
                relation.api_name,
                names,
                per_page,
                sort_by,
                sort_order,
                ids,
                since,
            )
            offset, size = pager.start(
                caller, binding, page=page, per_page=per_page, page_token=page_token
            )
            return pager.page(
                caller, binding, records, offset, size, by_token=bool(page_token), fields=names
            )

    def children(self, relation: Relation, parent: Module, parent_id: str) -> list[Record]:
        """The child records that point at the parent, ascending by id."""
        store = self.sb.store
        version = store.version(relation.module)
        cached = self._index.get(relation.id)
        if cached is None or cached[0] != version:
            by_parent: dict[str, list[Record]] = {}
            field = relation.field
            for record in store.all(relation.module):
                link = record.get(field)
                if isinstance(link, dict) and link.get("id"):
                    by_parent.setdefault(str(link["id"]), []).append(record)
            cached = self._index[relation.id] = (version, by_parent)
        return [r for r in cached[1].get(parent_id, ()) if relation.points_at(r, parent, parent_id)]

    # -- PUT /crm/v8/{module}/{id}/{related_list} ------------------------------------------

    async def relate(
        self,
        caller: Caller,
        module_name: str,
        record_id: str,
        related_list: str,
        items: Sequence[Any],
    ) -> WriteResult:
        """Point each child (`{"id": ...}`) at the parent: Zoho's "relation added"."""
        async with self.sb.api_call(caller):
            self.sb.limits.charge(write_credits(len(items) or 1))
            parent, record, relation = self._resolve(module_name, record_id, related_list)
            self._relatable(relation)
            if not items:
                raise E.MandatoryNotFound(
                    "required field not found",
                    {"api_name": "data", "json_path": "$.data"},
                    per_item=True,
                )
            if len(items) > MAX_WRITE:
                raise E.LimitExceeded(
                    details={"maximum_length": MAX_WRITE, "api_name": "data"}, per_item=True
                )
            values = relation.link(parent, record)
            results: list[dict[str, Any]] = []
            ok = 0
            for index, item in enumerate(items):
                child_id = str(item.get("id")) if isinstance(item, dict) else None
                if not child_id or child_id == "None":
                    results.append(
                        E.MandatoryNotFound(
                            "required field not found",
                            {"api_name": "id", "json_path": f"$.data[{index}].id"},
                        ).to_json()
                    )
                    continue
                if self._rewrite(relation, child_id, values):
                    ok += 1
                    results.append(_relation_item(child_id, "relation added"))
                else:
                    results.append(_related_id_error(child_id))
            return WriteResult(results, write_status(ok, len(items), "update"))

    # -- DELETE /crm/v8/{module}/{id}/{related_list}[/{related_id}] ------------------------

    async def delink(
        self,
        caller: Caller,
        module_name: str,
        record_id: str,
        related_list: str,
        ids: Sequence[str],
    ) -> WriteResult:
        """Clear each child's link to the parent: Zoho's "relation removed"."""
        async with self.sb.api_call(caller):
            self.sb.limits.charge(write_credits(len(ids) or 1))
            parent, record, relation = self._resolve(module_name, record_id, related_list)
            self._relatable(relation)
            if not ids:
                raise E.RequiredParamMissing(details={"param_name": "ids"})
            if len(ids) > MAX_WRITE:
                raise E.LimitExceeded(details={"limit": MAX_WRITE, "param_name": "ids"})
            results: list[dict[str, Any]] = []
            ok = 0
            for child_id in ids:
                child = self.sb.store.get(relation.module, child_id)
                if child is not None and relation.points_at(child, parent, record["id"]):
                    self._rewrite(relation, child_id, relation.unlink())
                    ok += 1
                    results.append(_relation_item(child_id, "relation removed"))
                else:
                    results.append(_related_id_error(child_id))
            return WriteResult(results, write_status(ok, len(ids), "delete"))

    # -- POST /crm/v8/{module}/{id}/Notes --------------------------------------------------

    async def add_notes(
        self, caller: Caller, module_name: str, record_id: str, notes: Sequence[Any]
    ) -> WriteResult:
        """Create notes on the record (Parent_Id set to it): a write of Notes."""
        parent = known_module(self.sb, module_name, per_item=True)
        relation = relation_of(parent, NOTES)
        if relation is None:
            raise E.InvalidData(
                "the relation name given seems to be invalid",
                {"resource_path_index": 2},
                per_item=True,
            )
        record = self.sb.store.get(parent.api_name, record_id) if record_id.isdigit() else None
        if record is None:
            raise E.InvalidData(
                "the id given seems to be invalid",
                {"resource_path_index": 1},
                status=404,
                per_item=True,
            )
        link = relation.link(parent, record)
        items = [{**n, **link} if isinstance(n, dict) else n for n in notes]
        return await self.sb.records.create_records(caller, NOTES, items)

    # -- helpers ---------------------------------------------------------------------------

    def _resolve(
        self, module_name: str, record_id: str, related_list: str
    ) -> tuple[Module, Record, Relation]:
        parent = known_module(self.sb, module_name)
        record_id_of(record_id)
        relation = relation_of(parent, related_list)
        if relation is None:
            raise E.InvalidData(
                "the relation name given seems to be invalid", {"resource_path_index": 2}
            )
        record = self.sb.store.get(parent.api_name, record_id)
        if record is None:
            # Zoho's related-records API answers a missing parent with 404.
            raise E.InvalidData(
                "the id given seems to be invalid", {"resource_path_index": 1}, status=404
            )
        return parent, record, relation

    @staticmethod
    def _relatable(relation: Relation) -> None:
        if not relation.relatable:
            raise E.NotSupported(
                f"{relation.api_name} cannot be related or delinked here; "
                f"write the {relation.module} records themselves",
                {"resource_path_index": 2},
            )

    def _rewrite(self, relation: Relation, child_id: str, values: dict[str, Any]) -> bool:
        """Set the child's link values; False when there is no such child."""
        store = self.sb.store
        child = store.get(relation.module, child_id)
        if child is None:
            return False
        me = self.sb.user_ref()
        store.put(
            relation.module,
            {**child, **values, "Modified_Time": iso(self.sb.clock.now()), "Modified_By": me},
        )
        self.sb.writes[(relation.module, child_id)] += 1
        return True


def _relation_item(child_id: str, message: str) -> dict[str, Any]:
    return {"code": "SUCCESS", "details": {"id": child_id}, "message": message, "status": "success"}


def _related_id_error(child_id: str) -> dict[str, Any]:
    return E.InvalidData("the related id given seems to be invalid", {"id": child_id}).to_json()
