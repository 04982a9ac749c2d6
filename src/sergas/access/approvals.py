"""The approval queue: changes agents proposed, waiting for a person, and what became of them.

```
propose() ─► pending ─► approve: claim() ─► approved ─► apply() ─► applied | failed
                     └► reject()  ─► rejected
```

`claim()` moves pending → approved in one conditional UPDATE, so two reviewers (or two
processes) cannot both apply the same change. `apply()` sends it through the manager, with
the approver's authority (`caller`: the manager checks it), and records Zoho's answer (or the
refusal) either way. A client allowed to write directly goes through the same
path at once (`write_directly()`), so the table is the history of every agent's change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from sergas.access.audit import redact_arguments
from sergas.access.principal import Principal
from sergas.db.engine import database_errors
from sergas.db.tables import approvals
from sergas.errors import InvalidDataError, NotFoundError, SergasError

if TYPE_CHECKING:
    from sergas.manager import Caller, ZohoIntegrationManager

__all__ = ["STATUSES", "Approval", "ApprovalStore"]

PENDING, APPROVED, APPLIED, FAILED, REJECTED = (
    "pending",
    "approved",
    "applied",
    "failed",
    "rejected",
)
STATUSES = (PENDING, APPROVED, APPLIED, FAILED, REJECTED)


@dataclass(frozen=True)
class Approval:
    id: int
    created_at: datetime
    client_key_id: str | None
    client_name: str
    module: str
    record_id: str
    changes: dict[str, Any]
    current: dict[str, Any] | None
    reason: str
    status: str
    decided_at: datetime | None
    decided_by: str | None
    note: str | None
    outcome: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("created_at", "decided_at"):
            value = data[name]
            data[name] = value.isoformat() if value else None
        return data


def _approval(row: Any) -> Approval:
    return Approval(
        id=row.id,
        created_at=row.created_at,
        client_key_id=row.client_key_id,
        client_name=row.client_name,
        module=row.module,
        record_id=row.record_id,
        changes=dict(row.changes),
        current=dict(row.current) if row.current is not None else None,
        reason=row.reason,
        status=row.status,
        decided_at=row.decided_at,
        decided_by=row.decided_by,
        note=row.note,
        outcome=dict(row.outcome) if row.outcome is not None else None,
    )


class ApprovalStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def propose(
        self,
        who: Principal,
        record_id: str,
        changes: Mapping[str, Any],
        reason: str,
        *,
        current: Mapping[str, Any] | None = None,
        module: str = "Accounts",
    ) -> Approval:
        return await self._insert(who, record_id, changes, reason, current, module, PENDING)

    async def write_directly(
        self,
        manager: ZohoIntegrationManager,
        who: Principal,
        record_id: str,
        changes: Mapping[str, Any],
        reason: str,
        *,
        current: Mapping[str, Any] | None = None,
        module: str = "Accounts",
        caller: Caller | None = None,
    ) -> Approval:
        """A write by a client allowed to write: recorded as approved by itself, applied
        with its own authority (`caller`, default `who` as a library caller)."""
        row = await self._insert(who, record_id, changes, reason, current, module, APPROVED)
        return await self.apply(manager, row, caller=caller or who.caller("library"))

    async def _insert(
        self,
        who: Principal,
        record_id: str,
        changes: Mapping[str, Any],
        reason: str,
        current: Mapping[str, Any] | None,
        module: str,
        status: str,
    ) -> Approval:
        now = datetime.now(UTC)
        decided = status != PENDING
        values = {
            "created_at": now,
            "client_key_id": who.key_id,
            "client_name": who.name,
            "module": module,
            "record_id": record_id,
            "changes": dict(changes),
            "current": dict(current) if current is not None else None,
            "reason": redact_arguments(reason),  # free text: a pasted secret stops here
            "status": status,
            "decided_at": now if decided else None,
            "decided_by": f"{who.label()} (direct write)" if decided else None,
        }
        with database_errors(self.engine.url):
            async with self.engine.begin() as conn:
                result = await conn.execute(insert(approvals).returning(approvals.c.id), values)
                new_id = result.scalar_one()
        return await self.get(new_id)

    async def get(self, approval_id: int) -> Approval:
        with database_errors(self.engine.url):
            async with self.engine.connect() as conn:
                row = (
                    await conn.execute(select(approvals).where(approvals.c.id == approval_id))
                ).first()
        if row is None:
            raise NotFoundError(f"no approval #{approval_id}", details={"id": approval_id})
        return _approval(row)

    async def find(self, status: str | None = PENDING, *, limit: int = 100) -> list[Approval]:
        """Newest first; `status=None` lists every status."""
        query = select(approvals).order_by(approvals.c.id.desc()).limit(limit)
        if status is not None:
            if status not in STATUSES:
                raise InvalidDataError(f"status must be one of {', '.join(STATUSES)}")
            query = query.where(approvals.c.status == status)
        with database_errors(self.engine.url):
            async with self.engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return [_approval(r) for r in rows]

    async def claim(self, approval_id: int, by: str, note: str | None = None) -> Approval:
        """pending → approved, or InvalidDataError naming the status it already has."""
        return await self._decide(approval_id, APPROVED, by, note)

    async def reject(self, approval_id: int, by: str, note: str | None = None) -> Approval:
        return await self._decide(approval_id, REJECTED, by, note)

    async def _decide(self, approval_id: int, status: str, by: str, note: str | None) -> Approval:
        statement = (
            update(approvals)
            .where(approvals.c.id == approval_id, approvals.c.status == PENDING)
            .values(status=status, decided_at=datetime.now(UTC), decided_by=by, note=note)
        )
        with database_errors(self.engine.url):
            async with self.engine.begin() as conn:
                changed = (await conn.execute(statement)).rowcount
        approval = await self.get(approval_id)
        if not changed:
            raise InvalidDataError(
                f"approval #{approval_id} is {approval.status}, not pending",
                code="NOT_PENDING",
                details={"id": approval_id, "status": approval.status},
            )
        return approval

    async def apply(
        self, manager: ZohoIntegrationManager, approval: Approval, *, caller: Caller | None = None
    ) -> Approval:
        """Send an approved change to Zoho with the approver's authority (`caller`; None:
        the manager's own caller); record the outcome (applied or failed)."""
        try:
            result = await manager.update_account(
                approval.record_id, approval.changes, module=approval.module, caller=caller
            )
            outcome = {
                "ok": result.ok,
                "code": result.code,
                "message": result.message,
                "details": dict(result.details),
            }
        except SergasError as exc:
            outcome = {
                "ok": False,
                "code": exc.code,
                "message": exc.message,
                "details": exc.details,
            }
        statement = (
            update(approvals)
            .where(approvals.c.id == approval.id, approvals.c.status == APPROVED)
            .values(status=APPLIED if outcome["ok"] else FAILED, outcome=outcome)
        )
        with database_errors(self.engine.url):
            async with self.engine.begin() as conn:
                await conn.execute(statement)
        return await self.get(approval.id)

    async def approve(
        self,
        manager: ZohoIntegrationManager,
        approval_id: int,
        by: str,
        note: str | None = None,
        *,
        caller: Caller | None = None,
    ) -> Approval:
        """Claim, then apply with the approver's authority: what `sergas approvals approve`
        does."""
        return await self.apply(manager, await self.claim(approval_id, by, note), caller=caller)
