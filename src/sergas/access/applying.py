"""Applying approved changes to Zoho, safely: checked against what Zoho holds now, sent at
most once, and recoverable when the process applying one dies.

Before a change is sent, the fields are read from Zoho and compared (`assess()`) with the
values seen when it was proposed (`Approval.current`) and with the proposed ones:

- every field holds the proposed value: nothing is sent; `applied` (`ALREADY_APPLIED`);
- the fields hold what was seen (or the proposed value): sent; Zoho's answer recorded;
- a field moved to something else: refused. A reviewer gets `StaleProposalError` and the
  proposal stays pending (`force` applies it anyway); a change already approved is
  `failed` with `STALE_PROPOSAL`.

A change being sent is `applying`, with its holder (`sergas.access.approvals`). A holder that
dies (SIGKILL, a lost machine) leaves the row there; `recover_applying()` takes over rows
whose holder is gone (its process no longer runs on this host, or it has held the row longer
than `abandoned_after`), reads Zoho, and completes the change or records why it did not: the
table above again, so a change that reached Zoho before the crash is recorded, not resent.
`sergas approvals approve ID` on such a row, and `sergas approvals recover`, run it; so can a
job.

An error after which Zoho may or may not have applied the change (a timeout, a dropped
connection, a 5xx) is followed by one more read, for the same reason.

A create or a note (`Approval.action`) has nothing in Zoho to compare before it is sent, so
it is sent as approved (`create_records`, `add_note`), through the same hold and finish. It
cannot be read back either: one whose holder died while sending it, or whose answer was lost,
is `failed` with `OUTCOME_UNKNOWN` (look in Zoho before proposing it again), never resent.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson

from sergas import errors
from sergas.access.approvals import (
    APPLYING,
    APPROVED,
    CREATE,
    NOTE,
    PENDING,
    UNFINISHED,
    UPDATE,
    Approval,
    ApprovalStore,
    InProgressError,
    StaleProposalError,
    not_pending,
)
from sergas.access.principal import Principal
from sergas.errors import SergasError

if TYPE_CHECKING:
    from sergas.manager import Caller, ZohoIntegrationManager

__all__ = [
    "ABANDONED_AFTER",
    "Assessment",
    "apply",
    "approve",
    "assess",
    "current_values",
    "read_current",
    "recover_applying",
    "same_value",
    "write_directly",
]

ABANDONED_AFTER = 600.0  # seconds: a hold this old is taken over even from a live process
_READS_AT_ONCE = 4  # Zoho reads in flight for one listing
# After these, Zoho may have applied the change or not: read to find out.
_UNKNOWN_OUTCOME = (errors.ConnectionError, errors.TimeoutError, errors.ServerError)


def same_value(a: Any, b: Any) -> bool:
    """Whether two field values are the same to Zoho: a lookup and its id, 5 and 5.0,
    None and "", a multi-select in any order (but not True and 1, nor "5" and 5)."""
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    if a == b:
        return True
    if a in (None, "") and b in (None, ""):
        return True
    if isinstance(a, dict) or isinstance(b, dict):
        return _lookup_id(a) is not None and _lookup_id(a) == _lookup_id(b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(any(same_value(x, y) for y in b) for x in a)
    number_a, number_b = _number(a), _number(b)
    return number_a is not None and number_a == number_b


def _lookup_id(value: Any) -> str | None:
    if isinstance(value, dict):
        return None if value.get("id") is None else str(value["id"])
    if isinstance(value, str | int) and not isinstance(value, bool):
        return str(value)
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


@dataclass(frozen=True)
class Assessment:
    """A change against Zoho's values now."""

    now: dict[str, Any]
    applied: bool  # every field holds its proposed value
    changed: dict[str, dict[str, Any]]  # field → when_proposed, now, proposed

    def to_json(self) -> dict[str, Any]:
        return {"now": self.now, "applied": self.applied, "changed": self.changed}


