"""Jobs: the queue's schema (PostgreSQL), sweep_leases, job_attempts, runs' job ids.

Also the job ids of sweep runs and batches. The queue's tables and functions are
Procrastinate's own schema, read from the installed package (`SchemaManager.get_schema()`),
so this revision creates whatever the pinned version (`procrastinate>=3.10,<4`) defines. A
later Procrastinate that changes its schema ships its changes as SQL files in the package
(`SchemaManager.get_migrations_path()`): a new revision then runs those files. SQLite has no
queue (jobs need PostgreSQL), so there only the Sergas tables are created.

Revision ID: 0006_jobs
Revises: 0005_dashboard
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sergas.db.tables import UTCDateTime

revision: str = "0006_jobs"
down_revision: str | None = "0005_dashboard"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUEUE_PREFIX = "procrastinate"


def upgrade() -> None:
    op.create_table(
        "sweep_leases",
        sa.Column("scope", sa.String(255), nullable=False),
        sa.Column("holder", sa.String(255), nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=True),
        sa.Column("run_id", sa.String(32), nullable=True),
        sa.Column("acquired_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("scope", name="pk_sweep_leases"),
    )
    op.create_table(
        "job_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("task", sa.String(64), nullable=False),
        sa.Column("worker", sa.String(255), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_job_attempts"),
    )
    op.create_index("ix_job_attempts_job_id", "job_attempts", ["job_id"])
    with op.batch_alter_table("sweep_runs") as batch:
        batch.add_column(sa.Column("job_id", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("sweep_batches") as batch:
        batch.add_column(sa.Column("job_id", sa.BigInteger(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        from procrastinate.schema import SchemaManager

        _run_script(SchemaManager.get_schema())


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _drop_queue_schema()
    with op.batch_alter_table("sweep_batches") as batch:
        batch.drop_column("job_id")
    with op.batch_alter_table("sweep_runs") as batch:
        batch.drop_column("job_id")
    op.drop_index("ix_job_attempts_job_id", table_name="job_attempts")
    op.drop_table("job_attempts")
    op.drop_table("sweep_leases")


def _run_script(script: str) -> None:
    """A multi-statement script (with $$-quoted function bodies) in one simple-protocol call:
    the driver's prepared statements take one statement at a time."""
    from sqlalchemy.util import await_only

    driver = op.get_bind().connection.driver_connection
    assert driver is not None
    await_only(driver.execute(script))


def _drop_queue_schema() -> None:
    """Everything the queue's schema created: its tables, then its functions and types."""
    bind = op.get_bind()
    like = {"prefix": QUEUE_PREFIX + "%"}
    tables = bind.execute(
        sa.text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE :prefix"
        ),
        like,
    ).scalars()
    for name in list(tables):
        op.execute(f'DROP TABLE IF EXISTS "{name}" CASCADE')
    functions = bind.execute(
        sa.text(
            "SELECT p.oid::regprocedure::text FROM pg_proc p "
            "JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = 'public' AND p.proname LIKE :prefix"
        ),
        like,
    ).scalars()
    for signature in list(functions):
        op.execute(f"DROP FUNCTION IF EXISTS {signature} CASCADE")
    types = bind.execute(
        sa.text(
            "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
            "WHERE n.nspname = 'public' AND t.typname LIKE :prefix AND t.typtype IN ('e', 'c')"
        ),
        like,
    ).scalars()
    for name in list(types):
        op.execute(f'DROP TYPE IF EXISTS "{name}" CASCADE')
