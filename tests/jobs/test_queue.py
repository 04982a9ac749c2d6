"""The queue itself on PostgreSQL: an attempt handed on to another worker does not record
its end over the attempt that now runs the job."""

from __future__ import annotations

import pytest
from procrastinate.jobs import Status

from sergas.jobs.queue import SWEEP, open_queue, sweep_lock
from sergas.settings import load_settings

pytestmark = pytest.mark.postgres


async def test_a_handed_on_attempt_does_not_end_the_job(pg: str) -> None:
    settings = load_settings(SERGAS_DATABASE_URL=pg)
    async with open_queue(settings) as queue:
        manager = queue.app.job_manager
        lock = sweep_lock("crm")
        job_id = await queue.app.configure_task(SWEEP, lock=lock).defer_async(scope="crm")
        first_worker = await manager.register_worker()
        first = await manager.fetch_job(queues=None, worker_id=first_worker)
        assert first is not None and first.id == job_id
        # The first worker goes silent; another hands its job on and runs it.
        await manager.retry_job(first)
        second_worker = await manager.register_worker()
        second = await manager.fetch_job(queues=None, worker_id=second_worker)
        assert second is not None and second.id == job_id

        await manager.finish_job(first, Status.FAILED, delete_job=False)  # the late one
        assert await manager.get_job_status_async(job_id) == Status.DOING
        await manager.retry_job(first)  # nor can it queue the job again
        assert await manager.get_job_status_async(job_id) == Status.DOING

        await manager.finish_job(second, Status.SUCCEEDED, delete_job=False)
        assert await manager.get_job_status_async(job_id) == Status.SUCCEEDED