def assess(approval: Approval, now: Mapping[str, Any]) -> Assessment:
    seen = approval.current or {}
    changed: dict[str, dict[str, Any]] = {}
    for field, proposed in approval.changes.items():
        value = now.get(field)
        if same_value(value, proposed) or field not in seen:
            continue
        if not same_value(value, seen[field]):
            changed[field] = {"when_proposed": seen[field], "now": value, "proposed": proposed}
    applied = all(same_value(now.get(f), v) for f, v in approval.changes.items())
    return Assessment(dict(now), applied, changed)


async def read_current(manager: ZohoIntegrationManager, approval: Approval) -> dict[str, Any]:
    """The changed fields' values in Zoho now (an update's; a create or a note has none)."""
    if approval.action != UPDATE or approval.record_id is None:
        return {}
    record = await manager.get_account(
        approval.record_id, fields=list(approval.changes), module=approval.module
    )
    return {field: record.get(field) for field in approval.changes}


async def current_values(
    manager: ZohoIntegrationManager, rows: Iterable[Approval]
) -> dict[int, dict[str, Any] | SergasError]:
    """Zoho's values now for each update proposal (by id), or the error that stopped the
    read: one read per record, a few at a time. Creates and notes have none."""
    by_record: dict[tuple[str, str], list[Approval]] = {}
    for row in rows:
        if row.action == UPDATE and row.record_id is not None:
            by_record.setdefault((row.module, row.record_id), []).append(row)
    gate = asyncio.Semaphore(_READS_AT_ONCE)

    async def read(key: tuple[str, str]) -> dict[str, Any] | SergasError:
        fields = sorted({f for row in by_record[key] for f in row.changes})
        async with gate:
            try:
                return await manager.get_account(key[1], fields=fields, module=key[0])
            except SergasError as exc:
                return exc

    records = await asyncio.gather(*(read(key) for key in by_record))
    found: dict[int, dict[str, Any] | SergasError] = {}
    for key, record in zip(by_record, records, strict=True):
        for row in by_record[key]:
            found[row.id] = (
                record
                if isinstance(record, SergasError)
                else {f: record.get(f) for f in row.changes}
            )
    return found


def stale_error(approval: Approval, found: Assessment) -> StaleProposalError:
    moved = "; ".join(
        f"{field}: {_show(c['when_proposed'])} when proposed, {_show(c['now'])} now, "
        f"{_show(c['proposed'])} proposed"
        for field, c in found.changed.items()
    )
    return StaleProposalError(
        f"approval #{approval.id}: changed in Zoho since it was proposed ({moved}); approve "
        "it anyway with --force, or reject it and propose again",
        details={"id": approval.id, "changed": found.changed},
    )


def _show(value: Any) -> str:
    return orjson.dumps(value, default=str).decode()


async def approve(
    store: ApprovalStore,
    manager: ZohoIntegrationManager,
    approval_id: int,
    by: str,
    note: str | None = None,
    *,
    force: bool = False,
    caller: Caller | None = None,
) -> Approval:
    """What `sergas approvals approve` does: a pending change is checked against Zoho,
    claimed and applied with the approver's authority (`caller`; the manager checks it); one
    left `approved` or `applying` by a process that is gone is recovered
    (`recover_applying`). StaleProposalError, with nothing changed, when a field moved since
    the proposal (unless `force`)."""
    approval = await store.get(approval_id)
    if approval.status in UNFINISHED:
        done = await recover_applying(
            store, manager, by=by, approval_id=approval_id, force=force, caller=caller
        )
        return done[0] if done else await store.get(approval_id)
    if approval.status != PENDING:
        raise not_pending(approval)
    if approval.action != UPDATE:
        claimed = await store.claim(approval_id, by, note)
        return await apply(store, manager, claimed, by=by, caller=caller)
    now = await read_current(manager, approval)
    found = assess(approval, now)
    if found.changed and not force:
        raise stale_error(approval, found)
    claimed = await store.claim(approval_id, by, note)
    return await apply(store, manager, claimed, by=by, force=force, now=now, caller=caller)


