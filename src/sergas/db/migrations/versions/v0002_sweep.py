"""The health sweep: sweep_runs, sweep_batches (checkpoints), sweep_scores, sweep_last_scores.

Revision ID: 0002_sweep
Revises: 0001_tokens
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sergas.db.tables import UTCDateTime

revision: str = "0002_sweep"
down_revision: str | None = "0001_tokens"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sweep_runs",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("scope", sa.String(255), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("checked_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("accounts_scanned", sa.Integer(), nullable=False),
        sa.Column("accounts_scored", sa.Integer(), nullable=False),
        sa.Column("accounts_changed", sa.Integer(), nullable=False),
        sa.Column("batches", sa.Integer(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_sweep_runs"),
    )
    op.create_index("ix_sweep_runs_scope_state", "sweep_runs", ["scope", "state"])
    op.create_table(
        "sweep_batches",
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("batch_no", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("records", sa.JSON(), nullable=False),
        sa.Column("outcomes", sa.JSON(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["sweep_runs.id"],
            name="fk_sweep_batches_run_id_sweep_runs",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "batch_no", name="pk_sweep_batches"),
    )
    op.create_table(
        "sweep_scores",
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("account_name", sa.String(255), nullable=False),
        sa.Column("owner_id", sa.String(64), nullable=False),
        sa.Column("owner_name", sa.String(255), nullable=False),
        sa.Column("owner_email", sa.String(255), nullable=True),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("previous_score", sa.Integer(), nullable=True),
        sa.Column("previous_status", sa.String(16), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("changed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["sweep_runs.id"],
            name="fk_sweep_scores_run_id_sweep_runs",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "account_id", name="pk_sweep_scores"),
    )
    op.create_table(
        "sweep_last_scores",
        sa.Column("scope", sa.String(255), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("scored_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "account_id", name="pk_sweep_last_scores"),
    )


def downgrade() -> None:
    op.drop_table("sweep_last_scores")
    op.drop_table("sweep_scores")
    op.drop_table("sweep_batches")
    op.drop_index("ix_sweep_runs_scope_state", table_name="sweep_runs")
    op.drop_table("sweep_runs")
