"""The sweep's checkpoint store: runs, batches, scores and last scores in Sergas's database.

A run's plan (every scored account and every batch with the exact records to write) is
saved in one transaction before the first write; from then on each batch moves
pending → writing → done, one small transaction per move, the move to "writing" only while
the sweep's lease fence holds (`sergas.sweep.lease`). See docs/sweep.md ("Resume").
Finishing a run also adds its scores to the history (`sweep_history`), which keeps the
newest `keep_runs` runs of the scope; what reads the history is `sergas.sweep.history`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sergas.db.engine import database_errors
from sergas.db.tables import (
    sweep_batches,
    sweep_history,
    sweep_last_scores,
    sweep_leases,
    sweep_runs,
    sweep_scores,
)
from sergas.sweep.lease import Fence
from sergas.sweep.model import Outcome, ScoredAccount
from sergas.sweep.scoring import Owner

__all__ = ["BatchRow", "BatchState", "RunRow", "SweepStore"]

PENDING, WRITING, DONE = "pending", "writing", "done"
RUN_WRITING, RUN_DONE, RUN_ABANDONED = "writing", "done", "abandoned"
_CHUNK = 500  # rows per statement (parameter limits of SQLite and asyncpg)
T = TypeVar("T")
KEEP_RUNS = 90  # finished runs whose scores the history keeps, per scope (the default)


@dataclass(frozen=True)
class RunRow:
    id: str
    scope: str
    state: str
    started_at: datetime
    checked_at: datetime
    accounts_scanned: int
    accounts_scored: int
    accounts_changed: int
    batches: int
    summary: dict[str, Any] | None = None
    job_id: int | None = None


@dataclass(frozen=True)
class BatchState:
    """A batch without its records: what a sharded sweep follows."""

    batch_no: int
    state: str
    job_id: int | None  # the shard job writing it


@dataclass(frozen=True)
class BatchRow:
    run_id: str
    batch_no: int
    state: str
    records: list[dict[str, Any]]
    outcomes: list[Outcome] | None
    attempts: int
    job_id: int | None = None  # the shard job writing it

    @property
    def ids(self) -> list[str]:
        return [str(r["id"]) for r in self.records]


async def _hold(conn: AsyncConnection, fence: Fence | None) -> None:
    """Lock the lease row `fence` names for this transaction; LeaseLost if it no longer
    holds."""
    if fence is None:
        return
    query = select(sweep_leases.c.scope).where(fence.condition()).with_for_update()
    if (await conn.execute(query)).first() is None:
        raise fence.lost(0)


def _chunks(rows: Iterable[T]) -> Iterator[list[T]]:
    """`_CHUNK` at a time, made as they are sent: rows for a whole run are never built at
    once (100,000 of them would be tens of MB)."""
    chunk: list[T] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == _CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _run(row: Any) -> RunRow:
    return RunRow(
        id=row.id,
        scope=row.scope,
        state=row.state,
        started_at=row.started_at,
        checked_at=row.checked_at,
        accounts_scanned=row.accounts_scanned,
        accounts_scored=row.accounts_scored,
        accounts_changed=row.accounts_changed,
        batches=row.batches,
        summary=row.summary,
        job_id=row.job_id,
    )


class SweepStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def unfinished_run(self, scope: str) -> RunRow | None:
        """The newest run of `scope` still writing (a crash or a kill left it)."""
        query = (
            select(sweep_runs)
            .where(sweep_runs.c.scope == scope, sweep_runs.c.state == RUN_WRITING)
            .order_by(sweep_runs.c.started_at.desc())
            .limit(1)
        )
        with database_errors(self.engine.url):
            async with self.engine.connect() as conn:
                row = (await conn.execute(query)).first()
        return None if row is None else _run(row)

    async def run(self, run_id: str) -> RunRow | None:
        with database_errors(self.engine.url):
            async with self.engine.connect() as conn:
                row = (
                    await conn.execute(select(sweep_runs).where(sweep_runs.c.id == run_id))
                ).first()
        return None if row is None else _run(row)

    async def latest_finished(self, scope: str) -> RunRow | None:
        """The newest finished ("done") run of `scope`."""
        query = (
            select(sweep_runs)
            .where(sweep_runs.c.scope == scope, sweep_runs.c.state == RUN_DONE)
            .order_by(sweep_runs.c.checked_at.desc(), sweep_runs.c.started_at.desc())
            .limit(1)
        )
        with database_errors(self.engine.url):
            async with self.engine.connect() as conn:
                row = (await conn.execute(query)).first()
        return None if row is None else _run(row)

    async def set_run_job(self, run_id: str, job_id: int | None) -> None:
        """The job now running the run (a resumed run changes hands)."""
        statement = update(sweep_runs).where(sweep_runs.c.id == run_id).values(job_id=job_id)
        with database_errors(self.engine.url):
            async with self.engine.begin() as conn:
                await conn.execute(statement)

    async def previous_scores(self, scope: str) -> dict[str, tuple[int, str]]:
        query = select(
            sweep_last_scores.c.account_id, sweep_last_scores.c.score, sweep_last_scores.c.status
        ).where(sweep_last_scores.c.scope == scope)
        with database_errors(self.engine.url):
            async with self.engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return {r.account_id: (r.score, r.status) for r in rows}

    async def create_run(
        self,
        run: RunRow,
        scores: Sequence[ScoredAccount],
        batches: Iterable[list[dict[str, Any]]],
        now: datetime,
        fence: Fence | None = None,
    ) -> None:
        """Save the whole plan at once: the run, its scores and its pending batches; with
        `fence`, only while it holds (the lease row is locked until the plan is saved, so a
        sweep taking the lease over finds this run and resumes it)."""
        score_rows = (
            {
                "run_id": run.id,
                "account_id": s.id,
                "account_name": s.name[:255],
                "owner_id": s.owner.id,
                "owner_name": s.owner.name[:255],
                "owner_email": s.owner.email,
                "score": s.score,
                "status": s.status,
                "previous_score": s.previous_score,
                "previous_status": s.previous_status,
                "reasons": list(s.reasons),
                "changed": s.changed,
            }
            for s in scores
        )
        batch_rows = (
            {
                "run_id": run.id,
                "batch_no": i,
                "state": PENDING,
                "records": records,
                "outcomes": None,
                "attempts": 0,
                "updated_at": now,
            }
            for i, records in enumerate(batches, start=1)
        )
        with database_errors(self.engine.url):
            async with self.engine.begin() as conn:
                await _hold(conn, fence)
                await conn.execute(
                    insert(sweep_runs),
                    [
                        {
                            "id": run.id,
                            "scope": run.scope,
                            "state": RUN_WRITING,
                            "started_at": run.started_at,
                            "checked_at": run.checked_at,
                            "finished_at": None,
                            "accounts_scanned": run.accounts_scanned,
                            "accounts_scored": run.accounts_scored,
                            "accounts_changed": run.accounts_changed,
                            "batches": run.batches,
                            "summary": None,
                            "job_id": run.job_id,
                        }
                    ],
                )
                for chunk in _chunks(score_rows):
                    await conn.execute(insert(sweep_scores), chunk)
                for batch_chunk in _chunks(batch_rows):
                    await conn.execute(insert(sweep_batches), batch_chunk)

    async def scores(self, run_id: str) -> list[ScoredAccount]:
        query = select(sweep_scores).where(sweep_scores.c.run_id == run_id)
        with database_errors(self.engine.url):
            async with self.engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        owners: dict[tuple[str, str, str | None], Owner] = {}
        return [
            ScoredAccount(
                id=r.account_id,
                name=r.account_name,
                owner=owners.setdefault(
                    (r.owner_id, r.owner_name, r.owner_email),
                    Owner(r.owner_id, r.owner_name, r.owner_email),
                ),
                score=r.score,
                status=r.status,
                reasons=tuple(r.reasons),
                previous_score=r.previous_score,
                previous_status=r.previous_status,
                changed=r.changed,
            )
            for r in rows
        ]

    async def batches(self, run_id: str, numbers: Sequence[int] | None = None) -> list[BatchRow]:
        """The run's batches (only `numbers`, when given), in order."""
        query = (
            select(sweep_batches)
            .where(sweep_batches.c.run_id == run_id)
            .order_by(sweep_batches.c.batch_no)
        )
        if numbers is not None:
            query = query.where(sweep_batches.c.batch_no.in_(list(numbers)))
        with database_errors(self.engine.url):
            async with self.engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return [
            BatchRow(
                run_id=r.run_id,
                batch_no=r.batch_no,
                state=r.state,
                records=list(r.records),
                outcomes=None if r.outcomes is None else [Outcome.from_json(o) for o in r.outcomes],
                attempts=r.attempts,
                job_id=r.job_id,
            )
            for r in rows
        ]

    async def batch_states(self, run_id: str) -> list[BatchState]:
        query = (
            select(sweep_batches.c.batch_no, sweep_batches.c.state, sweep_batches.c.job_id)
            .where(sweep_batches.c.run_id == run_id)
            .order_by(sweep_batches.c.batch_no)
        )
        with database_errors(self.engine.url):
            async with self.engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return [BatchState(r.batch_no, r.state, r.job_id) for r in rows]

    async def assign(self, run_id: str, numbers: Sequence[int], job_id: int) -> None:
        """Batches `numbers` are written by the shard job `job_id`."""
        statement = (
            update(sweep_batches)
            .where(sweep_batches.c.run_id == run_id, sweep_batches.c.batch_no.in_(list(numbers)))
            .values(job_id=job_id)
        )
        with database_errors(self.engine.url):
            async with self.engine.begin() as conn:
                await conn.execute(statement)

    async def mark_writing(self, run_id: str, batch_no: int, now: datetime, fence: Fence) -> None:
        """Committed before the write call: a crash after this leaves the batch "writing".
        Only while `fence` holds (the lease is still this sweep's); else LeaseLost."""
        statement = (
            update(sweep_batches)
            .where(
                sweep_batches.c.run_id == run_id,
                sweep_batches.c.batch_no == batch_no,
                fence.clause(),
            )
            .values(state=WRITING, attempts=sweep_batches.c.attempts + 1, updated_at=now)
        )
        if fence.shard_job is not None:
            statement = statement.where(sweep_batches.c.job_id == fence.shard_job)
        with database_errors(self.engine.url):
            async with self.engine.begin() as conn:
                changed = (await conn.execute(statement)).rowcount
        if not changed:
            raise fence.lost(batch_no)

    async def mark_done(
        self, run_id: str, batch_no: int, outcomes: Sequence[Outcome], now: datetime
    ) -> None:
        await self._set_batch(
            run_id,
            batch_no,
            state=DONE,
            outcomes=[o.to_json() for o in outcomes],
            updated_at=now,
        )

    async def _set_batch(self, run_id: str, batch_no: int, **values: Any) -> None:
        statement = (
            update(sweep_batches)
            .where(sweep_batches.c.run_id == run_id, sweep_batches.c.batch_no == batch_no)
            .values(**values)
        )
        with database_errors(self.engine.url):
            async with self.engine.begin() as conn:
                await conn.execute(statement)

    async def finish_run(
        self,
        run: RunRow,
        scores: Sequence[ScoredAccount],
        summary: dict[str, Any],
        now: datetime,
        fence: Fence | None = None,
        *,
        keep_runs: int = KEEP_RUNS,
    ) -> None:
        """The run's scores become the last scores and join the history; the run is done;
        older runs' score rows (no longer needed for resume or briefs) are dropped, and so
        is the history of all but the newest `keep_runs` finished runs. One transaction,
        with `fence` only while it holds."""
        last = (
            {
                "scope": run.scope,
                "account_id": s.id,
                "score": s.score,
                "status": s.status,
                "run_id": run.id,
                "scored_at": run.checked_at,
            }
            for s in scores
        )
        history = (
            {"run_id": run.id, "account_id": s.id, "score": s.score, "status": s.status}
            for s in scores
        )
        ids = (s.id for s in scores)
        with database_errors(self.engine.url):
            async with self.engine.begin() as conn:
                await _hold(conn, fence)
                for chunk in _chunks(ids):
                    await conn.execute(
                        delete(sweep_last_scores).where(
                            sweep_last_scores.c.scope == run.scope,
                            sweep_last_scores.c.account_id.in_(chunk),
                        )
                    )
                for rows in _chunks(last):
                    await conn.execute(insert(sweep_last_scores), rows)
                for rows in _chunks(history):
                    await conn.execute(insert(sweep_history), rows)
                await conn.execute(
                    update(sweep_runs)
                    .where(sweep_runs.c.id == run.id)
                    .values(state=RUN_DONE, finished_at=now, summary=summary)
                )
                await conn.execute(
                    delete(sweep_scores).where(
                        sweep_scores.c.run_id.in_(
                            select(sweep_runs.c.id).where(
                                sweep_runs.c.scope == run.scope,
                                sweep_runs.c.id != run.id,
                                sweep_runs.c.state != RUN_WRITING,
                            )
                        )
                    )
                )
                await conn.execute(_prune_history(run.scope, keep_runs))

    async def annotate(self, run_id: str, extra: dict[str, Any]) -> None:
        """Add keys to a run's stored summary (what the runtime measured around the run:
        credits, HTTP requests), after `finish_run`."""
        with database_errors(self.engine.url):
            async with self.engine.begin() as conn:
                row = (
                    await conn.execute(
                        select(sweep_runs.c.summary).where(sweep_runs.c.id == run_id)
                    )
                ).first()
                if row is None:
                    return
                merged = {**(row.summary or {}), **extra}
                await conn.execute(
                    update(sweep_runs).where(sweep_runs.c.id == run_id).values(summary=merged)
                )

    async def abandon_run(self, run_id: str, now: datetime) -> None:
        statement = (
            update(sweep_runs)
            .where(sweep_runs.c.id == run_id)
            .values(state=RUN_ABANDONED, finished_at=now)
        )
        with database_errors(self.engine.url):
            async with self.engine.begin() as conn:
                await conn.execute(statement)


def _prune_history(scope: str, keep_runs: int) -> Any:
    """Delete the history of the scope's finished runs older than the newest `keep_runs`."""
    older = (
        select(sweep_runs.c.id)
        .where(sweep_runs.c.scope == scope, sweep_runs.c.state == RUN_DONE)
        .order_by(sweep_runs.c.checked_at.desc(), sweep_runs.c.started_at.desc())
        .offset(keep_runs)
    )
    return delete(sweep_history).where(sweep_history.c.run_id.in_(older))
