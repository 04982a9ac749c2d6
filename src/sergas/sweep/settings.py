"""The sweep's settings: score weights and thresholds, batching, output.

Every field is a `SERGAS_SWEEP_*` environment variable (or a line in `.env`). Lists are
comma-separated (`SERGAS_SWEEP_INACTIVE_RATINGS="Shut Down,Market Failed"`). docs/sweep.md
gives the formula these numbers feed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from sergas.settings import read_settings

__all__ = ["SweepSettings", "load_sweep_settings"]

# Zoho's default pipeline: the stages before Closed Won / Closed Lost.
DEFAULT_OPEN_STAGES = (
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Id. Decision Makers",
    "Proposal/Price Quote",
    "Negotiation/Review",
)

TextList = Annotated[tuple[str, ...], NoDecode]


class SweepSettings(BaseSettings):
    """Weights are points out of their sum (100 by default); the score is normalised to 0-100."""

    model_config = SettingsConfigDict(env_prefix="SERGAS_SWEEP_", env_file=".env", extra="ignore")

    # Weights: the most points each signal can give.
    weight_activity: float = Field(35, ge=0)
    weight_pipeline: float = Field(20, ge=0)
    weight_deals_on_time: float = Field(15, ge=0)
    weight_tasks: float = Field(20, ge=0)
    weight_revenue: float = Field(10, ge=0)

    # Thresholds.
    activity_fresh_days: int = Field(14, ge=0)  # full activity points up to this age
    activity_stale_days: int = Field(84, ge=1)  # no activity points from this age on
    pipeline_full_amount: float = Field(50_000, gt=0)  # open amount that earns full points
    overdue_tasks_zero: int = Field(4, ge=1)  # overdue tasks at which task points reach 0
    revenue_high: float = Field(10_000_000, ge=0)  # full revenue points from here
    revenue_mid: float = Field(1_000_000, ge=0)  # half revenue points from here
    healthy_min: int = Field(70, ge=0, le=100)  # score >= this: Healthy
    watch_min: int = Field(40, ge=0, le=100)  # score >= this: Watch; below: At Risk

    # What counts as open, done or inactive.
    open_deal_stages: TextList = DEFAULT_OPEN_STAGES
    completed_task_statuses: TextList = ("Completed",)
    inactive_ratings: TextList = ("Market Failed", "Project Cancelled", "Shut Down")

    # Running.
    # The tier the sweep's bulk reads and writes go to first (the manager fails over from it
    # as usual); "auto" leaves it to the manager's routing, which sends bulk calls to the SDK
    # tier. REST is the default: the same strategies without the SDK's object model, and
    # measured 2.4x faster for this job (docs/sweep.md, "Which tier").
    tier: Literal["auto", "mcp", "sdk", "rest"] = "rest"
    # Records per checkpointed batch: one bulk update through the manager, which sends them
    # as calls of 100 (Zoho's limit) in parallel. At most 1,000, so a batch never turns
    # into a Bulk Write job (500 credits) at the default SERGAS_BULK_WRITE_THRESHOLD.
    batch_size: int = Field(500, ge=1, le=1000)
    # Batches in flight. 2 x 500 keeps 10 writes in flight: Zoho's cap on heavy calls.
    write_concurrency: int = Field(2, ge=1, le=20)
    # One sweep per CRM at a time (sergas.sweep.lease): the lease a sweep holds expires this
    # long after its last renewal (renewed every third of it), so a dead holder frees it.
    lease_seconds: float = Field(60, ge=1, le=3600)
    # A queued sweep writes its batches as this many shard jobs, which any workers take in
    # parallel (sergas.jobs); 1 writes them in the sweep's own job. `sergas sweep` ignores it.
    shards: int = Field(4, ge=1, le=64)
    top_movers: int = Field(5, ge=0)
    # Finished runs whose per-account scores are kept (per CRM): the history behind
    # `sergas sweep diff`, the dashboard's trends and each account's score over time.
    history_runs: int = Field(90, ge=1)
    out: Path | None = None  # where briefs go (default: <data dir>/briefs)
    # Test hook: "after:N" stops before starting any batch once N are done; "in:N" stops
    # after batch N's write returned but before it is marked done. The process then sleeps.
    test_pause: str | None = None

    @field_validator(
        "open_deal_stages", "completed_task_statuses", "inactive_ratings", mode="before"
    )
    @classmethod
    def _split(cls, v: Any) -> Any:
        if isinstance(v, str):
            return tuple(part.strip() for part in v.split(",") if part.strip())
        return v

    @model_validator(mode="after")
    def _consistent(self) -> SweepSettings:
        if self.activity_fresh_days >= self.activity_stale_days:
            raise ValueError("SERGAS_SWEEP_ACTIVITY_FRESH_DAYS must be below ..._STALE_DAYS")
        if self.watch_min > self.healthy_min:
            raise ValueError("SERGAS_SWEEP_WATCH_MIN must not exceed SERGAS_SWEEP_HEALTHY_MIN")
        if self.revenue_mid > self.revenue_high:
            raise ValueError("SERGAS_SWEEP_REVENUE_MID must not exceed SERGAS_SWEEP_REVENUE_HIGH")
        if not self.open_deal_stages:
            raise ValueError("SERGAS_SWEEP_OPEN_DEAL_STAGES must name at least one stage")
        if self.total_weight <= 0:
            raise ValueError("the SERGAS_SWEEP_WEIGHT_* settings must not all be zero")
        return self

    @property
    def total_weight(self) -> float:
        return (
            self.weight_activity
            + self.weight_pipeline
            + self.weight_deals_on_time
            + self.weight_tasks
            + self.weight_revenue
        )


def load_sweep_settings(**overrides: Any) -> SweepSettings:
    """Read the sweep settings now; invalid values raise ConfigError naming the variable."""
    return read_settings(SweepSettings, **overrides)
