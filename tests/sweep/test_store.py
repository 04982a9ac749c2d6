"""The checkpoint store on SQLite and PostgreSQL: plans, batch states, last scores."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from tests.db.conftest import db_url, postgres_url

from sergas.db import create_engine, upgrade
from sergas.sweep.lease import Fence, Holder, LeaseLost, SweepLease
from sergas.sweep.model import Outcome, ScoredAccount
from sergas.sweep.runner import plan_batches
from sergas.sweep.scoring import Owner
from sergas.sweep.store import RunRow, SweepStore

__all__ = ["db_url", "postgres_url"]

T0 = datetime(2026, 3, 2, 6, 0, 0, 123456, tzinfo=UTC)
ADA = Owner("u1", "Ada Lovelace", "ada@example.com")


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[SweepStore]:
    engine: AsyncEngine = create_engine(db_url)
    await upgrade(engine)
    async with engine.begin() as conn:
        for table in (
            "sweep_batches",
            "sweep_scores",
            "sweep_last_scores",
            "sweep_runs",
            "sweep_leases",
        ):
            await conn.execute(text(f"DELETE FROM {table}"))
    yield SweepStore(engine)
    await engine.dispose()


def scores(n: int, changed: int) -> list[ScoredAccount]:
    return [
        ScoredAccount(
            id=str(1000 + i),
            name=f"Account {i}",
            owner=ADA,
            score=i % 101,
            status="Watch",
            reasons=("Last activity 20 days ago", "No open deals"),
            previous_score=50 if i % 2 else None,
            previous_status="Watch" if i % 2 else None,
            changed=i < changed,
        )
        for i in range(n)
    ]


def run_row(run_id: str, scope: str = "crm", at: datetime = T0) -> RunRow:
    return RunRow(run_id, scope, "writing", at, at.replace(microsecond=0), 1300, 1200, 250, 3)


async def test_a_plan_is_saved_whole_and_read_back(store: SweepStore) -> None:
    planned = scores(1200, changed=250)
    batches = plan_batches(planned, T0, 100)
    assert [len(b) for b in batches] == [100, 100, 50]
    assert batches[0][0] == {
        "id": "1000",
        "Health_Score": 0,
        "Account_Status": "Watch",
        "Last_Health_Check": "2026-03-02T06:00:00+00:00",
    }
    await store.create_run(run_row("r1"), planned, batches, T0)

    run = await store.unfinished_run("crm")
    assert run is not None and run.id == "r1" and run.checked_at == T0.replace(microsecond=0)
    assert await store.unfinished_run("another crm") is None
    assert sorted(await store.scores("r1"), key=lambda s: int(s.id)) == planned
    rows = await store.batches("r1")
    assert [(b.batch_no, b.state, b.attempts) for b in rows] == [
        (1, "pending", 0),
        (2, "pending", 0),
        (3, "pending", 0),
    ]
    assert [b.records for b in rows] == batches


async def test_batches_move_pending_writing_done(store: SweepStore) -> None:
    planned = scores(10, changed=10)
    await store.create_run(run_row("r1", at=T0), planned, plan_batches(planned, T0, 4), T0)
    lease = SweepLease(store.engine, "crm", Holder("test"), seconds=60)
    await lease.acquire()
    await store.mark_writing("r1", 2, T0, lease.fence)
    outcomes = [
        Outcome(str(1004 + i), i != 1, "SUCCESS" if i != 1 else "INVALID_DATA") for i in range(4)
    ]
    await store.mark_done("r1", 2, outcomes, T0)
    await store.mark_writing("r1", 3, T0, lease.fence)

    one, two, three = await store.batches("r1")
    assert (one.state, one.outcomes) == ("pending", None)
    assert (two.state, two.attempts, two.outcomes) == ("done", 1, outcomes)
    assert (three.state, three.attempts) == ("writing", 1)
    assert three.ids == ["1008", "1009"]


async def test_finishing_makes_the_scores_the_last_scores(store: SweepStore) -> None:
    first = scores(6, changed=6)
    await store.create_run(run_row("r1"), first, plan_batches(first, T0, 100), T0)
    await store.finish_run(run_row("r1"), first, {"written": 6}, T0)
    assert await store.unfinished_run("crm") is None
    assert await store.previous_scores("crm") == {s.id: (s.score, "Watch") for s in first}
    assert await store.previous_scores("elsewhere") == {}

    later = T0 + timedelta(days=1)
    second = [ScoredAccount(s.id, s.name, s.owner, s.score + 1, "Healthy", ()) for s in first[:3]]
    await store.create_run(run_row("r2", at=later), second, [], later)
    await store.finish_run(run_row("r2", at=later), second, {}, later)

    last = await store.previous_scores("crm")
    assert last == {
        **{s.id: (s.score, "Watch") for s in first[3:]},  # not scored again: kept
        **{s.id: (s.score, "Healthy") for s in second},
    }
    assert await store.scores("r1") == []  # an older run's scores are no longer needed
    assert len(await store.scores("r2")) == 3
    done = await store.run("r1")
    assert done is not None and done.state == "done" and done.summary == {"written": 6}


async def test_an_abandoned_run_is_not_resumed(store: SweepStore) -> None:
    await store.create_run(run_row("r1"), scores(3, 3), [], T0)
    await store.abandon_run("r1", T0)
    assert await store.unfinished_run("crm") is None
    run = await store.run("r1")
    assert run is not None and run.state == "abandoned"


async def test_a_batch_is_marked_writing_only_under_its_lease(store: SweepStore) -> None:
    planned = scores(4, changed=4)
    await store.create_run(run_row("r1"), planned, plan_batches(planned, T0, 2), T0)
    with pytest.raises(LeaseLost, match="stopped before batch 1"):
        await store.mark_writing("r1", 1, T0, Fence("crm", holder="nobody"))
    lease = SweepLease(store.engine, "crm", Holder("job 7 attempt 1", job_id=7), seconds=60)
    await lease.acquire()
    await store.mark_writing("r1", 1, T0, Fence("crm", job_id=7))  # a shard of job 7
    with pytest.raises(LeaseLost):
        await store.mark_writing("r1", 2, T0, Fence("crm", job_id=8))
    assert [b.state for b in await store.batches("r1")] == ["writing", "pending"]


async def test_a_plan_is_saved_and_a_run_finished_only_under_the_lease(
    store: SweepStore,
) -> None:
    planned = scores(4, changed=4)
    fence = Fence("crm", holder="a sweep that lost its lease")
    with pytest.raises(LeaseLost, match="before saving its work"):
        await store.create_run(run_row("r1"), planned, plan_batches(planned, T0, 2), T0, fence)
    assert await store.run("r1") is None  # nothing half-written
    lease = SweepLease(store.engine, "crm", Holder("holder"), seconds=60)
    await lease.acquire()
    await store.create_run(run_row("r1"), planned, plan_batches(planned, T0, 2), T0, lease.fence)
    with pytest.raises(LeaseLost):
        await store.finish_run(run_row("r1"), planned, {}, T0, fence)
    await store.finish_run(run_row("r1"), planned, {}, T0, lease.fence)
    done = await store.run("r1")
    assert done is not None and done.state == "done"
