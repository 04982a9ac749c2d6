"""Approvals: the `applying` state between a claim and Zoho's answer, and who holds it.

Revision ID: 0004_approvals_applying
Revises: 0003_service
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sergas.db.tables import UTCDateTime

revision: str = "0004_approvals_applying"
down_revision: str | None = "0003_service"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("approvals", sa.Column("applying_at", UTCDateTime(), nullable=True))
    op.add_column("approvals", sa.Column("applying_by", sa.String(255), nullable=True))
    op.add_column("approvals", sa.Column("applying_process", sa.String(255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("approvals") as batch:
        batch.drop_column("applying_process")
        batch.drop_column("applying_by")
        batch.drop_column("applying_at")
