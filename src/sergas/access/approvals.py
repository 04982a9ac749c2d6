"""The approval queue: changes agents proposed, waiting for a person, and what became of them.

```
propose() ─► pending ─► claim() ─► approved ─► begin() ─► applying ─► finish() ─► applied
                     │                                        │                  └► failed
                     └► reject() ─► rejected                  └ (the process died)
                                                                 recover_applying()
```

Every move is one conditional UPDATE on the row's status, so two reviewers (or two
processes) cannot both take the same change. `applying` says a change is on its way to Zoho,
with who sent it, from which process (`host:pid:nonce`) and since when: a process killed
there leaves the row `applying`, and `sergas.access.applying.recover_applying()` finds what
Zoho holds now and completes the change or records why not, without sending it twice.

This module is the table's side (no Zoho call); `sergas.access.applying` sends changes
through the manager. A proposal's `action` says what it asks Zoho to do:

- `update`: change fields of one record (`changes`); it keeps the fields' values when it
  was proposed (`current`), so a change can be refused when a field has moved since
  (`StaleProposalError`);
- `create`: create one record in `module` with the fields in `changes`; `record_id` is
  empty until it is applied, then the new record's id;
- `note`: add a note to the record `record_id` of `module`; `changes` holds the note's
  `Note_Content` (and `Note_Title`).
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from sergas.access.audit import redact_arguments
from sergas.access.principal import Principal
from sergas.db.engine import database_errors
from sergas.db.tables import approvals
from sergas.errors import InvalidDataError, NotFoundError

__all__ = [
    "ACTIONS",
    "APPLIED",
    "APPLYING",
    "APPROVED",
    "FAILED",
    "PENDING",
    "REJECTED",
    "STATUSES",
    "UNFINISHED",
    "Approval",
    "ApprovalStore",
    "InProgressError",
    "StaleProposalError",
    "this_process",
]

PENDING, APPROVED, APPLYING, APPLIED, FAILED, REJECTED = (
    "pending",
    "approved",
    "applying",
    "applied",
    "failed",
    "rejected",
)
STATUSES = (PENDING, APPROVED, APPLYING, APPLIED, FAILED, REJECTED)
UNFINISHED = (APPROVED, APPLYING)  # decided, Zoho's answer not recorded yet
UPDATE, CREATE, NOTE = "update", "create", "note"
ACTIONS = (UPDATE, CREATE, NOTE)


class StaleProposalError(InvalidDataError):
    """A field changed in Zoho after the proposal: applying it would overwrite a value the
    proposal never saw. Nothing was sent."""

    default_code = "STALE_PROPOSAL"


class InProgressError(InvalidDataError):
    """Another process is applying this change right now."""

    default_code = "APPLYING"


def this_process() -> str:
    """`host:pid:nonce`: who holds an `applying` row. The nonce tells two holds by one
    process apart, so a hold taken over by recovery is never finished by its first owner."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass(frozen=True)
class Approval:
    id: int
    created_at: datetime
    client_key_id: str | None
    client_name: str
    module: str
    record_id: str | None  # None: a create not applied yet
    changes: dict[str, Any]
    current: dict[str, Any] | None  # the fields' values when proposed
    reason: str
    status: str
    decided_at: datetime | None
    decided_by: str | None
    note: str | None
    outcome: dict[str, Any] | None
    applying_at: datetime | None = None
    applying_by: str | None = None
    applying_process: str | None = None
    action: str = UPDATE

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("created_at", "decided_at", "applying_at"):
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
        applying_at=row.applying_at,
        applying_by=row.applying_by,
        applying_process=row.applying_process,
        action=row.action,
    )


class ApprovalStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def propose(
        self,
        who: Principal,
        record_id: str | None,
        changes: Mapping[str, Any],
        reason: str,
        *,
        current: Mapping[str, Any] | None,
        module: str = "Accounts",
        action: str = UPDATE,
    ) -> Approval:
        """A pending proposal. `current`: for an update, the fields' values in Zoho now,
        kept to show the reviewer and to refuse the change if they move before it is
        applied (None for a create or a note)."""
        return await self.insert(
            who, record_id, changes, reason, current, module, PENDING, action=action
        )

    async def insert(
        self,
        who: Principal,
        record_id: str | None,
        changes: Mapping[str, Any],
        reason: str,
        current: Mapping[str, Any] | None,
        module: str,
        status: str,
        *,
        action: str = UPDATE,
    ) -> Approval:
        """A new row: `pending`, or `approved` by `who` itself (a direct write)."""
        if action not in ACTIONS:
            raise InvalidDataError(f"unknown action {action!r}: use one of {', '.join(ACTIONS)}")
        if (record_id is None) != (action == CREATE):
            raise InvalidDataError(
                f"a {action} {'names no' if action == CREATE else 'needs a'} record id"
            )
        now = datetime.now(UTC)
        decided = status != PENDING
        values = {
            "created_at": now,
            "client_key_id": who.key_id,
            "client_name": who.name,
            "action": action,
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

    async def find(
        self,
        status: str | tuple[str, ...] | None = PENDING,
        *,
        limit: int = 100,
        client: Principal | None = None,
    ) -> list[Approval]:
        """Newest first; `status=None` lists every status; `client`: only its proposals."""
        query = select(approvals).order_by(approvals.c.id.desc()).limit(limit)
        if status is not None:
            wanted = (status,) if isinstance(status, str) else status
            unknown = [s for s in wanted if s not in STATUSES]
            if unknown:
                raise InvalidDataError(
                    f"unknown status {unknown[0]!r}: use one of {', '.join(STATUSES)}"
                )
            query = query.where(approvals.c.status.in_(wanted))
        if client is not None:
            query = query.where(
                approvals.c.client_key_id == client.key_id
                if client.key_id is not None
                else (
                    approvals.c.client_key_id.is_(None) & (approvals.c.client_name == client.name)
                )
            )
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
            raise not_pending(approval)
        return approval

    async def hold(self, approval: Approval, by: str) -> Approval | None:
        """approved → applying, or a dead holder's `applying` → ours: this process now
        sends the change. None when another process took it first (nothing to do here)."""
        if approval.status not in UNFINISHED:
            raise not_pending(approval)
        statement = (
            update(approvals)
            .where(
                approvals.c.id == approval.id,
                approvals.c.status == approval.status,
                # `== None` renders IS NULL: an approved row has no holder yet.
                approvals.c.applying_process == approval.applying_process,
            )
            .values(
                status=APPLYING,
                applying_at=datetime.now(UTC),
                applying_by=by[:255],
                applying_process=this_process(),
            )
        )
        with database_errors(self.engine.url):
            async with self.engine.begin() as conn:
                changed = (await conn.execute(statement)).rowcount
        return await self.get(approval.id) if changed else None

    async def release(self, held: Approval) -> None:
        """applying → approved, by a holder that sent nothing (Zoho could not be read
        first): the next apply reads Zoho again."""
        statement = (
            update(approvals)
            .where(
                approvals.c.id == held.id,
                approvals.c.status == APPLYING,
                approvals.c.applying_process == held.applying_process,
            )
            .values(status=APPROVED, applying_at=None, applying_by=None, applying_process=None)
        )
        with database_errors(self.engine.url):
            async with self.engine.begin() as conn:
                await conn.execute(statement)

    async def finish(
        self, held: Approval, outcome: dict[str, Any], *, created: str | None = None
    ) -> Approval:
        """applying → applied or failed, recording the outcome; only by the holder (a hold
        taken over since is left to its new holder, who records its own outcome).
        `created`: a create's new record id, kept as the row's `record_id`."""
        values: dict[str, Any] = {
            "status": APPLIED if outcome["ok"] else FAILED,
            "outcome": outcome,
        }
        if created is not None:
            values["record_id"] = created
        statement = (
            update(approvals)
            .where(
                approvals.c.id == held.id,
                approvals.c.status == APPLYING,
                approvals.c.applying_process == held.applying_process,
            )
            .values(**values)
        )
        with database_errors(self.engine.url):
            async with self.engine.begin() as conn:
                await conn.execute(statement)
        return await self.get(held.id)


def not_pending(approval: Approval) -> InvalidDataError:
    return InvalidDataError(
        f"approval #{approval.id} is {approval.status}, not pending",
        code="NOT_PENDING",
        details={"id": approval.id, "status": approval.status},
    )
