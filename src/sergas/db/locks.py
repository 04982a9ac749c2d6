"""A named lock shared by every process on one database, held across transactions.

A row lock (`SELECT … FOR UPDATE`, SQLite's `BEGIN IMMEDIATE`) ends with its transaction, so
work that must commit a record *before* a slow outside call (a token refresh: Zoho counts it
whether or not we live to store the answer) needs a lock that outlives a commit:

- PostgreSQL: a session-level advisory lock, on a connection of its own. The holder works on
  that connection, so if the server ends it, the work fails with the lock (nobody keeps
  writing as if they still held it). The server releases the lock when the session ends.
- SQLite: an exclusive file lock beside the database file (`filelock`), released by the
  kernel when the holder's process dies. A soft lock (a marker file) is refused: it would
  outlive a crash.

Waiting is bounded by `max_wait` seconds; a holder stuck longer is a fault (DatabaseError).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import weakref
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sergas.db.engine import database_errors, safe_url
from sergas.errors import DatabaseError

__all__ = ["LOCK_FILE_SUFFIX", "named_lock"]

LOCK_FILE_SUFFIX = ".lock"
_LOCK_TIMEOUT_SQLSTATE = "55P03"
_memory_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def _digest(name: str) -> bytes:
    return hashlib.sha256(name.encode()).digest()


def advisory_key(name: str) -> int:
    """The 64-bit advisory lock key of `name` on PostgreSQL."""
    return int.from_bytes(_digest(name)[:8], "big", signed=True)


def lock_file(database: str, name: str) -> Path:
    """The lock file of `name` beside a SQLite database file."""
    return Path(f"{database}.{_digest(name).hex()[:12]}{LOCK_FILE_SUFFIX}").expanduser()


@contextlib.asynccontextmanager
async def named_lock(
    engine: AsyncEngine, name: str, *, max_wait: float, what: str | None = None
) -> AsyncIterator[AsyncConnection]:
    """Hold the lock called `name` among all processes using the engine's database.

    Yields a connection with no transaction open; do the guarded work on it, committing as
    you go. `what` names the lock in the timeout message.
    """
    what = what or f"the lock {name!r}"
    if engine.dialect.name == "postgresql":
        async with _advisory_lock(engine, name, max_wait, what) as conn:
            yield conn
        return
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        # Only this process can see the database: a lock in memory serves.
        locks = _memory_locks.setdefault(asyncio.get_running_loop(), {})
        lock = locks.setdefault(name, asyncio.Lock())
        async with lock, _connection(engine) as conn:
            yield conn
        return
    async with (
        _file_lock(lock_file(database, name), max_wait, what, engine),
        _connection(engine) as conn,
    ):
        yield conn


@contextlib.asynccontextmanager
async def _connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    with database_errors(engine.url):
        async with engine.connect() as conn:
            yield conn


@contextlib.asynccontextmanager
async def _advisory_lock(
    engine: AsyncEngine, name: str, max_wait: float, what: str
) -> AsyncIterator[AsyncConnection]:
    key = advisory_key(name)
    with database_errors(engine.url):
        async with engine.connect() as conn:
            try:
                await conn.execute(text(f"SET LOCAL lock_timeout = {int(max_wait * 1000)}"))
                with database_errors(engine.url):
                    await conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
                await conn.commit()
            except DatabaseError as exc:
                if exc.details.get("sqlstate") == _LOCK_TIMEOUT_SQLSTATE:
                    raise _timed_out(what, max_wait, engine) from None
                raise
            try:
                yield conn
            finally:
                await _release(conn, key)


async def _release(conn: AsyncConnection, key: int) -> None:
    released = False
    try:
        with contextlib.suppress(Exception):  # a broken connection: dropped below
            if conn.in_transaction():
                await conn.rollback()
            await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            await conn.commit()
            released = True
    finally:
        if not released:
            # Never hand a connection that may still hold the lock back to the pool: drop
            # it, and the server releases the lock with the session.
            with contextlib.suppress(Exception):
                await conn.invalidate()


@contextlib.asynccontextmanager
async def _file_lock(
    path: Path, max_wait: float, what: str, engine: AsyncEngine
) -> AsyncIterator[None]:
    from filelock import AsyncFileLock, Timeout  # ~0.1 s to import: only when locking

    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Removed again on release (filelock checks the inode it locked is still the file's).
    lock = AsyncFileLock(path, timeout=max_wait, mode=0o600, fallback_to_soft=False)
    try:
        await lock.acquire()
    except Timeout:
        raise _timed_out(what, max_wait, engine) from None
    except OSError as exc:
        raise DatabaseError(
            f"cannot take {what} (lock file {path}): {type(exc).__name__}: {exc}",
            retryable=False,
        ) from None
    try:
        yield
    finally:
        await lock.release()


def _timed_out(what: str, max_wait: float, engine: AsyncEngine) -> DatabaseError:
    return DatabaseError(
        f"timed out after {max_wait:g} s waiting for {what} on {safe_url(engine.url)}: another "
        "process has held it that long (is one stuck?)",
        code="LOCK_TIMEOUT",
        retryable=False,
    )
