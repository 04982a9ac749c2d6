"""The queue: a Procrastinate app on Sergas's PostgreSQL database, and what the CLI and the
HTTP service do with it (enqueue, list, show, cancel).

Procrastinate keeps jobs in the database Sergas already uses (`procrastinate_*`, created by
migration 0006_jobs): no broker to run. Its job *locks* keep two jobs with the same lock
from running at once, its *queueing locks* keep two from waiting at once; workers announce
themselves with heartbeats, and a worker silent too long is taken for dead (see
`sergas.jobs.worker`). docs/jobs.md says why this and not Celery.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from procrastinate import App, PsycopgConnector
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.jobs import Job, Status
from procrastinate.manager import JobManager
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from sergas.db.engine import database_errors
from sergas.db.tables import job_attempts
from sergas.errors import ConfigError, InvalidDataError, NotFoundError, SergasError
from sergas.jobs.settings import JobsSettings, load_jobs_settings
from sergas.log import get_logger
from sergas.runtime import open_database
from sergas.settings import Settings, get_settings
from sergas.sweep.lease import current_lease

__all__ = [
    "APPROVALS",
    "NAMESPACE",
    "PRUNE",
    "SHARD",
    "SWEEP",
    "JobAlreadyQueued",
    "Queue",
    "build_app",
    "open_queue",
    "require_postgres",
    "sweep_lock",
]

NAMESPACE = "sergas"
SWEEP = f"{NAMESPACE}:sweep"
SHARD = f"{NAMESPACE}:sweep_shard"
APPROVALS = f"{NAMESPACE}:apply_approvals"
PRUNE = f"{NAMESPACE}:prune"  # scheduled only (SERGAS_JOBS_PRUNE_SCHEDULE)
TASKS = {"sweep": SWEEP, "approvals": APPROVALS}

# The queue's statuses, as Sergas names them.
STATUS = {
    "todo": "queued",
    "doing": "running",
    "succeeded": "succeeded",
    "failed": "failed",
    "cancelled": "cancelled",
    "aborting": "running",
    "aborted": "cancelled",
}
ACTIVE = frozenset({"todo", "doing", "aborting"})


class JobAlreadyQueued(SergasError):
    """A sweep of this CRM is already queued or running: the second one is refused."""

    default_code = "JOB_ALREADY_QUEUED"


def sweep_lock(scope: str) -> str:
    """The queue's lock (and queueing lock) of one CRM's sweep."""
    return f"sweep:{scope}"


def require_postgres(settings: Settings) -> str:
    """The database URL for libpq, or ConfigError: the queue lives in PostgreSQL."""
    url = settings.database_url
    parsed = make_url(url) if url else None
    if parsed is None or not parsed.drivername.startswith("postgres"):
        raise ConfigError(
            "jobs need PostgreSQL: set SERGAS_DATABASE_URL to a postgresql:// URL (the job "
            "queue lives in that database, beside Sergas's tables; the embedded SQLite "
            "database has no queue). `sergas sweep` runs without one.",
            details={"settings": ["SERGAS_DATABASE_URL"]},
        )
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


log = get_logger("sergas.jobs")


class GuardedJobManager(JobManager):
    """Procrastinate's job manager, except that an attempt which was handed on (its worker
    was taken for dead: no heartbeat for `SERGAS_JOBS_STALLED_SECONDS`, say because its
    event loop was blocked) does not record its end over the attempt that now runs the job.
    That late attempt stops by itself at the sweep's lease fence."""

    async def _superseded(self, job: Job) -> bool:
        row = await self.connector.execute_query_one_async(
            query="SELECT worker_id, status FROM procrastinate_jobs WHERE id = %(job_id)s",
            job_id=job.id,
        )
        superseded = bool(
            row is None or row["status"] != "doing" or row["worker_id"] != job.worker_id
        )
        if superseded:
            log.warning(
                "a job handed on while this worker ran it: its end is not recorded", job_id=job.id
            )
        return superseded

    async def finish_job(self, job: Job, status: Status, delete_job: bool) -> None:
        if not await self._superseded(job):
            await super().finish_job(job, status, delete_job)

    async def retry_job(
        self,
        job: Job,
        retry_at: datetime | None = None,
        priority: int | None = None,
        queue: str | None = None,
        lock: str | None = None,
    ) -> None:
        if not await self._superseded(job):
            await super().retry_job(job, retry_at, priority, queue, lock)


