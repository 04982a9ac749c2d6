"""Approvals: an action (update, create or note), and no record id for a create not applied.

A create has no record until Zoho makes one: `record_id` becomes nullable, and is set to the
new record's id when the create is applied. Every existing row is an update. SQLite cannot
change a column's nullability in place: the table is rebuilt, and since dropping a parent
table with foreign keys on sets `tool_calls.approval_id` to NULL, those links are kept
aside and put back.

Revision ID: 0007_approval_actions
Revises: 0006_jobs
Create Date: 2026-12-03
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_approval_actions"
down_revision: str | None = "0006_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "approvals",
        sa.Column("action", sa.String(16), nullable=False, server_default="update"),
    )
    with _audit_links_kept(), op.batch_alter_table("approvals") as batch:
        batch.alter_column("record_id", existing_type=sa.String(64), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM approvals WHERE record_id IS NULL")
    with _audit_links_kept(), op.batch_alter_table("approvals") as batch:
        batch.alter_column("record_id", existing_type=sa.String(64), nullable=False)
        batch.drop_column("action")


@contextlib.contextmanager
def _audit_links_kept() -> Iterator[None]:
    if op.get_bind().dialect.name != "sqlite":
        yield
        return
    op.execute(
        "CREATE TEMP TABLE _sergas_links AS SELECT id, approval_id FROM tool_calls "
        "WHERE approval_id IS NOT NULL"
    )
    yield
    op.execute(
        "UPDATE tool_calls SET approval_id = (SELECT l.approval_id FROM _sergas_links l "
        "WHERE l.id = tool_calls.id AND l.approval_id IN (SELECT id FROM approvals)) "
        "WHERE id IN (SELECT id FROM _sergas_links)"
    )
    op.execute("DROP TABLE _sergas_links")
