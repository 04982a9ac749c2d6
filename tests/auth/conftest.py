"""The same databases as tests/db (SQLite per test, PostgreSQL per run), and a sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from tests.db.conftest import db_url, engine, isolated_settings, postgres_url

from sergas.auth import ManualClock, TokenManager, token_manager
from sergas.db import create_engine, upgrade
from sergas.sandbox.server import RunningSandbox
from sergas.settings import Settings, get_settings, reset_settings

__all__ = ["db_url", "engine", "isolated_settings", "postgres_url"]

TOKEN_KEY = "c2VyZ2FzLXRlc3RzLW9ubHkta2V5LTAxMjM0NTY3ODk="  # a fixed Fernet key for tests only


@pytest.fixture
def sandbox_env(monkeypatch: pytest.MonkeyPatch, sandbox: RunningSandbox, db_url: str) -> Settings:
    """The process environment of a Sergas client of `sandbox`, storing tokens at `db_url`."""
    for name, value in sandbox.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SERGAS_DATABASE_URL", db_url)
    monkeypatch.setenv("SERGAS_TOKEN_KEY", TOKEN_KEY)
    reset_settings()
    return get_settings()


@pytest.fixture
async def pg_engine(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on PostgreSQL only, at head with no tokens in it."""
    engine = create_engine(postgres_url)
    await upgrade(engine)
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM token_refresh_audit"))
        await conn.execute(text("DELETE FROM zoho_tokens"))
    yield engine
    await engine.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime.now(UTC))


@pytest.fixture
async def manager(
    sandbox_env: Settings, engine: AsyncEngine, clock: ManualClock
) -> AsyncIterator[TokenManager]:
    manager = token_manager(sandbox_env, engine=engine, clock=clock)
    yield manager
    await manager.aclose()
