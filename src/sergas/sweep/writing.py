"""Writing changed scores back in checkpointed batches, so that no batch is written twice.

Each batch: committed as "writing" before the call, "done" with every record's outcome
after it. A batch found "writing" (the process died mid-call, or the call failed in a way
that leaves its effect unknown) is reconciled before anything is sent: its records are read
back, and a record whose Health_Score, Account_Status and Last_Health_Check already equal
the planned values (Last_Health_Check is unique to the run) counts as written; only the
others are sent. See docs/sweep.md ("Resume").
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from sergas.errors import NotFoundError, SergasError
from sergas.sweep.model import Outcome
from sergas.sweep.reading import Gateway, all_or_nothing, parse_datetime
from sergas.sweep.store import DONE, WRITING, BatchRow, SweepStore
from sergas.tiers.base import Record

__all__ = ["BatchWriter", "Unresolved", "matches"]

WRITTEN_FIELDS = ("Health_Score", "Account_Status", "Last_Health_Check")
RECONCILE_CONCURRENCY = 10


class ReadBack(Gateway, Protocol):
    async def get_account(
        self, record_id: str, *, fields: Sequence[str] | None = None, module: str = "Accounts"
    ) -> Record: ...


class Unresolved(Exception):
    """A batch whose outcome could not be established (Zoho unreachable while checking);
    it stays "writing" and the next run resumes it."""


def matches(current: Mapping[str, Any], planned: Mapping[str, Any]) -> bool:
    """Whether the CRM already holds what the batch meant to write."""
    if current.get("Health_Score") != planned["Health_Score"]:
        return False
    if current.get("Account_Status") != planned["Account_Status"]:
        return False
    try:
        return parse_datetime(current.get("Last_Health_Check")) == parse_datetime(
            planned["Last_Health_Check"]
        )
    except ValueError:
        return False


def _announce(what: str) -> None:
    sys.stderr.write(f"sweep-test-pause {what} pid={os.getpid()}\n")
    sys.stderr.flush()


def _hook(hook: str | None, kind: str) -> int | None:
    """The N of a SERGAS_SWEEP_TEST_PAUSE value "kind:N", else None."""
    if hook and hook.startswith(kind + ":"):
        return int(hook.split(":", 1)[1])
    return None


class BatchWriter:
    def __init__(
        self,
        gateway: ReadBack,
        store: SweepStore,
        run_id: str,
        *,
        concurrency: int,
        clock: Callable[[], datetime],
        on_batch: Callable[[int], None] | None = None,
        test_pause: str | None = None,
    ) -> None:
        self.gateway = gateway
        self.store = store
        self.run_id = run_id
        self.concurrency = concurrency
        self.clock = clock
        self.on_batch = on_batch
        self.test_pause = test_pause
        self.done = 0
        self.in_flight = 0
        self.idle = asyncio.Event()  # set while no batch is in flight
        self.idle.set()
        self.unresolved: list[int] = []

    async def write_all(self, batches: Sequence[BatchRow]) -> dict[str, Outcome]:
        """Finish every batch not done yet; returns the outcome of every record of every
        batch (done before or now). Batches that stay unresolved are listed in
        `self.unresolved`, their records absent from the result."""
        outcomes: dict[str, Outcome] = {}
        todo: list[BatchRow] = []
        for batch in batches:
            if batch.state == DONE:
                outcomes.update({o.id: o for o in batch.outcomes or ()})
                self.done += 1
                if self.on_batch:
                    self.on_batch(len(batch.records))
            else:
                todo.append(batch)
        slots = asyncio.Semaphore(self.concurrency)

        async def one(batch: BatchRow) -> None:
            async with slots:
                await self._maybe_park()
                self.in_flight += 1
                self.idle.clear()
                try:
                    result = await self._write(batch)
                except Unresolved:
                    self.unresolved.append(batch.batch_no)
                    return
                finally:
                    self.in_flight -= 1
                    if not self.in_flight:
                        self.idle.set()
                outcomes.update({o.id: o for o in result})
                self.done += 1
                if self.on_batch:
                    self.on_batch(len(batch.records))

        # If one batch raises, the others are cancelled (a cancelled batch stays "writing").
        await all_or_nothing([one(b) for b in todo])
        return outcomes

    async def _maybe_park(self) -> None:
        """Test hook "after:N": start no batch once N are done; when the ones in flight have
        finished, announce it and wait to be killed (a crash between batches)."""
        after = _hook(self.test_pause, "after")
        if after is None or self.done < after:
            return
        await self.idle.wait()
        _announce(f"after:{self.done}")
        await asyncio.sleep(3600)

    async def _write(self, batch: BatchRow) -> list[Outcome]:
        confirmed: dict[str, Outcome] = {}
        to_send = list(batch.records)
        if batch.state == WRITING:  # left by a crash: find out what reached Zoho
            confirmed = await self._reconcile(to_send)
            to_send = [r for r in to_send if str(r["id"]) not in confirmed]
        await self.store.mark_writing(self.run_id, batch.batch_no, self.clock())
        if to_send:
            try:
                confirmed.update(await self._send(to_send))
            except SergasError as exc:
                # Unknown effect (every tier failed, perhaps mid-write): check, don't resend.
                found = await self._reconcile(to_send)
                failed = {
                    str(r["id"]): Outcome(str(r["id"]), False, exc.code, exc.message)
                    for r in to_send
                    if str(r["id"]) not in found
                }
                confirmed.update(found)
                confirmed.update(failed)
        if _hook(self.test_pause, "in") == batch.batch_no:
            _announce(f"in:{batch.batch_no}")
            # Blocking on purpose: the write is done, "done" is not recorded, nothing else runs.
            time.sleep(3600)  # noqa: ASYNC251
        outcomes = [confirmed[str(r["id"])] for r in batch.records]
        await self.store.mark_done(self.run_id, batch.batch_no, outcomes, self.clock())
        return outcomes

    async def _send(self, records: list[dict[str, Any]]) -> dict[str, Outcome]:
        result = await self.gateway.bulk_update_accounts(records, module="Accounts")
        by_index = {r.index: r for r in result.results}
        out: dict[str, Outcome] = {}
        for i, record in enumerate(records):
            record_id = str(record["id"])
            item = by_index.get(i)
            if item is None:  # the tier broke its one-outcome-per-record promise
                out[record_id] = Outcome(record_id, False, "NO_OUTCOME", "Zoho returned none")
            else:
                out[record_id] = Outcome(record_id, item.ok, item.code, item.message)
        return out

    async def _reconcile(self, records: list[dict[str, Any]]) -> dict[str, Outcome]:
        """Read the records back; those already holding the planned values are written."""
        slots = asyncio.Semaphore(RECONCILE_CONCURRENCY)

        async def check(planned: dict[str, Any]) -> Outcome | None:
            record_id = str(planned["id"])
            async with slots:
                try:
                    current = await self.gateway.get_account(
                        record_id, fields=list(WRITTEN_FIELDS), module="Accounts"
                    )
                except NotFoundError:
                    return Outcome(record_id, False, "NOT_FOUND", "the account no longer exists")
            if matches(current, planned):
                return Outcome(record_id, True, "SUCCESS", "already written", reconciled=True)
            return None

        try:
            found = await all_or_nothing([check(r) for r in records])
        except SergasError as exc:
            raise Unresolved(str(exc)) from exc
        return {o.id: o for o in found if o is not None}
