"""The jobs: a sweep (a coordinator that may hand its write batches to shard jobs), a shard,
and the approved agent changes. Each runs on a worker, with the worker's runtime.

How a failure is retried (`Retry`):

- Interrupted (its worker is stopping), or cancelled by a worker's shutdown: at once, by
  another worker.
- SweepUnfinished (some batches could not be confirmed), database or Zoho errors, anything
  else: after `SERGAS_JOBS_RETRY_WAIT_SECONDS`, doubling, up to `SERGAS_JOBS_MAX_ATTEMPTS`.
- SweepRunning (another sweep holds the CRM's lease): after the lease time, up to the same
  attempts.
- LeaseLost, ConfigError (a job for another CRM): never; the error says why.

A job whose worker died is not "failed": the worker's heartbeats stop, and another worker
hands it on (`sergas.jobs.worker`), however many attempts it had.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from procrastinate import BaseRetryStrategy, Blueprint, JobContext, RetryDecision
from procrastinate.jobs import Job
from sqlalchemy import column, delete, exists, literal, select, table

from sergas.access.applying import ABANDONED_AFTER, recover_applying
from sergas.access.approvals import (
    APPLYING,
    UNFINISHED,
    Approval,
    ApprovalStore,
    InProgressError,
)
from sergas.db.tables import job_attempts
from sergas.errors import ConfigError, SergasError
from sergas.jobs.settings import JobsSettings
from sergas.log import get_logger
from sergas.org import background
from sergas.sweep.app import Sweep
from sergas.sweep.lease import Fence, Holder, Interrupted, LeaseLost, SweepRunning
from sergas.sweep.metrics import SweepMetrics
from sergas.sweep.runner import RunControl
from sergas.sweep.settings import SweepSettings
from sergas.sweep.store import DONE, SweepStore
from sergas.sweep.writing import BatchWriter

if TYPE_CHECKING:
    from procrastinate import App

    from sergas.runtime import Runtime

__all__ = ["Retry", "SweepUnfinished", "WorkerState", "blueprint"]

log = get_logger("sergas.jobs")


class SweepUnfinished(SergasError):
    """The sweep ran, but some batches could not be confirmed (Zoho unreachable while
    checking): the job is tried again later and resumes them."""

    default_code = "SWEEP_UNFINISHED"
    default_retryable = True


@dataclass
class WorkerState:
    """What a worker's jobs share: its runtime, settings, name, and its stop signal."""

    runtime: Runtime
    app: App
    sweep: SweepSettings
    jobs: JobsSettings
    metrics: SweepMetrics
    name: str  # host:pid
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def check_scope(self, scope: str) -> None:
        if scope != self.runtime.scope:
            raise ConfigError(
                f"this job is for the CRM {scope!r}, and this worker serves "
                f"{self.runtime.scope!r} (ZOHO_API_DOMAIN / ZOHO_REGION and ZOHO_USER differ)",
                code="WRONG_CRM",
            )


class LoggedProgress:
    """The sweep's phases and notes in the worker's log (sergas.jobs, INFO)."""

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id

    def start(self, phase: str, total: int) -> None:
        log.info(f"sweep job {self.job_id}: {phase} ({total:,})")

    def advance(self, phase: str, amount: int = 1) -> None:
        pass

    def note(self, text: str) -> None:
        log.info(f"sweep job {self.job_id}: {text}")


def state_of(context: JobContext) -> WorkerState:
    state: WorkerState = context.additional_context["sergas"]
    return state


class Retry(BaseRetryStrategy):
    """See the module docstring."""

    def __init__(self, jobs: JobsSettings | None = None, lease_seconds: float = 60) -> None:
        self.jobs = jobs
        self.lease_seconds = lease_seconds

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        from sergas.jobs.settings import load_jobs_settings

        jobs = self.jobs or load_jobs_settings()
        if isinstance(exception, Interrupted | asyncio.CancelledError):
            return RetryDecision(retry_in={"seconds": 0})
        if isinstance(exception, LeaseLost | ConfigError):
            return None
        if job.attempts + 1 >= jobs.max_attempts:
            return None
        if isinstance(exception, SweepRunning):
            return RetryDecision(retry_in={"seconds": int(self.lease_seconds)})
        return RetryDecision(retry_in={"seconds": jobs.retry_wait_seconds * 2**job.attempts})


def _requested(requested_at: str | None, timestamp: int | None) -> datetime | None:
    if requested_at:
        return datetime.fromisoformat(requested_at)
    if timestamp is not None:
        return datetime.fromtimestamp(timestamp, UTC)
    return None


