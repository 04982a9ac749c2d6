"""`sergas worker`: runs queued jobs with this process's runtime until SIGTERM or SIGINT.

- **Heartbeats.** Procrastinate's worker writes one every `SERGAS_JOBS_HEARTBEAT_SECONDS`.
- **Dead workers.** Every `SERGAS_JOBS_CHECK_SECONDS` each worker looks for jobs whose
  worker has been silent for `SERGAS_JOBS_STALLED_SECONDS` (killed, its machine gone) and
  queues them again; the first worker free takes them and resumes from the checkpoints.
  Procrastinate finds such jobs (`get_stalled_jobs`) but leaves handing them on to the
  application: this loop is that part.
- **Graceful stop.** SIGTERM or SIGINT: no new job is taken; running jobs finish the write
  batches they have started and stop (Interrupted), and are queued again for another
  worker; after `SERGAS_JOBS_SHUTDOWN_SECONDS` whatever still runs is cancelled.
- **Attempts.** Every attempt is recorded in `job_attempts` (worker, start, end, outcome,
  result or error): what `sergas jobs show` reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from procrastinate import App, JobContext
from procrastinate.exceptions import JobAborted
from procrastinate.job_context import AbortReason
from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncEngine

from sergas.db.engine import database_errors
from sergas.db.tables import job_attempts
from sergas.errors import SergasError
from sergas.jobs.queue import NAMESPACE, open_queue, require_postgres
from sergas.jobs.settings import JobsSettings
from sergas.jobs.tasks import WorkerState
from sergas.log import get_logger
from sergas.runtime import open_runtime
from sergas.settings import Settings
from sergas.sweep.lease import Interrupted, worker_name
from sergas.sweep.metrics import SweepMetrics
from sergas.sweep.settings import SweepSettings

__all__ = ["run_worker"]

log = get_logger("sergas.jobs")


async def run_worker(
    settings: Settings,
    sweep: SweepSettings,
    jobs: JobsSettings,
    *,
    concurrency: int | None = None,
    ready: Callable[[str], None] | None = None,
    stopping: Callable[[], None] | None = None,
) -> None:
    """Run jobs until SIGTERM/SIGINT (see the module docstring). `ready` is told the
    worker's name once it takes jobs; `stopping`, when a signal asked it to stop."""
    require_postgres(settings)
    metrics = SweepMetrics()
    async with (
        open_runtime(settings, hooks=[metrics]) as runtime,
        open_queue(settings, jobs, engine=runtime.engine) as queue,
    ):
        state = WorkerState(runtime, queue.app, sweep, jobs, metrics, worker_name())
        worker = asyncio.create_task(
            queue.app.run_worker_async(
                name=state.name,
                concurrency=concurrency or jobs.concurrency,
                install_signal_handlers=False,
                additional_context={"sergas": state},
                update_heartbeat_interval=jobs.heartbeat_seconds,
                stalled_worker_timeout=jobs.stalled_seconds,
                fetch_job_polling_interval=jobs.check_seconds,
                abort_job_polling_interval=min(jobs.check_seconds, 1.0),
                shutdown_graceful_timeout=jobs.shutdown_seconds,
                worker_middleware=[Attempts(runtime.engine, state.name)],
            ),
            name="procrastinate worker",
        )
        handing_on = asyncio.create_task(hand_on_stalled(queue.app, jobs), name="stalled jobs")
        watching = asyncio.create_task(watch_the_loop(jobs), name="loop lag")

        def stop() -> None:
            if not state.stop.is_set():
                log.info("stopping: finishing the current write batches")
                if stopping:
                    stopping()
                state.stop.set()
                worker.cancel()

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop)
        if ready:
            ready(state.name)
        try:
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
            for side in (handing_on, watching):
                side.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await side


