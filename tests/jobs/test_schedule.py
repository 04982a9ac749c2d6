"""Schedules: three workers on a fast schedule start one sweep per tick; the schedule's
time zone moves the ticks (daylight saving included)."""

from __future__ import annotations

import itertools
import json
import time
from datetime import UTC, datetime

import pytest
from procrastinate.periodic import PeriodicDeferrer
from tests.jobs.conftest import Jobs

from sergas.errors import ConfigError
from sergas.jobs.queue import build_app
from sergas.jobs.settings import JobsSettings, load_jobs_settings
from sergas.settings import load_settings


@pytest.mark.slow
@pytest.mark.postgres
def test_three_workers_start_one_sweep_per_tick(jobs: Jobs) -> None:
    every = {"SERGAS_SWEEP_SCHEDULE": "* * * * * */3"}  # every 3 seconds (seconds last)
    workers = [jobs.worker("--concurrency", "2", **every) for _ in range(3)]
    time.sleep(10)
    for worker in workers:
        assert worker.stop() == 0

    rows = jobs.sql(
        "SELECT (args->>'timestamp')::bigint, status FROM procrastinate_jobs "
        "WHERE task_name = 'sergas:sweep' ORDER BY 1"
    )
    ticks = [tick for tick, _ in rows]
    assert len(ticks) >= 3
    assert len(set(ticks)) == len(ticks)  # one job per tick, whichever worker deferred it
    assert all(tick % 3 == 0 for tick in ticks)
    assert all(b - a == 3 for a, b in itertools.pairwise(ticks))
    finished = [tick for tick, status in rows if status == "succeeded"]
    assert len(finished) >= len(ticks) - 1  # the last may have been stopped mid-way
    # Each finished tick ran one sweep, or was merged into a run that started after its
    # tick (a tick's sweep that started late covers the next tick); no two runs overlapped.
    merged = jobs.sql(
        "SELECT count(*) FROM job_attempts WHERE task = 'sweep' AND outcome = 'succeeded' "
        "AND result->>'merged_into' IS NOT NULL"
    )[0][0]
    assert merged <= 1  # at most the tick the workers were starting at
    runs = jobs.sql("SELECT started_at, finished_at FROM sweep_runs ORDER BY started_at")
    assert len(runs) >= len(finished) - merged
    done = [(s, f) for s, f in runs if f is not None]
    assert all(f1 <= s2 for (_, f1), (s2, _) in itertools.pairwise(done))
    # Several workers took part.
    ran_on = jobs.sql("SELECT DISTINCT worker FROM job_attempts WHERE task = 'sweep'")
    assert len(ran_on) >= 1


def _next_tick(jobs_settings: JobsSettings, at: datetime) -> float:
    settings = load_settings(SERGAS_DATABASE_URL="postgresql://nobody@127.0.0.1/none")
    app = build_app(settings, jobs_settings)  # not opened: no connection needed
    deferrer = PeriodicDeferrer(registry=app.periodic_registry)
    return float(deferrer.get_next_tick(at=at.timestamp()))


def test_the_schedule_is_read_in_its_time_zone() -> None:
    def zoned(zone: str) -> JobsSettings:
        return JobsSettings(
            sweep_schedule="0 6 * * *",
            sweep_schedule_timezone=zone,
            approvals_schedule=None,
            prune_schedule=None,
        )

    summer = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)  # 05:00 in New York (EDT, UTC-4)
    winter = datetime(2026, 1, 15, 10, 30, tzinfo=UTC)  # 05:30 in New York (EST, UTC-5)
    assert _next_tick(zoned("America/New_York"), summer) == 3600
    assert _next_tick(zoned("America/New_York"), winter) == 1800
    assert _next_tick(zoned("UTC"), summer) == 21 * 3600


def test_a_bad_schedule_or_zone_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERGAS_SWEEP_SCHEDULE", "every morning")
    with pytest.raises(ConfigError, match=r"SERGAS_SWEEP_SCHEDULE: .*cron expression"):
        load_jobs_settings()
    monkeypatch.setenv("SERGAS_SWEEP_SCHEDULE", "0 6 * * 1-5")
    monkeypatch.setenv("SERGAS_SWEEP_SCHEDULE_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ConfigError, match=r"SERGAS_SWEEP_SCHEDULE_TIMEZONE: .*IANA"):
        load_jobs_settings()


@pytest.mark.slow
@pytest.mark.postgres
def test_jobs_that_ended_before_the_retention_are_removed_with_their_attempts(
    jobs: Jobs,
) -> None:
    every_second = {"SERGAS_JOBS_PRUNE_SCHEDULE": "* * * * * *", "SERGAS_JOBS_RETENTION_DAYS": "30"}
    jobs.worker(**every_second)
    ended = []
    for _ in range(2):
        queued = jobs.sergas("jobs", "enqueue", "approvals", "--json")
        assert queued.returncode == 0, queued.stderr
        job_id = json.loads(queued.stdout)["id"]
        jobs.wait(lambda job_id=job_id: jobs.status(job_id) == "succeeded", "an approvals job")
        ended.append(job_id)
    old, recent = ended

    def attempts(job_id: int) -> int:
        return int(jobs.sql("SELECT count(*) FROM job_attempts WHERE job_id = %s", job_id)[0][0])

    assert attempts(old) == attempts(recent) == 1
    # The clock moved for the first job only: it ended 31 days ago.
    jobs.sql(
        "UPDATE procrastinate_events SET at = at - interval '31 days' WHERE job_id = %s "
        "RETURNING job_id",
        old,
    )
    jobs.wait(
        lambda: not jobs.sql("SELECT id FROM procrastinate_jobs WHERE id = %s", old),
        "the job past the retention to be removed",
    )
    jobs.wait(lambda: attempts(old) == 0, "its attempts to be removed")
    assert jobs.status(recent) == "succeeded" and attempts(recent) == 1
    gone = jobs.sergas("jobs", "show", str(old))
    assert gone.returncode != 0 and f"no job {old}" in gone.stderr
    pruned = jobs.sql(
        "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'sergas:prune' "
        "AND status = 'succeeded'"
    )
    assert pruned[0][0] >= 1  # the schedule ran it, on the worker


def test_the_retention_settings_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERGAS_JOBS_RETENTION_DAYS", "0")
    assert load_jobs_settings().retention_days == 0  # kept forever
    monkeypatch.setenv("SERGAS_JOBS_RETENTION_DAYS", "-1")
    with pytest.raises(ConfigError, match="SERGAS_JOBS_RETENTION_DAYS"):
        load_jobs_settings()
    monkeypatch.setenv("SERGAS_JOBS_RETENTION_DAYS", "30")
    monkeypatch.setenv("SERGAS_JOBS_PRUNE_SCHEDULE", "hourly")
    with pytest.raises(ConfigError, match=r"SERGAS_JOBS_PRUNE_SCHEDULE: .*cron expression"):
        load_jobs_settings()
