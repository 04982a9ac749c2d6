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
from sergas.files import narrow, private_dir, private_file
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


# SQLite gives its journal, write-ahead log and shared-memory index the database file's mode.
_SQLITE_COMPANIONS = ("-journal", "-wal", "-shm")


def _sqlite_engine(url: URL) -> AsyncEngine:
    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        path = Path(url.database).expanduser()
        private_dir(path.parent)
        private_file(path)
        for suffix in _SQLITE_COMPANIONS:  # left by an older version, before the file was 0600
            narrow(path.with_name(path.name + suffix))
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


# DBAPIError is the base of everything SQLAlchemy wraps from a driver: asyncpg's errors
# other than the few SQLAlchemy names arrive as a bare DBAPIError.
_DB_ERRORS: tuple[type[BaseException], ...] = (
    sqlalchemy.exc.DBAPIError,
    sqlalchemy.exc.TimeoutError,
    sqlalchemy.exc.NoSuchTableError,
    OSError,
)

# SQLSTATEs after which the same work may succeed on a new connection: the connection was
# lost (class 08, server shutdown or restart 57P0x); too many connections; and the two
# conflicts PostgreSQL asks clients to retry (serialization failure, deadlock).
_LOST_SQLSTATE_PREFIXES = ("08", "57P")
_TRANSIENT_SQLSTATES = frozenset({"53300", "40001", "40P01"})
_LOCK_TIMEOUT = "55P03"


@contextlib.contextmanager
def database_errors(url: str | URL) -> Iterator[None]:
    """Translate driver and network failures into DatabaseError (no SQL, no parameters).

    `retryable` on the result says whether the work may succeed if done again on a new
    connection (the connection was lost, the server restarted); a missing table or a lock
    timeout is not.
    """
    try:
        yield
    except _DB_ERRORS as exc:
        raise _database_error(exc, url) from None


def _driver_error(exc: BaseException) -> BaseException:
    """The driver's own exception: SQLAlchemy wraps it once (`orig`), and its asyncpg adapter
    wraps it again (the adapter's error is raised `from` asyncpg's)."""
    orig = getattr(exc, "orig", None) or exc
    cause = orig.__cause__
    if cause is not None and type(orig).__module__.startswith("sqlalchemy"):
        return cause
    return orig


def _database_error(exc: BaseException, url: str | URL) -> DatabaseError:
    driver = _driver_error(exc)
    text_ = str(driver).strip()
    reason = text_.splitlines()[0] if text_ else type(driver).__name__
    sqlstate = getattr(driver, "sqlstate", None)
    sqlstate = sqlstate if isinstance(sqlstate, str) else None
    missing_schema = "no such table" in reason or (
        "relation" in reason and "does not exist" in reason
    )
    lost = (sqlstate or "").startswith(_LOST_SQLSTATE_PREFIXES) or (
        isinstance(exc, sqlalchemy.exc.DBAPIError)
        and (exc.connection_invalidated or isinstance(exc, sqlalchemy.exc.InterfaceError))
    )
    transient = not missing_schema and (
        lost
        or sqlstate in _TRANSIENT_SQLSTATES
        or isinstance(exc, OSError | sqlalchemy.exc.TimeoutError)
    )
    if missing_schema:
        what = f"{reason} (run `sergas db upgrade`)"
    elif sqlstate == _LOCK_TIMEOUT:
        what = f"timed out waiting for a lock held by another connection ({reason})"
    elif lost:
        what = f"the connection to the database was lost ({reason})"
    else:
        what = f"{type(driver).__name__}: {reason}"
    return DatabaseError(
        f"database error on {safe_url(url)}: {what}",
        details={"url": safe_url(url), "error": type(driver).__name__, "sqlstate": sqlstate},
        retryable=transient,
    )
