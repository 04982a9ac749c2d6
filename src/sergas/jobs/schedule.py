"""Schedules: the sweep on `SERGAS_SWEEP_SCHEDULE`; the approvals and the removal of old
jobs on theirs.

Procrastinate's periodic tasks: every worker runs the same schedule, and the database lets
one job through per task and tick (a unique row per tick in `procrastinate_periodic_defers`),
so any number of workers start one sweep per tick. The queueing lock also skips a tick while
the previous tick's sweep is still waiting. Procrastinate reads cron in UTC; the sweep's
schedule is read in `SERGAS_SWEEP_SCHEDULE_TIMEZONE` by giving its cron iterator a start
time in that zone (croniter then computes every tick there, daylight saving included).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from croniter import croniter  # type: ignore[import-untyped]
from procrastinate import App
from procrastinate.periodic import PeriodicTask

from sergas.jobs.settings import JobsSettings
from sergas.settings import Settings

__all__ = ["add_schedules", "zoho_scope"]


def zoho_scope(settings: Settings) -> str:
    """The scope of the CRM a worker with these settings serves (see sergas.runtime)."""
    from sergas.runtime import zoho_scope as scope

    return scope(settings)


def add_schedules(app: App, settings: Settings, jobs: JobsSettings) -> None:
    from sergas.jobs.queue import APPROVALS, PRUNE, SWEEP, sweep_lock

    if jobs.retention_days and jobs.prune_schedule:
        app.periodic_registry.register_task(
            task=app.tasks[PRUNE],
            cron=jobs.prune_schedule,
            periodic_id="schedule",
            configure_kwargs={"lock": "prune", "queueing_lock": "prune"},
        )
    if jobs.approvals_schedule:
        app.periodic_registry.register_task(
            task=app.tasks[APPROVALS],
            cron=jobs.approvals_schedule,
            periodic_id="schedule",
            configure_kwargs={"lock": "approvals", "queueing_lock": "approvals"},
        )
    if jobs.sweep_schedule:
        lock = sweep_lock(zoho_scope(settings))
        periodic: PeriodicTask[Any, Any, Any] = app.periodic_registry.register_task(
            task=app.tasks[SWEEP],
            cron=jobs.sweep_schedule,
            periodic_id="schedule",
            configure_kwargs={
                "lock": lock,
                "queueing_lock": lock,
                "task_kwargs": {"scope": zoho_scope(settings)},
            },
        )
        # `croniter` is a cached property of the periodic task: seeded here with one that
        # counts in the schedule's zone.
        periodic.__dict__["croniter"] = croniter(jobs.sweep_schedule, datetime.now(jobs.zone))
