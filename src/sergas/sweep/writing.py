"""Writing changed scores back in checkpointed batches, so that no record is written twice.

Each batch: committed as "writing" before the call, "done" with every record's outcome
after it. What reached Zoho is found by reading it back: every record of a run carries the
run's own Last_Health_Check stamp, so one bulk read (`Last_Health_Check = stamp`) returns
exactly the records this run has written, and a record holding the planned Health_Score,
Account_Status and stamp is written, whatever the checkpoint says. That read settles:

- batches found "writing" on resume (the process died around the call): only the records
  not already in Zoho are sent;
- a call that raised (every tier failed, perhaps halfway): nothing is resent in this run;
  records found written count as written, the others are reported;
- records Zoho reported as failed: a failure after the write (a lost answer) is caught.

A batch is marked "writing" only while the sweep's lease fence holds (LeaseLost otherwise),
and no batch is started once `stop` is set: the ones in flight finish, then Interrupted.

See docs/sweep.md ("Resume").
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sergas.errors import SergasError
from sergas.query import F
from sergas.sweep.lease import Fence, Interrupted
from sergas.sweep.model import Outcome
from sergas.sweep.reading import Gateway, all_or_nothing, parse_datetime
from sergas.sweep.store import DONE, WRITING, BatchRow, SweepStore
from sergas.tiers.base import Record

__all__ = ["BatchWriter", "Unresolved", "matches"]

WRITTEN_FIELDS = ("Health_Score", "Account_Status", "Last_Health_Check")


class Unresolved(Exception):
    """What a batch did could not be established (Zoho unreachable while checking); it
    stays "writing" and the next run resumes it."""


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
        gateway: Gateway,
        store: SweepStore,
        run_id: str,
        checked_at: datetime,
        *,
        concurrency: int,
        clock: Callable[[], datetime],
        fence: Fence,
        stop: asyncio.Event | None = None,
        on_batch: Callable[[int], None] | None = None,
        test_pause: str | None = None,
    ) -> None:
        self.gateway = gateway
        self.fence = fence
        self.stop = stop
        self.stopped = False
        self.store = store
        self.run_id = run_id
        self.checked_at = checked_at
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
        for batch in batches:
            if batch.state == DONE:
                outcomes.update({o.id: o for o in batch.outcomes or ()})
                self._finished(batch)
        todo = [b for b in batches if b.state != DONE]
        found: dict[str, Record] | None = None
        if any(b.state == WRITING for b in todo):  # left by a crash: what reached Zoho?
            try:
                found = await self._written_by_this_run()
            except SergasError:
                self.unresolved = [b.batch_no for b in todo]
                return outcomes
        slots = asyncio.Semaphore(self.concurrency)

        async def one(batch: BatchRow) -> None:
            async with slots:
                if self.stop is not None and self.stop.is_set():
                    self.stopped = True  # not started: it stays as it was
                    return
                await self._maybe_park()
                self.in_flight += 1
                self.idle.clear()
                try:
                    result = await self._write(batch, found if batch.state == WRITING else None)
                except Unresolved:
                    self.unresolved.append(batch.batch_no)
                    return
                finally:
                    self.in_flight -= 1
                    if not self.in_flight:
                        self.idle.set()
                outcomes.update({o.id: o for o in result})
                self._finished(batch)

        # If one batch raises, the others are cancelled (a cancelled batch stays "writing").
        await all_or_nothing([one(b) for b in todo])
        if self.stopped:
            raise Interrupted(
                f"stopped on request after {self.done} of {len(batches)} batches; "
                "the rest resume from their checkpoints"
            )
        return outcomes

    def _finished(self, batch: BatchRow) -> None:
        self.done += 1
        if self.on_batch:
            self.on_batch(len(batch.records))

    async def _maybe_park(self) -> None:
        """Test hook "after:N": start no batch once N are done; when the ones in flight have
        finished, announce it and wait to be killed (a crash between batches)."""
        after = _hook(self.test_pause, "after")
        if after is None or self.done < after:
            return
        await self.idle.wait()
        _announce(f"after:{self.done}")
        await asyncio.sleep(3600)

    async def _write(self, batch: BatchRow, found: Mapping[str, Record] | None) -> list[Outcome]:
        confirmed: dict[str, Outcome] = {}
        if found is not None:
            confirmed = _already_written(batch.records, found)
        to_send = [r for r in batch.records if str(r["id"]) not in confirmed]
        await self.store.mark_writing(self.run_id, batch.batch_no, self.clock(), self.fence)
        if to_send:
            confirmed.update(await self._send_and_check(to_send))
        if _hook(self.test_pause, "in") == batch.batch_no:
            _announce(f"in:{batch.batch_no}")
            # Blocking on purpose: the write is done, "done" is not recorded, nothing else runs.
            time.sleep(3600)  # noqa: ASYNC251
        outcomes = [confirmed[str(r["id"])] for r in batch.records]
        await self.store.mark_done(self.run_id, batch.batch_no, outcomes, self.clock())
        return outcomes

    async def _send_and_check(self, records: list[dict[str, Any]]) -> dict[str, Outcome]:
        """Send once; whatever did not come back as written is checked in Zoho, not resent."""
        try:
            sent = await self._send(records)
        except SergasError as exc:
            sent = {
                str(r["id"]): Outcome(str(r["id"]), False, exc.code, exc.message) for r in records
            }
            unknown = True  # the whole call failed: its effect is not known
        else:
            unknown = False
        failed = [r for r in records if not sent[str(r["id"])].ok]
        if failed:
            try:
                sent.update(_already_written(failed, await self._written_by_this_run()))
            except SergasError as exc:
                if unknown:
                    raise Unresolved(str(exc)) from exc
                # Zoho answered each record; its failures stand as reported.
        return sent

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

    async def _written_by_this_run(self) -> dict[str, Record]:
        """Every account holding this run's Last_Health_Check stamp, by id (one bulk read)."""
        records = await self.gateway.bulk_read_accounts(
            criteria=F("Last_Health_Check") == self.checked_at,
            fields=list(WRITTEN_FIELDS),
            module="Accounts",
        )
        return {str(r["id"]): r for r in records}


def _already_written(
    planned: Sequence[Mapping[str, Any]], found: Mapping[str, Record]
) -> dict[str, Outcome]:
    out: dict[str, Outcome] = {}
    for record in planned:
        record_id = str(record["id"])
        current = found.get(record_id)
        if current is not None and matches(current, record):
            out[record_id] = Outcome(record_id, True, "SUCCESS", "already written", True)
    return out
