"""Databases for the db and auth tests: a SQLite file per test, one PostgreSQL database per run."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sergas.db import create_engine, upgrade
from sergas.db.testing import find_test_postgres, postgres_required, temporary_database
from sergas.settings import reset_settings

KEEP = {"SERGAS_TEST_POSTGRES_URL", "SERGAS_REQUIRE_POSTGRES"}


@pytest.fixture(autouse=True)
def isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No developer environment, .env or data directory leaks into a test."""
    import os

    for name in list(os.environ):
        if name.startswith(("SERGAS_", "ZOHO_")) and name not in KEEP:
            monkeypatch.delenv(name)
    data = tmp_path / "data"
    monkeypatch.setenv("SERGAS_DATA_DIR", str(data))
    monkeypatch.chdir(tmp_path)
    reset_settings()
    yield data
    reset_settings()
    structlog.reset_defaults()  # CLI commands configure logging for the process


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    url, reason = find_test_postgres()
    if url is None:
        if postgres_required():
            pytest.fail(f"SERGAS_REQUIRE_POSTGRES=1 but {reason}")
        print(f"skipping PostgreSQL tests: {reason}")
        pytest.skip(reason)
    with temporary_database(url) as database_url:
        yield database_url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test that takes it runs twice: on a new SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'sergas.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a database at head with no tokens in it."""
    engine = create_engine(db_url)
    await upgrade(engine)
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM token_refresh_audit"))
        await conn.execute(text("DELETE FROM zoho_tokens"))
    yield engine
    await engine.dispose()
