"""The job queue's settings: workers, heartbeats, schedules.

`SERGAS_JOBS_*` for the queue and its workers; the sweep's schedule is `SERGAS_SWEEP_SCHEDULE`
(cron syntax, five fields, or six with seconds last) in `SERGAS_SWEEP_SCHEDULE_TIMEZONE`.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter  # type: ignore[import-untyped]
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sergas.settings import read_settings

__all__ = ["JobsSettings", "load_jobs_settings"]


class JobsSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SERGAS_JOBS_",
        env_file=".env",
        extra="ignore",
        validate_by_name=True,
        validate_by_alias=True,
    )

    # Jobs one `sergas worker` runs at once (its --concurrency wins). A queued sweep takes
    # one slot while its shards take others, on this worker or any other.
    concurrency: int = Field(4, ge=1, le=64)
    # A worker writes a heartbeat this often; one silent for `stalled_seconds` is taken for
    # dead, and the jobs it was running are handed to the other workers.
    # The stalled time leaves room for a busy worker: a sweep of 100,000 accounts joins and
    # scores on the event loop, which delays heartbeats by seconds on a loaded machine.
    heartbeat_seconds: float = Field(10.0, gt=0)
    stalled_seconds: float = Field(60.0, gt=0)
    # How often each worker looks for stalled jobs, and for new jobs when it missed a
    # notification (new jobs normally arrive at once, by LISTEN/NOTIFY).
    check_seconds: float = Field(5.0, gt=0)
    # On SIGTERM a worker finishes its jobs' current write batches and exits; a job still
    # running this long after is cancelled (its batch is settled by read-back on resume).
    shutdown_seconds: float = Field(60.0, ge=0)
    # Attempts of a job that fails (a stalled worker's or a stopped worker's job is handed
    # on regardless).
    max_attempts: int = Field(5, ge=1, le=100)
    # The first wait before a failed job is tried again; doubled each time.
    retry_wait_seconds: int = Field(10, ge=0)
    # Approved agent changes still not applied this long after approval are completed by a
    # job (sergas.access.applying.recover_applying: a crash between "approved" and
    # "applied" is recovered, not stuck).
    approvals_grace_seconds: float = Field(60.0, ge=0)
    # How often workers look for such changes (cron syntax, UTC); empty: never.
    approvals_schedule: str | None = "*/5 * * * *"
    # Finished jobs (succeeded, failed, cancelled) are removed, with their events and
    # attempts, this many days after they ended; 0 keeps them. The sweep's own runs and
    # history (`sergas sweep runs`, the dashboard) are not jobs and stay.
    retention_days: int = Field(30, ge=0)
    # How often workers remove them (cron syntax, UTC); empty: never.
    prune_schedule: str | None = "17 * * * *"

    # The sweep's schedule: unset runs no scheduled sweep.
    sweep_schedule: str | None = Field(None, validation_alias="SERGAS_SWEEP_SCHEDULE")
    sweep_schedule_timezone: str = Field("UTC", validation_alias="SERGAS_SWEEP_SCHEDULE_TIMEZONE")

    @field_validator("sweep_schedule", "approvals_schedule", "prune_schedule", mode="before")
    @classmethod
    def _cron(cls, v: Any) -> Any:
        if v is None or (isinstance(v, str) and not v.strip()):
            return None
        if not isinstance(v, str) or not croniter.is_valid(v.strip()):
            raise ValueError(
                "must be a cron expression: five fields (minute hour day month weekday), "
                "or six with seconds last, e.g. '0 6 * * 1-5'"
            )
        return v.strip()

    @field_validator("sweep_schedule_timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v.strip())
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be an IANA time zone, e.g. Europe/Madrid or UTC") from None
        return v.strip()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.sweep_schedule_timezone)


def load_jobs_settings(**overrides: Any) -> JobsSettings:
    """Read the queue's settings now; a bad value raises ConfigError naming the variable."""
    return read_settings(JobsSettings, **overrides)
