"""The async engine: URL normalisation, per-dialect setup, and one error boundary.

SQLite needs three things for several processes to share one file safely: WAL (readers do not
block the writer), a busy timeout (writers queue instead of failing), and SQLAlchemy emitting
BEGIN itself, so a transaction opened with `write_lock=True` starts with BEGIN IMMEDIATE and
takes the database's write lock up front — SQLite's equivalent of SELECT ... FOR UPDATE.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import sqlalchemy.exc
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from sergas.errors import ConfigError, DatabaseError
from sergas.settings import Settings, get_settings

__all__ = [
    "WRITE_LOCK",
    "create_engine",
    "database_errors",
    "is_sqlite",
    "normalise_url",
    "safe_url",
    "write_transaction",
]

WRITE_LOCK = "sergas_write_lock"  # execution option: begin with the database's write lock
SQLITE_BUSY_TIMEOUT_S = 60.0

_DRIVERS = {
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
    "postgresql+psycopg": "postgresql+asyncpg",
    "postgresql+psycopg2": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
    "sqlite+pysqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
}


def normalise_url(url: str | URL) -> URL:
    """Map `postgresql://` and `sqlite://` (and their sync drivers) onto the async drivers."""
    try:
        parsed = make_url(url)
    except sqlalchemy.exc.ArgumentError:
        raise ConfigError("SERGAS_DATABASE_URL: not a valid database URL") from None
    driver = _DRIVERS.get(parsed.drivername)
    if driver is None:
        raise ConfigError(
            f"SERGAS_DATABASE_URL: unsupported database {parsed.drivername!r} "
            "(use postgresql:// or sqlite://)"
        )
    return parsed.set(drivername=driver)


def safe_url(url: str | URL) -> str:
    """The URL for messages: password hidden."""
    return make_url(url).render_as_string(hide_password=True)


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def create_engine(url: str | URL | None = None, settings: Settings | None = None) -> AsyncEngine:
    """An async engine for `url` (default: the settings' database), ready for Sergas."""
    settings = settings or get_settings()
    parsed = normalise_url(url or settings.effective_database_url)
    if parsed.drivername.startswith("sqlite"):
        return _sqlite_engine(parsed)
    return create_async_engine(
        parsed,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=settings.db_pool_pre_ping,
        pool_recycle=settings.db_pool_recycle,
    )


def _sqlite_engine(url: URL) -> AsyncEngine:
    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN (see _on_begin)
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(WRITE_LOCK, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@contextlib.asynccontextmanager
async def write_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A transaction that serialises writers across processes.

    SQLite: BEGIN IMMEDIATE. PostgreSQL: an ordinary transaction; callers lock the rows they
    change with SELECT ... FOR UPDATE.
    """
    with database_errors(engine.url):
        async with engine.connect() as conn:
            await conn.execution_options(**{WRITE_LOCK: True})
            async with conn.begin():
                yield conn


_DB_ERRORS: tuple[type[BaseException], ...] = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.DatabaseError,
    sqlalchemy.exc.TimeoutError,
    sqlalchemy.exc.NoSuchTableError,
    OSError,
)


@contextlib.contextmanager
def database_errors(url: str | URL) -> Iterator[None]:
    """Translate driver and network failures into DatabaseError (no SQL, no parameters)."""
    try:
        yield
    except _DB_ERRORS as exc:
        raise _database_error(exc, url) from None


def _database_error(exc: BaseException, url: str | URL) -> DatabaseError:
    orig = getattr(exc, "orig", None) or exc
    reason = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    missing_schema = "no such table" in reason or (
        "relation" in reason and "does not exist" in reason
    )
    hint = " (run `sergas db upgrade`)" if missing_schema else ""
    return DatabaseError(
        f"database error on {safe_url(url)}: {type(orig).__name__}: {reason}{hint}",
        details={"url": safe_url(url), "error": type(orig).__name__},
    )