async def write_directly(
    store: ApprovalStore,
    manager: ZohoIntegrationManager,
    who: Principal,
    record_id: str | None,
    changes: Mapping[str, Any],
    reason: str,
    *,
    current: Mapping[str, Any] | None,
    module: str = "Accounts",
    action: str = UPDATE,
    caller: Caller | None = None,
) -> Approval:
    """A write by a client allowed to write: recorded as approved by itself and applied
    with its own authority (`caller`, default `who` as a library caller). An update's
    `current` was read from Zoho just now, so it is not read again."""
    row = await store.insert(
        who, record_id, changes, reason, current, module, APPROVED, action=action
    )
    return await apply(
        store, manager, row, by=who.label(), now=current, caller=caller or who.caller("library")
    )


async def apply(
    store: ApprovalStore,
    manager: ZohoIntegrationManager,
    approval: Approval,
    *,
    by: str,
    force: bool = False,
    now: Mapping[str, Any] | None = None,
    caller: Caller | None = None,
) -> Approval:
    """An `approved` change: held (→ applying), checked against Zoho (`now`, if it was just
    read), sent with `caller`'s authority, and its outcome recorded. If another process holds
    it, its row as it is."""
    held = await store.hold(approval, by)
    if held is None:
        return await store.get(approval.id)
    return await _complete(store, manager, held, force=force, now=now, caller=caller)


async def _complete(
    store: ApprovalStore,
    manager: ZohoIntegrationManager,
    held: Approval,
    *,
    force: bool,
    now: Mapping[str, Any] | None = None,
    recovered: dict[str, Any] | None = None,
    caller: Caller | None = None,
) -> Approval:
    if held.action != UPDATE:
        return await _complete_unread(store, manager, held, recovered=recovered, caller=caller)
    try:
        found = assess(held, now if now is not None else await read_current(manager, held))
    except SergasError:
        await store.release(held)  # nothing sent by this holder: back to approved
        raise
    if found.applied:
        outcome = _outcome(True, "ALREADY_APPLIED", "Zoho already holds the proposed values")
    elif found.changed and not force:
        error = stale_error(held, found)
        outcome = _outcome(False, error.code, error.message, error.details)
    else:
        sent = await _send(store, manager, held, caller)
        if sent is None:  # unknown whether Zoho applied it, and it cannot be read now
            return await store.get(held.id)
        outcome = sent
    if recovered is not None:
        outcome["recovered"] = recovered
    return await store.finish(held, outcome)


async def _complete_unread(
    store: ApprovalStore,
    manager: ZohoIntegrationManager,
    held: Approval,
    *,
    recovered: dict[str, Any] | None,
    caller: Caller | None,
) -> Approval:
    """A create or a note: sent once; never resent when it may have reached Zoho."""
    created = None
    if recovered is not None and recovered["status"] == APPLYING:
        outcome = _outcome(
            False,
            "OUTCOME_UNKNOWN",
            f"the {held.action} was being sent by a process that is gone: it may or may not "
            "be in Zoho; look there before proposing it again",
        )
    else:
        outcome, created = await _send_unread(manager, held, caller)
    if recovered is not None:
        outcome["recovered"] = recovered
    return await store.finish(held, outcome, created=created)


async def _send_unread(
    manager: ZohoIntegrationManager, held: Approval, caller: Caller | None
) -> tuple[dict[str, Any], str | None]:
    try:
        if held.action == CREATE:
            results = await manager.create_records(
                [held.changes], module=held.module, caller=caller
            )
            result = results.results[0]
        else:
            assert held.action == NOTE and held.record_id is not None
            result = await manager.add_note(
                held.record_id,
                content=str(held.changes.get("Note_Content", "")),
                title=held.changes.get("Note_Title"),
                module=held.module,
                caller=caller,
            )
    except _UNKNOWN_OUTCOME as exc:
        outcome = _outcome(False, "OUTCOME_UNKNOWN", exc.message, exc.details)
        outcome["details"] = {**outcome["details"], "error_code": exc.code}
        return outcome, None
    except SergasError as exc:
        return _outcome(False, exc.code, exc.message, exc.details), None
    outcome = _outcome(result.ok, result.code, result.message, dict(result.details))
    if result.ok and result.id:
        outcome["id"] = result.id
    return outcome, (result.id if result.ok and held.action == CREATE else None)