def build_app(settings: Settings, jobs: JobsSettings) -> App:
    """The Procrastinate app with Sergas's tasks and schedules (not opened yet)."""
    from sergas.jobs import tasks
    from sergas.jobs.schedule import add_schedules

    connector = PsycopgConnector(conninfo=require_postgres(settings), min_size=1, max_size=8)
    app = App(connector=connector)
    app.job_manager = GuardedJobManager(connector)
    app.add_tasks_from(tasks.blueprint(), namespace=NAMESPACE)
    add_schedules(app, settings, jobs)
    return app


@dataclass(frozen=True)
class Queue:
    """The opened app and Sergas's database (for attempts and sweep state)."""

    app: App
    engine: AsyncEngine
    jobs: JobsSettings

    async def enqueue(self, task: str, scope: str) -> dict[str, Any]:
        """Queue `task` ("sweep" or "approvals"); returns the job as `show` does."""
        if task not in TASKS:
            raise InvalidDataError(
                f"no job {task!r}: the jobs are {', '.join(TASKS)}", code="UNKNOWN_JOB"
            )
        if task == "approvals":
            deferrer = self.app.configure_task(
                APPROVALS, lock="approvals", queueing_lock="approvals"
            )
            try:
                job_id = await deferrer.defer_async()
            except AlreadyEnqueued:
                raise JobAlreadyQueued(
                    "an approvals job is already queued", details={"task": task}
                ) from None
            return await self.show(job_id)
        return await self.show(await self.enqueue_sweep(scope))

    async def enqueue_sweep(self, scope: str) -> int:
        """Queue a sweep of `scope`, or raise JobAlreadyQueued / SweepRunning naming the
        sweep that is queued or running."""
        await self._refuse_if_busy(scope)
        lock = sweep_lock(scope)
        deferrer = self.app.configure_task(SWEEP, lock=lock, queueing_lock=lock)
        try:
            return await deferrer.defer_async(
                scope=scope, requested_at=datetime.now(UTC).isoformat()
            )
        except AlreadyEnqueued:
            await self._refuse_if_busy(scope)
            raise JobAlreadyQueued("a sweep of this CRM is already queued") from None

    async def _refuse_if_busy(self, scope: str) -> None:
        active = await self._rows(
            "WHERE j.lock = :lock AND j.task_name = :task AND j.status IN ('todo', 'doing')",
            {"lock": sweep_lock(scope), "task": SWEEP},
        )
        if active:
            job = active[0]
            raise JobAlreadyQueued(
                f"a sweep of this CRM is already {job['status']}: job {job['id']} "
                f"(`sergas jobs show {job['id']}`); it was not queued again",
                details={"job_id": job["id"], "status": job["status"]},
            )
        lease = await current_lease(self.engine, scope)
        if lease is not None and lease.job_id is None and lease.expires_at > datetime.now(UTC):
            from sergas.sweep.lease import SweepRunning

            raise SweepRunning(
                f"a sweep of this CRM is already running: {lease.holder} ({lease.run}); "
                "queue one when it has finished",
                details={"holder": lease.holder, "run_id": lease.run_id},
            )

    async def recent(self, *, limit: int = 20, shards: bool = False) -> list[dict[str, Any]]:
        """The newest jobs first (shards of sweeps only with `shards`)."""
        where = "" if shards else "WHERE j.task_name <> :shard"
        return await self._rows(
            f"{where} ORDER BY j.id DESC LIMIT :limit", {"shard": SHARD, "limit": limit}
        )

    async def show(self, job_id: int) -> dict[str, Any]:
        rows = await self._rows("WHERE j.id = :id", {"id": job_id})
        if not rows:
            raise NotFoundError(f"no job {job_id}", details={"job_id": job_id})
        job = rows[0]
        if job["task"] == "sweep":
            shards = await self._rows(
                "WHERE j.task_name = :shard AND (j.args->>'parent')::bigint = :id ORDER BY j.id",
                {"shard": SHARD, "id": job_id},
            )
            job["shards"] = [
                {k: s[k] for k in ("id", "status", "attempts", "worker", "summary")} for s in shards
            ]
        return job

    async def cancel(self, job_id: int) -> dict[str, Any]:
        """Cancel a queued job, or ask a running one to stop (a sweep's shards with it)."""
        job = await self.show(job_id)
        if job["status"] not in ("queued", "running"):
            raise InvalidDataError(
                f"job {job_id} is {job['status']}: only a queued or running job can be cancelled",
                code="NOT_CANCELLABLE",
                details={"job_id": job_id, "status": job["status"]},
            )
        manager = self.app.job_manager
        await manager.cancel_job_by_id_async(job_id, abort=True)
        for shard in job.get("shards", []):
            if shard["status"] in ("queued", "running"):
                await manager.cancel_job_by_id_async(shard["id"], abort=True)
        return await self.show(job_id)

    async def _rows(self, clause: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        query = text(
            "SELECT j.id, j.task_name, j.status, j.args, j.attempts, j.scheduled_at, "
            "(SELECT min(e.at) FROM procrastinate_events e WHERE e.job_id = j.id "
            " AND e.type = 'deferred') AS queued_at, "
            "(SELECT max(e.at) FROM procrastinate_events e WHERE e.job_id = j.id "
            " AND e.type IN ('succeeded', 'failed', 'cancelled', 'aborted')) AS finished_at "
            f"FROM procrastinate_jobs j {clause}"
        )
        with database_errors(self.engine.url):
            async with self.engine.connect() as conn:
                rows = (await conn.execute(query, params)).mappings().all()
                ids = [r["id"] for r in rows]
                attempts = (
                    (
                        await conn.execute(
                            select(job_attempts)
                            .where(job_attempts.c.job_id.in_(ids))
                            .order_by(job_attempts.c.id)
                        )
                    ).all()
                    if ids
                    else []
                )
        by_job: dict[int, list[Any]] = {}
        for a in attempts:
            by_job.setdefault(a.job_id, []).append(a)
        return [_view(r, by_job.get(r["id"], [])) for r in rows]


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def _view(row: Any, attempts: list[Any]) -> dict[str, Any]:
    last = attempts[-1] if attempts else None
    status = STATUS.get(row["status"], row["status"])
    args = dict(row["args"] or {})
    args.pop("timestamp", None)
    return {
        "id": row["id"],
        "task": str(row["task_name"]).removeprefix(NAMESPACE + ":"),
        "status": status,
        "scheduled": "timestamp" in (row["args"] or {}),
        "args": args,
        "attempts": len(attempts),
        "worker": last.worker if last else None,
        "queued_at": _iso(row["queued_at"]),
        "not_before": _iso(row["scheduled_at"]),
        "started_at": _iso(last.started_at) if last else None,
        "finished_at": _iso(row["finished_at"]) if status not in ("queued", "running") else None,
        "summary": last.result if last else None,
        "error": last.error if last and last.outcome != "succeeded" else None,
        "history": [
            {
                "attempt": a.attempt,
                "worker": a.worker,
                "started_at": _iso(a.started_at),
                "finished_at": _iso(a.finished_at),
                "outcome": a.outcome
                or ("running" if a is last and status == "running" else "worker lost"),
                "error": a.error,
            }
            for a in attempts
        ],
    }


@contextlib.asynccontextmanager
async def open_queue(
    settings: Settings | None = None,
    jobs: JobsSettings | None = None,
    *,
    engine: AsyncEngine | None = None,
) -> AsyncIterator[Queue]:
    """The queue, opened on the configured PostgreSQL database: what `sergas worker`,
    `sergas jobs` and /v1/jobs use. ConfigError on SQLite (jobs need PostgreSQL).
    `engine`: one already open on the same database (a worker's or the service's runtime);
    otherwise one is opened (`sergas.runtime.open_database`, schema checked at head)."""
    settings = settings or get_settings()
    jobs = jobs or load_jobs_settings()
    require_postgres(settings)
    app = build_app(settings, jobs)
    async with contextlib.AsyncExitStack() as stack:
        if engine is None:
            engine = await stack.enter_async_context(open_database(settings))
        await stack.enter_async_context(app.open_async())
        yield Queue(app, engine, jobs)
