"""The engine: URL normalisation, SQLite's setup, aware UTC datetimes, and the error boundary."""

from __future__ import annotations

import socket
import sqlite3
import stat
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sergas.db import create_engine, database_errors, normalise_url, schema_status, upgrade
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
    path = tmp_path / "deep" / "dir" / "x.db"
    engine = create_engine(f"sqlite:///{path}")
    try:
        async with engine.begin() as conn:
            mode = (await conn.execute(text("PRAGMA journal_mode"))).scalar()
            await conn.execute(text("CREATE TABLE t (x)"))
        assert mode == "wal"
        assert path.exists()
        # Private: the folders Sergas made, the database and its write-ahead log and index.
        assert [_mode(p) for p in (tmp_path / "deep", path.parent)] == [0o700, 0o700]
        assert _modes(path.parent) == {"x.db": 0o600, "x.db-shm": 0o600, "x.db-wal": 0o600}
    finally:
        await engine.dispose()


async def test_an_existing_database_file_is_made_private(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o755)
    path = folder / "old.db"
    sqlite3.connect(path).close()
    path.chmod(0o644)
    engine = create_engine(f"sqlite:///{path}")
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    assert _mode(path) == 0o600
    assert _mode(folder) == 0o755  # a folder Sergas did not make is left as it was


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _modes(folder: Path) -> dict[str, int]:
    return {p.name: _mode(p) for p in folder.iterdir()}


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


async def _execute(engine: AsyncEngine, sql: str, conn: AsyncConnection | None = None) -> None:
    """Run `sql` inside the error boundary, on `conn` or a new connection."""
    with database_errors(engine.url):
        if conn is not None:
            await conn.execute(text(sql))
            return
        async with engine.connect() as new:
            await new.execute(text(sql))


def _assert_clean(error: DatabaseError, sql: str) -> None:
    """Nothing of SQLAlchemy's wrapper reaches the message: no SQL, no parameters, no link."""
    message = str(error)
    for leak in (sql, "[SQL", "Background on this error", "sqlalche.me", "[parameters"):
        assert leak not in message, message


@pytest.mark.postgres
async def test_a_lost_connection_is_a_clean_database_error_worth_retrying(
    postgres_url: str,
) -> None:
    """asyncpg's errors reach SQLAlchemy as a bare DBAPIError; they are mapped all the same."""
    engine = create_engine(postgres_url)
    sql = "SELECT pg_terminate_backend(pg_backend_pid())"
    try:
        with pytest.raises(DatabaseError) as info:
            await _execute(engine, sql)
    finally:
        await engine.dispose()
    _assert_clean(info.value, sql)
    assert "connection to the database was lost" in str(info.value)
    assert info.value.retryable


@pytest.mark.postgres
async def test_a_lock_timeout_is_a_clean_database_error_not_worth_retrying(
    postgres_url: str,
) -> None:
    engine = create_engine(postgres_url)
    sql = "SELECT pg_advisory_lock(424242)"
    try:
        async with engine.connect() as holder, engine.connect() as waiter:
            await holder.execute(text(sql))
            await waiter.execute(text("SET lock_timeout = 50"))
            with pytest.raises(DatabaseError) as info:
                await _execute(engine, sql, waiter)
            await holder.execute(text("SELECT pg_advisory_unlock(424242)"))
    finally:
        await engine.dispose()
    _assert_clean(info.value, sql)
    assert "timed out waiting for a lock" in str(info.value)
    assert not info.value.retryable


async def test_a_missing_schema_is_not_worth_retrying(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    sql = "SELECT * FROM zoho_tokens"
    try:
        with pytest.raises(DatabaseError) as info:
            await _execute(engine, sql)
    finally:
        await engine.dispose()
    _assert_clean(info.value, sql)
    assert "sergas db upgrade" in str(info.value)
    assert not info.value.retryable