async def watch_the_loop(jobs: JobsSettings, every: float = 1.0) -> None:
    """Warn when this worker's event loop was blocked long enough to delay its heartbeats
    towards `stalled_seconds` (CPU-bound work on the loop, a starved machine): past that,
    other workers take it for dead and hand its jobs on."""
    loop = asyncio.get_running_loop()
    while True:
        before = loop.time()
        await asyncio.sleep(every)
        lag = loop.time() - before - every
        if lag > jobs.stalled_seconds / 3:
            log.warning(
                "the event loop was blocked: past SERGAS_JOBS_STALLED_SECONDS without a "
                "heartbeat this worker is taken for dead",
                blocked_s=round(lag, 1),
                stalled_s=jobs.stalled_seconds,
            )


async def hand_on_stalled(app: App, jobs: JobsSettings) -> None:
    """Queue again the jobs of workers silent for `stalled_seconds` (see the module
    docstring). Several workers may find the same job: the queue lets one retry it."""
    manager = app.job_manager
    while True:
        await asyncio.sleep(jobs.check_seconds)
        try:
            stalled = await manager.get_stalled_jobs(seconds_since_heartbeat=jobs.stalled_seconds)
            for job in stalled:
                try:
                    await manager.retry_job(job)
                except Exception:  # another worker handed it on first
                    continue
                log.warning("the job of a silent worker queued again", job_id=job.id)
            await manager.prune_stalled_workers(jobs.stalled_seconds)
        except Exception as exc:  # the database away: try again next time
            log.warning("looking for stalled jobs failed", error=str(exc))


class Attempts:
    """Worker middleware: one `job_attempts` row per attempt, its outcome at the end."""

    def __init__(self, engine: AsyncEngine, worker: str) -> None:
        self.engine = engine
        self.worker = worker

    async def __call__(
        self, call_next: Callable[[], Awaitable[Any]], context: JobContext, _worker: Any
    ) -> Any:
        job = context.job
        assert job.id is not None
        row = await self._start(job.id, job.attempts + 1, job.task_name)
        try:
            result = await call_next()
        except BaseException as exc:
            outcome, error, summary = _failure(exc, context)
            await asyncio.shield(self._finish(row, outcome, summary, error))
            if outcome == "cancelled":
                # Procrastinate retries a cancelled coroutine unless it says it was aborted.
                raise JobAborted("cancelled on request") from None
            raise
        await asyncio.shield(self._finish(row, "succeeded", result, None))
        return result

    async def _start(self, job_id: int, attempt: int, task: str) -> int:
        values = {
            "job_id": job_id,
            "attempt": attempt,
            "task": task.removeprefix(NAMESPACE + ":"),
            "worker": self.worker,
            "started_at": datetime.now(UTC),
        }
        with database_errors(self.engine.url):
            async with self.engine.begin() as conn:
                result = await conn.execute(
                    insert(job_attempts).returning(job_attempts.c.id), values
                )
                row_id: int = result.scalar_one()
        return row_id

    async def _finish(self, row: int, outcome: str, result: Any, error: str | None) -> None:
        statement = (
            update(job_attempts)
            .where(job_attempts.c.id == row)
            .values(
                finished_at=datetime.now(UTC),
                outcome=outcome,
                result=result if isinstance(result, dict) else None,
                error=error,
            )
        )
        with contextlib.suppress(SergasError), database_errors(self.engine.url):
            async with self.engine.begin() as conn:
                await conn.execute(statement)


def _failure(exc: BaseException, context: JobContext) -> tuple[str, str, Any]:
    """(outcome, error, summary) of an attempt that raised."""
    if isinstance(exc, asyncio.CancelledError):
        if context.abort_reason() == AbortReason.USER_REQUEST:
            return "cancelled", "cancelled on request", None
        return "interrupted", "its worker stopped before it finished", None
    if isinstance(exc, Interrupted):
        return "interrupted", exc.message, None
    if isinstance(exc, SergasError):
        return "failed", f"{exc.code}: {exc.message}", exc.details.get("summary")
    return "failed", f"{type(exc).__name__}: {exc}", None
