"""Score history per run and the dashboard's sign-in: sweep_history, web_sessions.

Also an index on sweep_scores for one owner's accounts. The last finished run of each scope
is copied into sweep_history from sweep_scores (older runs' scores were not kept).

Revision ID: 0005_dashboard
Revises: 0004_approvals_applying
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sergas.db.tables import UTCDateTime

revision: str = "0005_dashboard"
down_revision: str | None = "0004_approvals_applying"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sweep_history",
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["sweep_runs.id"],
            name="fk_sweep_history_run_id_sweep_runs",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "account_id", name="pk_sweep_history"),
    )
    op.create_index("ix_sweep_history_account_id", "sweep_history", ["account_id"])
    op.create_index("ix_sweep_scores_run_id_owner_id", "sweep_scores", ["run_id", "owner_id"])
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_web_sessions"),
    )
    op.create_index("ix_web_sessions_expires_at", "web_sessions", ["expires_at"])
    op.execute(
        "INSERT INTO sweep_history (run_id, account_id, score, status) "
        "SELECT s.run_id, s.account_id, s.score, s.status FROM sweep_scores s "
        "JOIN sweep_runs r ON r.id = s.run_id WHERE r.state = 'done'"
    )


def downgrade() -> None:
    op.drop_index("ix_web_sessions_expires_at", table_name="web_sessions")
    op.drop_table("web_sessions")
    op.drop_index("ix_sweep_scores_run_id_owner_id", table_name="sweep_scores")
    op.drop_index("ix_sweep_history_account_id", table_name="sweep_history")
    op.drop_table("sweep_history")
