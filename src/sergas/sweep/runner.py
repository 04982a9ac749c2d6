"""One sweep, start to finish: lease → read → score → plan → write (checkpointed) → briefs.

A real run holds its CRM's lease (`sergas.sweep.lease`) from before it reads until its run
is done, and saves its plan (scores and batches) before writing anything; if the store
holds an unfinished run for the same CRM, that run is resumed instead: no reading, no
scoring, only the batches not done yet. A dry run reads and scores, writes nothing to Zoho
and nothing to the store (so it can never block or disturb a later real run).

Its batches are written here (`LocalWriter`) or, for a queued sweep, by shard jobs on
several workers (`RunControl.writer`, see `sergas.jobs.shards`).

With `reuse_briefs`, a run whose briefs would say exactly what the previous finished run's
said (the same accounts, owners, scores, changes and failures: only the run's time
differs) writes no new folder; the summary points at the previous run's folder instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
import uuid
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

from sergas.errors import SergasError
from sergas.log import get_logger
from sergas.sweep.briefs import Brief, BriefsWritten, RunInfo, build_briefs, write_briefs
from sergas.sweep.lease import Holder, Interrupted, SweepLease
from sergas.sweep.model import AccountDetails, Outcome, ScoredAccount, scored
from sergas.sweep.reading import READ_MODULES, Gateway, Reader, read_details
from sergas.sweep.scoring import STATUSES, score_account
from sergas.sweep.settings import SweepSettings
from sergas.sweep.store import BatchRow, RunRow, SweepStore
from sergas.sweep.writing import BatchWriter

__all__ = [
    "BatchesWriter",
    "LocalWriter",
    "NullProgress",
    "Progress",
    "RunControl",
    "SweepReport",
    "iter_batches",
    "plan_batches",
    "run_sweep",
]

T = TypeVar("T")
log = get_logger(__name__)

SCORE_STEP = 500  # accounts per progress update while scoring


class Progress(Protocol):
    """Phases "read" (5 modules; the accounts are scored as they are read), "score"
    (accounts, reported when all are scored) and "write" (records)."""

    def start(self, phase: str, total: int) -> None: ...

    def advance(self, phase: str, amount: int = 1) -> None: ...

    def note(self, text: str) -> None: ...


class NullProgress:
    def start(self, phase: str, total: int) -> None:
        pass

    def advance(self, phase: str, amount: int = 1) -> None:
        pass

    def note(self, text: str) -> None:
        pass


@dataclass
class SweepReport:
    run_id: str | None
    dry_run: bool
    resumed: bool
    checked_at: datetime
    scanned: int
    scores: list[ScoredAccount]
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    unresolved: list[str] = field(default_factory=list)  # ids in batches left "writing"
    briefs: BriefsWritten | None = None
    briefs_reused: bool = False  # nothing changed: `briefs` is the previous run's folder
    briefs_fingerprint: str | None = None
    duration_s: float = 0.0
    merged_into: str | None = None  # a queued sweep merged into a run finished meanwhile

    @property
    def changed(self) -> list[ScoredAccount]:
        return [s for s in self.scores if s.changed]

    @property
    def finished(self) -> bool:
        return not self.unresolved

    def counts(self) -> dict[str, Any]:
        written = sum(1 for o in self.outcomes.values() if o.ok)
        reconciled = sum(1 for o in self.outcomes.values() if o.ok and o.reconciled)
        statuses = Counter(s.status for s in self.scores)
        return {
            "scanned": self.scanned,
            "scored": len(self.scores),
            "changed": len(self.changed),
            "unchanged": len(self.scores) - len(self.changed),
            "written": written,
            "confirmed_on_read_back": reconciled,
            "not_written": sum(1 for o in self.outcomes.values() if not o.ok)
            + len(self.unresolved),
            "statuses": {s: statuses.get(s, 0) for s in STATUSES},
        }

    def not_written(self) -> list[dict[str, Any]]:
        failed = [(o.id, o.code, o.message) for o in self.outcomes.values() if not o.ok]
        failed += [(i, "UNRESOLVED", "run `sergas sweep` again") for i in self.unresolved]
        wanted = {record_id for record_id, _, _ in failed}
        by_id = {s.id: s for s in self.scores if s.id in wanted}
        rows = [(by_id[i], code, message) for i, code, message in failed]
        return [
            {"id": s.id, "name": s.name, "owner": s.owner.name, "code": code, "message": msg}
            for s, code, msg in rows
        ]


def iter_batches(
    scores: Sequence[ScoredAccount], checked_at: datetime, size: int
) -> Iterator[list[dict[str, Any]]]:
    """The update payloads of the changed accounts, `size` per batch, made as they are
    saved (a whole plan's payloads are never in memory at once)."""
    stamp = checked_at.astimezone(UTC).replace(microsecond=0).isoformat()
    batch: list[dict[str, Any]] = []
    for s in scores:
        if not s.changed:
            continue
        batch.append(
            {
                "id": s.id,
                "Health_Score": s.score,
                "Account_Status": s.status,
                "Last_Health_Check": stamp,
            }
        )
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def plan_batches(
    scores: Sequence[ScoredAccount], checked_at: datetime, size: int
) -> list[list[dict[str, Any]]]:
    """The update payloads of the changed accounts, `size` per batch."""
    return list(iter_batches(scores, checked_at, size))


@dataclass
class RunControl:
    """How a real run is held and written: by whom (the lease's holder), whether it should
    stop at its next checkpoint, and who writes its batches. The defaults are a plain
    `sergas sweep`: this process holds the lease and writes every batch itself."""

    holder: Holder = field(default_factory=Holder.process)
    stop: asyncio.Event | None = None  # set: stop at the next checkpoint (Interrupted)
    writer: BatchesWriter | None = None  # None: this process writes the batches
    # A queued sweep: if a run that started after this moment has finished (and none is
    # unfinished), this one is merged into it instead of sweeping again.
    requested_at: datetime | None = None


class BatchesWriter(Protocol):
    """Writes a run's batches that are not done; returns every record's outcome and the
    numbers of the batches left unresolved."""

    async def write(
        self,
        run: RunRow,
        batches: list[BatchRow],
        lease: SweepLease,
        progress: Progress,
    ) -> tuple[dict[str, Outcome], list[int]]: ...


class LocalWriter:
    """This process writes the batches, `write_concurrency` at a time."""

    def __init__(
        self,
        gateway: Gateway,
        store: SweepStore,
        settings: SweepSettings,
        clock: Callable[[], datetime],
        stop: asyncio.Event | None,
    ) -> None:
        self.gateway, self.store, self.settings = gateway, store, settings
        self.clock, self.stop = clock, stop

    async def write(
        self,
        run: RunRow,
        batches: list[BatchRow],
        lease: SweepLease,
        progress: Progress,
    ) -> tuple[dict[str, Outcome], list[int]]:
        writer = BatchWriter(
            self.gateway,
            self.store,
            run.id,
            run.checked_at,
            concurrency=self.settings.write_concurrency,
            clock=self.clock,
            fence=lease.fence,
            stop=self.stop,
            on_batch=lambda n: progress.advance("write", n),
            test_pause=self.settings.test_pause,
        )
        outcomes = await writer.write_all(batches)
        return outcomes, writer.unresolved


async def run_sweep(
    gateway: Gateway,
    store: SweepStore,
    scope: str,
    settings: SweepSettings,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    dry_run: bool = False,
    restart: bool = False,
    out: Path | None = None,
    progress: Progress | None = None,
    control: RunControl | None = None,
    reuse_briefs: bool = False,
) -> SweepReport:
    """Run (or resume) the sweep for the CRM named by `scope`; write briefs into `out`
    (unless `reuse_briefs` and they would repeat the previous run's: module docstring).

    A real run holds the scope's lease throughout (SweepRunning if another sweep holds
    it); a dry run takes no lease and touches no sweep table."""
    progress = progress or NullProgress()
    control = control or RunControl()
    if dry_run:
        started = time.perf_counter()
        report = await _fresh(gateway, store, scope, settings, clock(), clock, progress, None)
        return await _briefed(report, gateway, store, scope, settings, out, started, reuse=False)
    lease = SweepLease(store.engine, scope, control.holder, seconds=settings.lease_seconds)
    async with lease.held():
        return await _real_run(
            gateway,
            store,
            scope,
            settings,
            clock,
            restart,
            out,
            progress,
            control,
            lease,
            reuse_briefs,
        )


async def _real_run(
    gateway: Gateway,
    store: SweepStore,
    scope: str,
    settings: SweepSettings,
    clock: Callable[[], datetime],
    restart: bool,
    out: Path | None,
    progress: Progress,
    control: RunControl,
    lease: SweepLease,
    reuse_briefs: bool,
) -> SweepReport:
    started = time.perf_counter()
    now = clock()
    unfinished = await store.unfinished_run(scope)
    if unfinished is not None and restart:
        await store.abandon_run(unfinished.id, now)
        progress.note(f"abandoned the unfinished run {unfinished.id}")
        unfinished = None
    if unfinished is None and control.requested_at is not None:
        latest = await store.latest_finished(scope)
        if latest is not None and latest.started_at >= control.requested_at:
            progress.note(f"merged into run {latest.id}, which started after this request")
            return _merged(latest)
    if unfinished is not None:
        progress.note(
            f"resuming the unfinished run {unfinished.id} of "
            f"{unfinished.started_at:%Y-%m-%d %H:%M} UTC"
        )
        await lease.set_run(unfinished.id)
        if unfinished.job_id != control.holder.job_id:
            await store.set_run_job(unfinished.id, control.holder.job_id)
        scores = await store.scores(unfinished.id)
        report = SweepReport(
            unfinished.id, False, True, unfinished.checked_at, unfinished.accounts_scanned, scores
        )
        run = unfinished
    else:
        report = await _fresh(gateway, store, scope, settings, now, clock, progress, control)
        run = await _plan(store, scope, settings, now, clock, report, lease)
        await lease.set_run(run.id)
    writer = control.writer or LocalWriter(gateway, store, settings, clock, control.stop)
    batches = await store.batches(run.id)
    progress.start("write", sum(len(b.records) for b in batches))
    report.outcomes, unresolved = await writer.write(run, batches, lease, progress)
    numbers = set(unresolved)
    report.unresolved = [i for b in batches if b.batch_no in numbers for i in b.ids]
    await _briefed(report, gateway, store, scope, settings, out, started, reuse=reuse_briefs)
    if report.finished:
        summary = _stored_summary(report)
        await store.finish_run(
            run, report.scores, summary, clock(), lease.fence, keep_runs=settings.history_runs
        )
    return report


def _merged(run: RunRow) -> SweepReport:
    report = SweepReport(run.id, False, False, run.checked_at, run.accounts_scanned, [])
    report.merged_into = run.id
    return report


async def _briefed(
    report: SweepReport,
    gateway: Gateway,
    store: SweepStore,
    scope: str,
    settings: SweepSettings,
    out: Path | None,
    started: float,
    *,
    reuse: bool,
) -> SweepReport:
    failures = {o.id: o for o in report.outcomes.values() if not o.ok}
    for record_id in report.unresolved:
        failures[record_id] = Outcome(record_id, False, "UNRESOLVED", "not confirmed yet")
    info = RunInfo(
        report.run_id,
        report.checked_at,
        report.dry_run,
        previous_sweep=any(s.previous_score is not None for s in report.scores),
    )
    if out is not None:
        details = await _details(gateway, report.scores)
        briefs = build_briefs(
            report.scores, failures, info, top_movers=settings.top_movers, details=details
        )
        report.briefs_fingerprint = fingerprint(briefs)
        previous = await store.latest_finished(scope) if reuse else None
        reused = _reusable(previous, report.briefs_fingerprint, len(briefs))
        if reused is not None:
            report.briefs, report.briefs_reused = reused, True
        else:
            report.briefs = write_briefs(briefs, out)
    report.duration_s = time.perf_counter() - started
    return report


async def _details(
    gateway: Gateway, scores: Sequence[ScoredAccount]
) -> dict[str, AccountDetails] | None:
    """Contacts and latest note of the accounts the briefs show in detail (at risk); None
    when Zoho would not give them: the scores are written by now, so the briefs still come,
    saying the details could not be read (and the next run reads them again)."""
    try:
        return await read_details(gateway, (s.id for s in scores if s.status == "At Risk"))
    except SergasError as exc:
        log.warning("sweep: at-risk contacts and notes not read", error=str(exc))
        return None


def fingerprint(briefs: Sequence[Brief]) -> str:
    """What the briefs say, less the run they belong to (its id and time)."""
    digest = hashlib.sha256()
    for brief in briefs:
        content = {k: v for k, v in brief.data.items() if k != "run"}
        digest.update(json.dumps(content, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def _reusable(previous: RunRow | None, print_: str, owners: int) -> BriefsWritten | None:
    """The previous run's briefs, when they say the same and are still on disk."""
    summary = (previous.summary or {}) if previous is not None else {}
    folder = summary.get("briefs")
    if summary.get("briefs_fingerprint") != print_ or not folder:
        return None
    path = Path(folder)
    if not (path / "index.json").is_file():
        return None
    return BriefsWritten(path, owners, ())


def _stored_summary(report: SweepReport) -> dict[str, Any]:
    return {
        **report.counts(),
        "resumed": report.resumed,
        "duration_s": round(report.duration_s, 3),
        "briefs": str(report.briefs.path) if report.briefs else None,
        "briefs_reused": report.briefs_reused,
        "briefs_fingerprint": report.briefs_fingerprint,
        "previous_sweep": any(s.previous_score is not None for s in report.scores),
    }


async def _fresh(
    gateway: Gateway,
    store: SweepStore,
    scope: str,
    settings: SweepSettings,
    now: datetime,
    clock: Callable[[], datetime],
    progress: Progress,
    control: RunControl | None,
) -> SweepReport:
    """Read and score (a dry run stops here): each account is scored as it is read, and
    only its compact result is kept."""
    progress.start("read", len(READ_MODULES))
    previous = await store.previous_scores(scope)
    reader = Reader(gateway, settings, now, lambda _m, _n: progress.advance("read"))
    stop = control.stop if control else None
    reading = _read_and_score(reader, settings, now, previous)
    results = await (reading if stop is None else _unless_stopped(reading, stop))
    progress.start("score", len(results))
    progress.advance("score", len(results))
    checked_at = now.astimezone(UTC).replace(microsecond=0)
    return SweepReport(None, control is None, False, checked_at, reader.scanned, results)


async def _read_and_score(
    reader: Reader,
    settings: SweepSettings,
    now: datetime,
    previous: dict[str, tuple[int, str]],
) -> list[ScoredAccount]:
    await reader.related()
    results: list[ScoredAccount] = []
    texts: dict[str, str] = {}  # one copy of each reason's text ("No open deals", ...)
    async for account in reader.accounts():
        result = score_account(account, settings, now)
        results.append(scored(account, result, previous.pop(account.id, None), texts))
        if len(results) % SCORE_STEP == 0:
            # Let the loop run between steps: a worker's heartbeats and the lease's
            # renewals must not wait for 100,000 accounts to be scored.
            await asyncio.sleep(0)
    return results


async def _unless_stopped(work: Coroutine[Any, Any, T], stop: asyncio.Event) -> T:
    """`work`, cancelled (Interrupted) if `stop` is set first: nothing is written before
    the plan is saved, so reading again later loses only time."""
    task = asyncio.ensure_future(work)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        raise Interrupted("stopped on request while reading; nothing was written yet")
    return task.result()


async def _plan(
    store: SweepStore,
    scope: str,
    settings: SweepSettings,
    now: datetime,
    clock: Callable[[], datetime],
    report: SweepReport,
    lease: SweepLease,
) -> RunRow:
    """Save the run, its scores and its batches before anything is written (only while
    this sweep still holds its lease)."""
    changed = len(report.changed)
    run = RunRow(
        id=uuid.uuid4().hex,
        scope=scope,
        state="writing",
        started_at=now,
        checked_at=report.checked_at,
        accounts_scanned=report.scanned,
        accounts_scored=len(report.scores),
        accounts_changed=changed,
        batches=-(-changed // settings.batch_size),
        job_id=lease.holder.job_id,
    )
    batches = iter_batches(report.scores, report.checked_at, settings.batch_size)
    await store.create_run(run, report.scores, batches, clock(), lease.fence)
    report.run_id = run.id
    return run