async def _send(
    store: ApprovalStore, manager: ZohoIntegrationManager, held: Approval, caller: Caller | None
) -> dict[str, Any] | None:
    """Zoho's answer as an outcome; None when that answer was lost and Zoho cannot be read
    to find out (the row stays applying, for recovery)."""
    assert held.record_id is not None
    try:
        result = await manager.update_account(
            held.record_id, held.changes, module=held.module, caller=caller
        )
    except _UNKNOWN_OUTCOME as exc:
        try:
            now = await read_current(manager, held)
        except SergasError:
            return None
        ok = assess(held, now).applied
        outcome = _outcome(ok, exc.code, exc.message, exc.details)
        outcome["details"] = {**outcome["details"], "applied_despite_error": ok}
        return outcome
    except SergasError as exc:
        return _outcome(False, exc.code, exc.message, exc.details)
    return _outcome(result.ok, result.code, result.message, dict(result.details))


def _outcome(
    ok: bool, code: str, message: str, details: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    return {"ok": ok, "code": code, "message": message, "details": dict(details or {})}


async def recover_applying(
    store: ApprovalStore,
    manager: ZohoIntegrationManager,
    *,
    by: str,
    approval_id: int | None = None,
    abandoned_after: float = ABANDONED_AFTER,
    force: bool = False,
    caller: Caller | None = None,
) -> list[Approval]:
    """Complete changes whose apply was interrupted: every `applying` row whose holder is
    gone and every `approved` row older than `abandoned_after` (or the one `approval_id`,
    taken at once when `approved`). Each is checked against Zoho and completed, or marked
    with why not; none is sent twice. Returns the rows recovered, as they are now.

    InProgressError for an `approval_id` whose holder still runs (and has held it less than
    `abandoned_after` seconds)."""
    if approval_id is not None:
        approval = await store.get(approval_id)
        if approval.status not in UNFINISHED:
            raise not_pending(approval)
        if not _abandoned(approval, abandoned_after, named=True):
            raise InProgressError(
                f"approval #{approval.id} is being applied by {approval.applying_by} "
                f"(process {approval.applying_process}) since {approval.applying_at}; if that "
                f"process is gone, run `sergas approvals recover {approval.id} --after 0`",
                details={"id": approval.id, "process": approval.applying_process},
            )
        candidates = [approval]
    else:
        found = await store.find(UNFINISHED, limit=10_000)
        candidates = [a for a in reversed(found) if _abandoned(a, abandoned_after, named=False)]
    done = []
    for approval in candidates:
        held = await store.hold(approval, by)
        if held is None:
            continue  # another process took it over first
        recovered = {
            "by": by,
            "status": approval.status,
            "process": approval.applying_process,
            "since": approval.applying_at.isoformat() if approval.applying_at else None,
        }
        done.append(
            await _complete(store, manager, held, force=force, recovered=recovered, caller=caller)
        )
    return done


def _abandoned(approval: Approval, after: float, *, named: bool) -> bool:
    if approval.status == APPROVED:
        return named or _age(approval.decided_at) >= after
    assert approval.status == APPLYING
    return _gone(approval.applying_process) or _age(approval.applying_at) >= after


def _age(at: datetime | None) -> float:
    return float("inf") if at is None else (datetime.now(UTC) - at).total_seconds()


def _gone(process: str | None) -> bool:
    """Whether the process holding a row is known to have ended: it ran on this host and
    its pid is no longer there."""
    host, _, rest = (process or "").partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's process: alive
        return False
    return False
