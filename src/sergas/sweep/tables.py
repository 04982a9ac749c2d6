"""The sweep's tables (migration 0002_sweep): runs, their batches and scores, last scores.

- `sweep_runs`: one row per real (not dry) run; `state` is "writing" until every batch is
  done and the run's scores became the last scores, then "done" (or "abandoned").
- `sweep_batches`: the checkpoint. One row per batch of changed accounts: the exact
  records to write, `state` pending → writing → done, and every record's outcome.
- `sweep_scores`: every scored account of a run (what the summary and the briefs are built
  from, so a resumed run need not read the CRM again). Kept for the latest run only.
- `sweep_last_scores`: per scope (which CRM) and account, the score of the last finished
  run: the baseline for "changes since the previous sweep".
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
)

from sergas.db.models import UTCDateTime, metadata

__all__ = ["sweep_batches", "sweep_last_scores", "sweep_runs", "sweep_scores"]

sweep_runs = Table(
    "sweep_runs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("scope", String(255), nullable=False),
    Column("state", String(16), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("checked_at", UTCDateTime(), nullable=False),  # the Last_Health_Check written
    Column("finished_at", UTCDateTime(), nullable=True),
    Column("accounts_scanned", Integer(), nullable=False),
    Column("accounts_scored", Integer(), nullable=False),
    Column("accounts_changed", Integer(), nullable=False),
    Column("batches", Integer(), nullable=False),
    Column("summary", JSON(), nullable=True),
    Index(None, "scope", "state"),
)

sweep_batches = Table(
    "sweep_batches",
    metadata,
    Column("run_id", ForeignKey("sweep_runs.id", ondelete="CASCADE"), primary_key=True),
    Column("batch_no", Integer(), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("records", JSON(), nullable=False),  # the update payload, one dict per account
    Column("outcomes", JSON(), nullable=True),  # one per record, in payload order
    Column("attempts", Integer(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

sweep_scores = Table(
    "sweep_scores",
    metadata,
    Column("run_id", ForeignKey("sweep_runs.id", ondelete="CASCADE"), primary_key=True),
    Column("account_id", String(64), primary_key=True),
    Column("account_name", String(255), nullable=False),
    Column("owner_id", String(64), nullable=False),
    Column("owner_name", String(255), nullable=False),
    Column("owner_email", String(255), nullable=True),
    Column("score", Integer(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("previous_score", Integer(), nullable=True),
    Column("previous_status", String(16), nullable=True),
    Column("reasons", JSON(), nullable=False),
    Column("changed", Boolean(), nullable=False),  # differs from what the CRM held
)

sweep_last_scores = Table(
    "sweep_last_scores",
    metadata,
    Column("scope", String(255), primary_key=True),
    Column("account_id", String(64), primary_key=True),
    Column("score", Integer(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("run_id", String(32), nullable=False),
    Column("scored_at", UTCDateTime(), nullable=False),
)
