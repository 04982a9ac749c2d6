"""One sweep, start to finish: read → score → plan → write (checkpointed) → briefs.

A real run saves its plan (scores and batches) before writing anything; if the store holds
an unfinished run for the same CRM, that run is resumed instead: no reading, no scoring,
only the batches not done yet. A dry run reads and scores, writes nothing to Zoho and
nothing to the store (so it can never block or disturb a later real run).

With `reuse_briefs`, a run whose briefs would say exactly what the previous finished run's
said (the same accounts, owners, scores, changes and failures: only the run's time
differs) writes no new folder; the summary points at the previous run's folder instead.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from sergas.sweep.briefs import Brief, BriefsWritten, RunInfo, build_briefs, write_briefs
from sergas.sweep.model import Outcome, ScoredAccount, scored
from sergas.sweep.reading import Gateway, read_all
from sergas.sweep.scoring import STATUSES, score_account
from sergas.sweep.settings import SweepSettings
from sergas.sweep.store import RunRow, SweepStore
from sergas.sweep.writing import BatchWriter

__all__ = ["NullProgress", "Progress", "SweepReport", "plan_batches", "run_sweep"]

SCORE_STEP = 500  # accounts per progress update while scoring


class Progress(Protocol):
    """Phases "read" (3 modules), "score" (accounts) and "write" (records)."""

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
        by_id = {s.id: s for s in self.scores}
        rows = [(by_id[o.id], o.code, o.message) for o in self.outcomes.values() if not o.ok]
        rows += [(by_id[i], "UNRESOLVED", "run `sergas sweep` again") for i in self.unresolved]
        return [
            {"id": s.id, "name": s.name, "owner": s.owner.name, "code": code, "message": msg}
            for s, code, msg in rows
        ]


def plan_batches(
    scores: Sequence[ScoredAccount], checked_at: datetime, size: int
) -> list[list[dict[str, Any]]]:
    """The update payloads of the changed accounts, `size` per batch."""
    stamp = checked_at.astimezone(UTC).replace(microsecond=0).isoformat()
    records = [
        {
            "id": s.id,
            "Health_Score": s.score,
            "Account_Status": s.status,
            "Last_Health_Check": stamp,
        }
        for s in scores
        if s.changed
    ]
    return [records[i : i + size] for i in range(0, len(records), size)]


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
    reuse_briefs: bool = False,
) -> SweepReport:
    """Run (or resume) the sweep for the CRM named by `scope`; write briefs into `out`
    (unless `reuse_briefs` and they would repeat the previous run's: module docstring)."""
    progress = progress or NullProgress()
    started = time.perf_counter()
    now = clock()
    unfinished = None if dry_run else await store.unfinished_run(scope)
    if unfinished is not None and restart:
        await store.abandon_run(unfinished.id, now)
        progress.note(f"abandoned the unfinished run {unfinished.id}")
        unfinished = None
    if unfinished is not None:
        progress.note(
            f"resuming the unfinished run {unfinished.id} of "
            f"{unfinished.started_at:%Y-%m-%d %H:%M} UTC"
        )
        report = await _resume(gateway, store, unfinished, settings, clock, progress)
    else:
        report = await _fresh(gateway, store, scope, settings, now, clock, dry_run, progress)
    failures = {o.id: o for o in report.outcomes.values() if not o.ok}
    for record_id in report.unresolved:
        failures[record_id] = Outcome(record_id, False, "UNRESOLVED", "not confirmed yet")
    info = RunInfo(
        report.run_id,
        report.checked_at,
        dry_run,
        previous_sweep=any(s.previous_score is not None for s in report.scores),
    )
    if out is not None:
        briefs = build_briefs(report.scores, failures, info, top_movers=settings.top_movers)
        report.briefs_fingerprint = fingerprint(briefs)
        previous = await store.latest_finished(scope) if reuse_briefs else None
        reused = _reusable(previous, report.briefs_fingerprint, len(briefs))
        if reused is not None:
            report.briefs, report.briefs_reused = reused, True
        else:
            report.briefs = write_briefs(briefs, out)
    report.duration_s = time.perf_counter() - started
    if report.run_id is not None and report.finished:
        run = await store.run(report.run_id)
        assert run is not None
        await store.finish_run(
            run, report.scores, _stored_summary(report), clock(), keep_runs=settings.history_runs
        )
    return report


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
    dry_run: bool,
    progress: Progress,
) -> SweepReport:
    progress.start("read", 3)
    data = await read_all(gateway, settings, lambda _m, _n: progress.advance("read"))
    previous = await store.previous_scores(scope)
    progress.start("score", len(data.accounts))
    results: list[ScoredAccount] = []
    for i, account in enumerate(data.accounts, start=1):
        result = score_account(account, settings, now)
        results.append(scored(account, result, previous.get(account.id)))
        if i % SCORE_STEP == 0:
            progress.advance("score", SCORE_STEP)
    progress.advance("score", len(data.accounts) % SCORE_STEP)
    checked_at = now.astimezone(UTC).replace(microsecond=0)
    report = SweepReport(None, dry_run, False, checked_at, data.scanned, results)
    if dry_run:
        return report
    batches = plan_batches(results, checked_at, settings.batch_size)
    run = RunRow(
        id=uuid.uuid4().hex,
        scope=scope,
        state="writing",
        started_at=now,
        checked_at=checked_at,
        accounts_scanned=data.scanned,
        accounts_scored=len(results),
        accounts_changed=len(report.changed),
        batches=len(batches),
    )
    await store.create_run(run, results, batches, clock())
    report.run_id = run.id
    await _write(gateway, store, run, settings, clock, progress, report)
    return report


async def _resume(
    gateway: Gateway,
    store: SweepStore,
    run: RunRow,
    settings: SweepSettings,
    clock: Callable[[], datetime],
    progress: Progress,
) -> SweepReport:
    scores = await store.scores(run.id)
    report = SweepReport(run.id, False, True, run.checked_at, run.accounts_scanned, scores)
    await _write(gateway, store, run, settings, clock, progress, report)
    return report


async def _write(
    gateway: Gateway,
    store: SweepStore,
    run: RunRow,
    settings: SweepSettings,
    clock: Callable[[], datetime],
    progress: Progress,
    report: SweepReport,
) -> None:
    batches = await store.batches(run.id)
    progress.start("write", sum(len(b.records) for b in batches))
    writer = BatchWriter(
        gateway,
        store,
        run.id,
        run.checked_at,
        concurrency=settings.write_concurrency,
        clock=clock,
        on_batch=lambda n: progress.advance("write", n),
        test_pause=settings.test_pause,
    )
    report.outcomes = await writer.write_all(batches)
    unresolved = set(writer.unresolved)
    report.unresolved = [i for b in batches if b.batch_no in unresolved for i in b.ids]