async def sweep(
    context: JobContext,
    scope: str,
    requested_at: str | None = None,
    timestamp: int | None = None,
) -> dict[str, Any]:
    """The sweep of `scope`, resumed if a run is unfinished; merged into a run that
    started after it was requested (a second request while one ran)."""
    from sergas.jobs.shards import ShardedWriter

    state = state_of(context)
    state.check_scope(scope)
    job = context.job
    assert job.id is not None
    holder = Holder(f"job {job.id} (attempt {job.attempts + 1}) on {state.name}", job.id)
    writer = ShardedWriter(state, scope, job.id) if state.sweep.shards > 1 else None
    control = RunControl(
        holder=holder,
        stop=state.stop,
        writer=writer,
        requested_at=_requested(requested_at, timestamp),
    )
    state.metrics.reset()  # the summary counts this worker's calls from here
    sweep = Sweep(state.runtime, state.sweep, state.metrics)
    result = await sweep.run(control=control, progress=LoggedProgress(job.id))
    if not result["finished"]:
        raise SweepUnfinished(
            f"run {result['run_id']}: {result['accounts']['not_written']} accounts could not "
            "be confirmed yet; the job is tried again and resumes them",
            details={"summary": result},
        )
    return result


async def sweep_shard(
    context: JobContext, scope: str, run_id: str, batches: list[int], parent: int
) -> dict[str, Any]:
    """Write batches `batches` of run `run_id`, planned by the sweep job `parent`: only
    while `parent` holds the CRM's lease, and only the batches still assigned to this
    shard (the coordinator takes back a shard that never started)."""
    state = state_of(context)
    state.check_scope(scope)
    job_id = context.job.id
    assert job_id is not None
    store = SweepStore(state.runtime.engine)
    run = await store.run(run_id)
    if run is None or run.state != "writing":
        return {"run_id": run_id, "skipped": f"the run is {run.state if run else 'gone'}"}
    rows = [b for b in await store.batches(run_id, batches) if b.job_id == job_id]
    todo = [b for b in rows if b.state != DONE]
    from sergas.sweep.app import routed

    writer = BatchWriter(
        routed(state.runtime.manager, state.sweep.tier),
        store,
        run_id,
        run.checked_at,
        concurrency=state.sweep.write_concurrency,
        clock=lambda: datetime.now(UTC),
        fence=Fence(scope, job_id=parent, shard_job=job_id),
        stop=state.stop,
        test_pause=state.sweep.test_pause,
    )
    with background("sweep"):
        outcomes = await writer.write_all(todo)
    written = sum(1 for o in outcomes.values() if o.ok)
    return {
        "run_id": run_id,
        "parent": parent,
        "batches": len(todo),
        "written": written,
        "not_written": len(outcomes) - written,
        "unresolved_batches": writer.unresolved,
    }


async def apply_approvals(context: JobContext, timestamp: int | None = None) -> dict[str, Any]:
    """Complete the agent changes whose apply was interrupted (`recover_applying`): left
    `approved` more than `SERGAS_JOBS_APPROVALS_GRACE_SECONDS` ago, or `applying` by a
    process that is gone (or has held it `ABANDONED_AFTER`). Each is checked against Zoho
    and completed or marked with why not, never sent twice, with its approver's authority."""
    from sergas.manager import Caller

    state = state_of(context)
    store = ApprovalStore(state.runtime.engine)
    cutoff = datetime.now(UTC) - timedelta(seconds=state.jobs.approvals_grace_seconds)
    unfinished = sorted(await store.find(UNFINISHED, limit=1000), key=lambda a: a.id)
    due = [
        a
        for a in unfinished
        if a.status == APPLYING or (a.decided_at is not None and a.decided_at <= cutoff)
    ]
    done: list[Approval] = []
    for approval in due:
        if state.stop.is_set():
            raise Interrupted(f"stopped on request after {len(done)} approvals")
        approver = Caller(approval.decided_by or "an approver", channel="approval")
        # Still held by a live process, taken first by another, or Zoho unreadable (the
        # row stays for the next run): move on.
        with contextlib.suppress(InProgressError, SergasError), background("approvals"):
            done += await recover_applying(
                store,
                state.runtime.manager,
                by=f"the approvals job on {state.name}",
                approval_id=approval.id,
                abandoned_after=ABANDONED_AFTER,
                caller=approver,
            )
    return {
        "applied": [a.id for a in done if a.status == "applied"],
        "failed": [a.id for a in done if a.status == "failed"],
    }


async def prune(context: JobContext, timestamp: int | None = None) -> dict[str, Any]:
    """Remove the jobs that ended more than `SERGAS_JOBS_RETENTION_DAYS` ago: the queue's
    rows and events by Procrastinate's own `delete_old_jobs`, then their attempts."""
    state = state_of(context)
    await context.app.job_manager.delete_old_jobs(
        nb_hours=state.jobs.retention_days * 24,
        include_failed=True,
        include_cancelled=True,
        include_aborted=True,
    )
    async with state.runtime.engine.begin() as conn:
        gone = await conn.execute(
            delete(job_attempts).where(
                ~exists(
                    select(literal(1))
                    .select_from(table("procrastinate_jobs", column("id")))
                    .where(column("id") == job_attempts.c.job_id)
                )
            )
        )
    return {"attempts_removed": gone.rowcount, "retention_days": state.jobs.retention_days}


def blueprint() -> Blueprint:
    """The tasks, new for each app (an app takes its blueprint's tasks over)."""
    tasks = Blueprint()
    for name, func in (
        ("sweep", sweep),
        ("sweep_shard", sweep_shard),
        ("apply_approvals", apply_approvals),
        ("prune", prune),
    ):
        tasks.task(name=name, pass_context=True, retry=Retry())(func)
    return tasks
