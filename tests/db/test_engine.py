"""The engine: URL normalisation, SQLite's setup, aware UTC datetimes, and the error boundary."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from sergas.db import create_engine, normalise_url, schema_status, upgrade
from sergas.db.tables import zoho_tokens
from sergas.errors import ConfigError, DatabaseError


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("postgresql://u:p@h:5432/db", "postgresql+asyncpg"),
        ("postgres://u@h/db", "postgresql+asyncpg"),
        ("postgresql+psycopg2://u@h/db", "postgresql+asyncpg"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg"),
        ("sqlite:////tmp/x.db", "sqlite+aiosqlite"),
        ("sqlite+aiosqlite:////tmp/x.db", "sqlite+aiosqlite"),
    ],
)
def test_urls_are_normalised_to_async_drivers(given: str, driver: str) -> None:
    url = normalise_url(given)
    assert url.drivername == driver
    assert url.database in ("db", "/tmp/x.db")


@pytest.mark.parametrize("bad", ["mysql://u@h/db", "not a url"])
def test_unsupported_urls_name_the_setting(bad: str) -> None:
    with pytest.raises(ConfigError, match="SERGAS_DATABASE_URL"):
        normalise_url(bad)


def test_postgres_pool_comes_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERGAS_DB_POOL_SIZE", "7")
    monkeypatch.setenv("SERGAS_DB_MAX_OVERFLOW", "3")
    engine = create_engine("postgresql://u@127.0.0.1/db")
    assert engine.pool.size() == 7  # type: ignore[attr-defined]
    assert engine.pool._max_overflow == 3  # type: ignore[attr-defined]
    assert engine.pool._pre_ping is True


async def test_sqlite_uses_wal_and_creates_its_directory(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'deep' / 'dir' / 'x.db'}")
    try:
        async with engine.connect() as conn:
            mode = (await conn.execute(text("PRAGMA journal_mode"))).scalar()
        assert mode == "wal"
        assert (tmp_path / "deep" / "dir" / "x.db").exists()
    finally:
        await engine.dispose()


async def test_datetimes_round_trip_as_aware_utc(engine: AsyncEngine) -> None:
    local = datetime(2026, 1, 2, 3, 4, 5, 600000, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    async with engine.begin() as conn:
        await conn.execute(
            zoho_tokens.insert().values(
                accounts_url="a",
                client_id="c",
                user_name="u",
                refresh_token=b"x",
                refresh_token_fp="f",
                generation=0,
                created_at=local,
                updated_at=local,
                expires_at=local,
            )
        )
        got = (await conn.execute(select(zoho_tokens.c.expires_at))).scalar_one()
    assert got == local
    assert got.tzinfo == UTC


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_database_down_is_a_database_error_without_password() -> None:
    engine = create_engine(f"postgresql://postgres:hunter2@127.0.0.1:{_closed_port()}/x")
    try:
        with pytest.raises(DatabaseError) as info:
            await schema_status(engine)
    finally:
        await engine.dispose()
    assert "127.0.0.1" in str(info.value)
    assert "hunter2" not in str(info.value)
    assert info.value.retryable


async def test_unopenable_sqlite_file_is_a_database_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    bad = create_engine(f"sqlite+aiosqlite:///{blocker}")  # a text file, not a database
    try:
        with pytest.raises(DatabaseError, match="database"):
            await upgrade(bad)
    finally:
        await bad.dispose()


async def test_missing_schema_says_to_upgrade(tmp_path: Path) -> None:
    from sergas.auth.sql_store import SqlTokenStore
    from sergas.auth.store import TokenKey
    from sergas.crypto import TokenCipher

    engine = create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    store = SqlTokenStore(engine, TokenCipher([TokenCipher.generate_key()]))
    try:
        with pytest.raises(DatabaseError, match="sergas db upgrade"):
            await store.get(TokenKey("a", "c", "u"))
    finally:
        await engine.dispose()
