"""One sweep per CRM at a time: the lease, on SQLite and PostgreSQL, and two real
`sergas sweep` processes on one CRM."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from tests.db.conftest import db_url, postgres_url
from tests.sweep.conftest import Crm
from tests.sweep.test_resume import db_rows, sweep_process, wait_for_pause

from sergas.db import create_engine, upgrade
from sergas.sweep.lease import Holder, LeaseLost, SweepLease, SweepRunning, current_lease

__all__ = ["db_url", "postgres_url"]


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url)
    await upgrade(engine)
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM sweep_leases"))
    yield engine
    await engine.dispose()


class Clock:
    """The lease's clock, moved by hand: expiry is a matter of minutes."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def test_a_second_holder_is_refused_naming_the_first(engine: AsyncEngine) -> None:
    clock = Clock()
    first = SweepLease(
        engine, "crm", Holder("job 4 (attempt 1)", job_id=4), seconds=60, clock=clock
    )
    await first.acquire()
    await first.set_run("r1")
    second = SweepLease(engine, "crm", Holder.process(), seconds=60, clock=clock)
    with pytest.raises(SweepRunning) as refused:
        await second.acquire()
    assert "already running: queued job 4 holds it (run r1)" in refused.value.message
    assert "sergas jobs show 4" in refused.value.message
    assert refused.value.details["job_id"] == 4
    # Another CRM is another lease.
    await SweepLease(engine, "other crm", Holder.process(), seconds=60, clock=clock).acquire()


async def test_an_expired_lease_is_taken_over_and_the_old_holder_loses_it(
    engine: AsyncEngine,
) -> None:
    clock = Clock()
    old = SweepLease(
        engine, "crm", Holder("`sergas sweep` on elsewhere:1"), seconds=60, clock=clock
    )
    await old.acquire()
    clock.now += timedelta(seconds=30)
    await old.renew()  # renewed: good until 06:01:30
    new = SweepLease(
        engine, "crm", Holder("`sergas sweep` on elsewhere:2"), seconds=60, clock=clock
    )
    clock.now += timedelta(seconds=59)
    with pytest.raises(SweepRunning):
        await new.acquire()
    clock.now += timedelta(seconds=2)
    await new.acquire()
    with pytest.raises(LeaseLost):
        await old.renew()
    row = await current_lease(engine, "crm")
    assert row is not None and row.holder == "`sergas sweep` on elsewhere:2"


async def test_the_same_job_takes_its_lease_over_at_once(engine: AsyncEngine) -> None:
    """The queue retries a job only when its worker stopped sending heartbeats."""
    first = SweepLease(engine, "crm", Holder("job 9 (attempt 1) on a:1", job_id=9), seconds=60)
    await first.acquire()
    await first.set_run("r9")
    again = SweepLease(engine, "crm", Holder("job 9 (attempt 2) on b:2", job_id=9), seconds=60)
    await again.acquire()
    row = await current_lease(engine, "crm")
    assert row is not None and (row.holder, row.run_id) == ("job 9 (attempt 2) on b:2", "r9")


async def test_a_holder_on_this_machine_whose_process_is_gone_frees_it(
    engine: AsyncEngine,
) -> None:
    gone = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await gone.wait()

    dead = Holder(f"`sergas sweep` on {socket.gethostname()}:{gone.pid}")
    await SweepLease(engine, "crm", dead, seconds=600).acquire()
    await SweepLease(engine, "crm", Holder.process(), seconds=600).acquire()
    alive = Holder(f"`sergas sweep` on {socket.gethostname()}:{os.getpid()}")
    await SweepLease(engine, "crm2", alive, seconds=600).acquire()
    with pytest.raises(SweepRunning):
        await SweepLease(engine, "crm2", Holder("another"), seconds=600).acquire()


async def test_held_renews_and_releases(engine: AsyncEngine) -> None:
    lease = SweepLease(engine, "crm", Holder("renewing"), seconds=1.5)
    async with lease.held():
        first = await current_lease(engine, "crm")
        await asyncio.sleep(1.2)  # past one renewal (every 0.5 s)
        later = await current_lease(engine, "crm")
        assert first is not None and later is not None
        assert later.expires_at > first.expires_at
    assert await current_lease(engine, "crm") is None


@pytest.mark.slow
def test_two_sweeps_of_one_crm_at_once_the_second_is_refused(crm: Crm) -> None:
    first = sweep_process(crm, pause="after:1")
    wait_for_pause(first)
    try:
        second = sweep_process(crm)
        _, stderr = second.communicate(timeout=120)
        assert second.returncode == 1
        assert "a sweep of this CRM is already running" in stderr
        assert "`sergas sweep` on " in stderr and f":{first.pid}" in stderr
        assert "Traceback" not in stderr
        assert db_rows(crm, "select count(*) from sweep_runs") == [(1,)]
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.communicate(timeout=30)
