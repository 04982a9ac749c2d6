"""Record count, the recycle bin and mass update: one method per Zoho operation.

- GET /{module}/actions/count: the records a custom view, or a search (criteria, email,
  phone, word), or nothing, selects; 1 credit.
- GET /{module}/deleted?type=all|recycle|permanent: what DELETE put in the recycle bin.
  Zoho keeps deleted records 60 days, then deletes them for good: an entry older than that
  reads as `permanent`. If-Modified-Since keeps those deleted after it (304 if none).
- POST /{module}/actions/mass_update and GET …?job_id=: one set of values written to the
  records of `ids` or of a custom view; the job runs at once, so its status is COMPLETED.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sergas.sandbox import errors as E
from sergas.sandbox.clock import iso
from sergas.sandbox.limits import write_credits
from sergas.sandbox.paging import Page, per_page_of, positive
from sergas.sandbox.queries import search_predicate
from sergas.sandbox.records import NOT_MODIFIED, NotModified, known_module, since_iso
from sergas.sandbox.views import view_for

if TYPE_CHECKING:
    from sergas.sandbox.backend import Caller, Sandbox

RECYCLE_DAYS = 60
DELETED_TYPES = ("all", "recycle", "permanent")
MASS_UPDATE_IDS = 50_000  # records one mass update may name

Record = dict[str, Any]


@dataclass
class MassUpdateJob:
    module: str
    Status: str
    Failed_Count: int
    Updated_Count: int
    Not_Updated_Count: int
    Total_Count: int


class RecordActions:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox
        self.mass_updates: dict[str, MassUpdateJob] = {}

    # -- GET /crm/v8/{module}/actions/count ------------------------------------------------

    async def count(
        self,
        caller: Caller,
        module_name: str,
        *,
        cvid: str | None = None,
        criteria: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        word: str | None = None,
    ) -> int:
        async with self.sb.api_call(caller):
            self.sb.limits.charge(1)
            module = known_module(self.sb, module_name)
            searched = [
                n
                for n, v in (
                    ("criteria", criteria),
                    ("email", email),
                    ("phone", phone),
                    ("word", word),
                )
                if v
            ]
            if cvid and searched:
                raise E.AmbiguityDuringProcessing(
                    "Please use either Cvid or Search Params. Combination of both the params "
                    "is not allowed",
                    {"ambiguity_due_to": [{"param_name": "cvid"}, {"param_name": searched[0]}]},
                )
            if cvid:
                test = view_for(module, cvid).predicate(module, caller.user_id)
            else:
                test = search_predicate(module, criteria, email, phone, word)
            if test is None:
                return self.sb.store.count(module.api_name)
            return sum(1 for record in self.sb.store.all(module.api_name) if test(record))

    # -- GET /crm/v8/{module}/deleted ------------------------------------------------------

    async def deleted(
        self,
        caller: Caller,
        module_name: str,
        *,
        kind: str | None = None,
        page: int | None = None,
        per_page: int | None = None,
        modified_since: datetime | None = None,
    ) -> Page | NotModified | None:
        async with self.sb.api_call(caller):
            self.sb.limits.charge(1)
            module = known_module(self.sb, module_name)
            kind = kind or "all"
            if kind not in DELETED_TYPES:
                raise E.InvalidData(
                    "invalid data",
                    {"param_name": "type", "supported_values": list(DELETED_TYPES)},
                )
            size = per_page_of(per_page)
            offset = (positive("page", page, 1) - 1) * size
            purged_before = iso(self.sb.clock.now() - RECYCLE_DAYS * 86_400)
            since = since_iso(modified_since)
            entries: list[Record] = []
            for entry in reversed(self.sb.store.deleted(module.api_name)):
                deleted_at = entry["deleted_time"]
                if since and deleted_at <= since:
                    continue
                state = "permanent" if deleted_at < purged_before else "recycle"
                if kind in ("all", state):
                    entries.append({**entry, "type": state})
            if since and not entries:
                return NOT_MODIFIED
            entries.sort(key=lambda e: e["deleted_time"], reverse=True)
            chunk = entries[offset : offset + size]
            if not chunk:
                return None
            info = {
                "per_page": size,
                "count": len(chunk),
                "page": offset // size + 1,
                "more_records": len(entries) > offset + size,
            }
            return Page(chunk, info)

    # -- POST/GET /crm/v8/{module}/actions/mass_update -------------------------------------

    async def mass_update(
        self,
        caller: Caller,
        module_name: str,
        values: Any,
        *,
        ids: Sequence[Any] | None = None,
        cvid: str | None = None,
    ) -> dict[str, Any]:
        """Write `values` (Zoho's `data[0]`) to every record of `ids` or of view `cvid`;
        credits as a write of that many records (1 per 10)."""
        async with self.sb.api_call(caller, heavy=True):
            module = known_module(self.sb, module_name, per_item=True)
            if not isinstance(values, dict) or not values:
                raise E.MandatoryNotFound(
                    "required field not found",
                    {"api_name": "data", "json_path": "$.data"},
                    per_item=True,
                )
            if ids and cvid:
                raise E.AmbiguityDuringProcessing(
                    details={"ambiguity_due_to": [{"param_name": "ids"}, {"param_name": "cvid"}]}
                )
            if cvid:
                test = view_for(module, cvid).predicate(module, caller.user_id)
                chosen = [
                    r["id"] for r in self.sb.store.all(module.api_name) if test is None or test(r)
                ]
            elif ids:
                if len(ids) > MASS_UPDATE_IDS:
                    raise E.LimitExceeded(
                        details={"limit": MASS_UPDATE_IDS, "param_name": "ids"}, per_item=True
                    )
                chosen = [str(i) for i in ids]
            else:
                raise E.MandatoryNotFound(
                    "required field not found",
                    {"api_name": "ids", "json_path": "$.ids"},
                    per_item=True,
                )
            targets = len(chosen)
            self.sb.limits.charge(write_credits(targets))
            writer = self.sb.records.writer
            try:
                writer.check(module, values, "$.data[0]")
            except E.ZohoError as exc:
                exc.per_item = True
                raise
            updated = failed = 0
            for record_id in chosen:
                try:
                    writer.apply(module, {**values, "id": record_id}, "update")
                    updated += 1
                except E.ZohoError:
                    failed += 1
            job_id = str(int(self.sb.store.new_id()) * 10 + secrets.randbelow(10))
            self.mass_updates[job_id] = MassUpdateJob(
                module.api_name, "COMPLETED", failed, updated, 0, targets
            )
            return {
                "status": "success",
                "code": "SUCCESS",
                "message": "mass update scheduled successfully",
                "details": {"job_id": job_id},
            }

    async def mass_update_status(
        self, caller: Caller, module_name: str, job_id: str | None
    ) -> dict[str, Any]:
        async with self.sb.api_call(caller):
            self.sb.limits.charge(1)
            module = known_module(self.sb, module_name)
            if not job_id:
                raise E.RequiredParamMissing(details={"param_name": "job_id"})
            job = self.mass_updates.get(job_id)
            if job is None or job.module != module.api_name:
                raise E.InvalidData("invalid data", {"param_name": "job_id"})
            status = asdict(job)
            del status["module"]
            return status
