"""The tables the code uses and the tables the migrations create are the same: every
migration run on a new database, then Alembic's autogenerate comparison finds nothing to do.

Fails when a table, column, type, nullability, index, unique constraint or foreign key is
changed in `sergas.db.tables` without a migration (or the other way round)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from sergas.db import create_engine, upgrade
from sergas.db.tables import include_name, metadata
from sergas.db.testing import find_test_postgres, postgres_required, temporary_database

TABLES = {
    "zoho_tokens",
    "token_refresh_audit",
    "sweep_runs",
    "sweep_batches",
    "sweep_scores",
    "sweep_last_scores",
    "api_keys",
    "approvals",
    "tool_calls",
    "sweep_history",
    "web_sessions",
    "sweep_leases",
    "job_attempts",
}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def new_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database nothing has touched yet (not even the other tests' PostgreSQL one)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'new.db'}"
        return
    url, reason = find_test_postgres()
    if url is None:
        if postgres_required():
            pytest.fail(f"SERGAS_REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(reason)
    with temporary_database(url, prefix="sergas_drift") as database_url:
        yield database_url


def _differences(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(
        conn, opts={"compare_type": True, "include_name": include_name}
    )
    return list(compare_metadata(context, metadata))


def test_every_table_is_on_the_one_metadata() -> None:
    assert set(metadata.tables) == TABLES


async def test_the_migrations_build_exactly_the_tables(new_database: str) -> None:
    engine = create_engine(new_database)
    try:
        await upgrade(engine)
        async with engine.connect() as conn:
            differences = await conn.run_sync(_differences)
    finally:
        await engine.dispose()
    assert differences == []
