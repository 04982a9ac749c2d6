"""Queued sweeps with real worker processes on PostgreSQL: a worker killed mid-sweep, two
requests for one sweep, a plain `sergas sweep` while a job runs, a graceful stop."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from datetime import datetime
from typing import Any

import pytest
from tests.jobs.conftest import BATCH, Jobs

from sergas.jobs.queue import JobAlreadyQueued, open_queue
from sergas.settings import load_settings
from sergas.sweep.app import open_sweep, routed
from sergas.sweep.runner import run_sweep
from sergas.sweep.settings import load_sweep_settings
from sergas.sweep.store import SweepStore

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


async def enqueue() -> int:
    async with open_queue() as queue:
        return await queue.enqueue_sweep(queue_scope())


def queue_scope() -> str:
    from sergas.runtime import zoho_scope

    return zoho_scope(load_settings())


async def clean_scores(started_at: datetime) -> dict[str, tuple[int, str]]:
    """What a clean run at the same moment scores each active account (a dry run)."""
    settings, sweep = load_settings(), load_sweep_settings()
    async with open_sweep(settings, sweep) as job:
        report = await run_sweep(
            routed(job.runtime.manager, "rest"),
            SweepStore(job.runtime.engine),
            job.runtime.scope,
            sweep,
            clock=lambda: started_at,
            dry_run=True,
        )
    return {s.id: (s.score, s.status) for s in report.scores}


def assert_written_once_with_clean_scores(jobs: Jobs, run_id: str) -> None:
    ((started_at, changed),) = jobs.sql(
        "SELECT started_at, accounts_changed FROM sweep_runs WHERE id = %s", run_id
    )
    stats = jobs.stats()
    assert stats["records_written_more_than_once"] == 0
    assert stats["records_written"] == {"Accounts": changed}
    expected = asyncio.run(clean_scores(started_at))
    assert len(expected) > 300
    store = jobs.running.sandbox.store
    for account_id, (score, status) in expected.items():
        record = store.get("Accounts", account_id)
        assert record is not None
        assert (record["Health_Score"], record["Account_Status"]) == (score, status)


def summary(jobs: Jobs, job_id: int) -> dict[str, Any]:
    rows = jobs.sql(
        "SELECT result FROM job_attempts WHERE job_id = %s AND outcome = 'succeeded'", job_id
    )
    assert len(rows) == 1
    result: dict[str, Any] = rows[0][0]
    return result


def test_a_worker_killed_mid_sweep_another_finishes_it_writing_each_account_once(
    jobs: Jobs,
) -> None:
    # Worker A runs the sweep and its shards; inside batch 3, after Zoho took the write and
    # before the checkpoint says so, its whole process stops (the test hook blocks it).
    a = jobs.worker("--concurrency", "4", SERGAS_SWEEP_TEST_PAUSE="in:3", SERGAS_SWEEP_SHARDS="3")
    job_id = asyncio.run(enqueue())
    a.wait_for("sweep-test-pause in:3")
    assert jobs.sql("SELECT state FROM sweep_batches WHERE batch_no = 3") == [("writing",)]
    os.kill(a.pid, signal.SIGKILL)
    a.proc.wait(timeout=30)
    assert jobs.status(job_id) == "doing"  # as far as the queue knows

    b = jobs.worker("--concurrency", "4", SERGAS_SWEEP_SHARDS="3")
    jobs.wait(lambda: jobs.status(job_id) == "succeeded", "the sweep to finish on worker B")

    result = summary(jobs, job_id)
    assert result["finished"] is True and result["resumed"] is True
    assert result["accounts"]["written"] == result["accounts"]["changed"] > 6 * BATCH
    assert result["accounts"]["not_written"] == 0
    assert_written_once_with_clean_scores(jobs, result["run_id"])
    attempts = jobs.sql(
        "SELECT worker, outcome FROM job_attempts WHERE job_id = %s ORDER BY id", job_id
    )
    assert attempts[0] == (f"{os.uname().nodename}:{a.pid}", None)  # lost with its worker
    assert attempts[-1] == (f"{os.uname().nodename}:{b.pid}", "succeeded")
    # The shards: several jobs wrote the batches, and every batch is done.
    shards = jobs.sql("SELECT count(DISTINCT job_id) FROM sweep_batches")
    assert shards[0][0] >= 2
    assert jobs.sql("SELECT DISTINCT state FROM sweep_batches") == [("done",)]
    assert jobs.sql("SELECT count(*) FROM sweep_runs") == [(1,)]
    assert jobs.sql("SELECT count(*) FROM sweep_leases") == [(0,)]
    assert b.stop() == 0


def test_a_second_request_is_refused_and_a_plain_sweep_too_while_a_job_runs(
    jobs: Jobs,
) -> None:
    job_id = asyncio.run(enqueue())
    with pytest.raises(JobAlreadyQueued, match=f"already queued: job {job_id}"):
        asyncio.run(enqueue())
    # One shard: the sweep's own job writes, and parks after its first batch.
    a = jobs.worker(
        SERGAS_SWEEP_TEST_PAUSE="after:1", SERGAS_SWEEP_SHARDS="1", SERGAS_JOBS_SHUTDOWN_SECONDS="1"
    )
    a.wait_for("sweep-test-pause after:")
    with pytest.raises(JobAlreadyQueued, match=f"already running: job {job_id}"):
        asyncio.run(enqueue())
    plain = jobs.sergas("sweep", "--json")
    assert plain.returncode == 1
    assert f"a sweep of this CRM is already running: queued job {job_id} holds it" in plain.stderr
    assert "Traceback" not in plain.stderr

    # SIGTERM: A stops taking jobs; the parked sweep does not finish in the grace time, so
    # it is cancelled and queued again; worker B resumes it.
    assert a.stop() == 0
    jobs.wait(lambda: jobs.status(job_id) == "todo", "the sweep to be queued again")
    jobs.worker(SERGAS_SWEEP_SHARDS="1")
    jobs.wait(lambda: jobs.status(job_id) == "succeeded", "the sweep to finish")
    result = summary(jobs, job_id)
    assert result["resumed"] is True and result["finished"] is True
    assert jobs.sql("SELECT count(*) FROM sweep_runs") == [(1,)]
    outcomes = jobs.sql("SELECT outcome FROM job_attempts WHERE job_id = %s ORDER BY id", job_id)
    assert outcomes == [("interrupted",), ("succeeded",)]
    assert_written_once_with_clean_scores(jobs, result["run_id"])


def test_sigterm_stops_after_the_current_batch_and_another_worker_resumes(jobs: Jobs) -> None:
    # Slow writes (0.2 s a call, one batch at a time) so SIGTERM lands mid-sweep.
    jobs.running.sandbox.faults.update({"latency_ms": 200})
    a = jobs.worker(SERGAS_SWEEP_SHARDS="1", SERGAS_SWEEP_WRITE_CONCURRENCY="1")
    job_id = asyncio.run(enqueue())
    jobs.wait(
        lambda: jobs.sql("SELECT count(*) FROM sweep_batches WHERE state = 'done'")[0][0] >= 2,
        "two batches done",
    )
    assert a.stop() == 0  # well within SERGAS_JOBS_SHUTDOWN_SECONDS: no cancellation
    states = {s for (s,) in jobs.sql("SELECT DISTINCT state FROM sweep_batches")}
    assert states == {"done", "pending"}  # the batch in flight finished; none left writing
    assert jobs.status(job_id) == "todo"
    assert "finishing the current write batches" in a.text()
    jobs.running.sandbox.faults.update({"latency_ms": 0})
    jobs.worker(SERGAS_SWEEP_SHARDS="1")
    jobs.wait(lambda: jobs.status(job_id) == "succeeded", "the sweep to finish")
    result = summary(jobs, job_id)
    assert result["accounts"]["confirmed_on_read_back"] == 0  # nothing was in doubt
    assert_written_once_with_clean_scores(jobs, result["run_id"])


def test_a_running_sweep_cancelled_stops_and_is_not_retried(jobs: Jobs) -> None:
    jobs.worker(SERGAS_SWEEP_TEST_PAUSE="after:1", SERGAS_SWEEP_SHARDS="1")
    job_id = asyncio.run(enqueue())
    jobs.workers[0].wait_for("sweep-test-pause after:")
    cancelled = jobs.sergas("jobs", "cancel", str(job_id))
    assert cancelled.returncode == 0, cancelled.stderr
    assert f"job {job_id}: asked to stop" in cancelled.stdout
    jobs.wait(lambda: jobs.status(job_id) == "aborted", "the sweep to stop")
    shown = json.loads(jobs.sergas("jobs", "show", str(job_id), "--json").stdout)
    assert shown["status"] == "cancelled" and shown["attempts"] == 1
    assert shown["history"][0]["outcome"] == "cancelled"
    assert jobs.sql("SELECT state FROM sweep_runs") == [("writing",)]  # resumed next time
