"""Databases for tests and benchmarks: a throw-away PostgreSQL database per run.

PostgreSQL is looked for at SERGAS_TEST_POSTGRES_URL, else at the CI server
(postgresql://postgres@127.0.0.1:5432/test). `temporary_database()` creates a uniquely named
database next to the one in the URL and drops it afterwards, so runs never collide.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg
from sqlalchemy.engine import make_url

from sergas.db.engine import safe_url

__all__ = ["CI_POSTGRES_URL", "find_test_postgres", "postgres_required", "temporary_database"]

CI_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_required() -> bool:
    """SERGAS_REQUIRE_POSTGRES=1 (as CI sets): a missing PostgreSQL is a failure, not a skip."""
    return os.environ.get("SERGAS_REQUIRE_POSTGRES") == "1"


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def find_test_postgres() -> tuple[str | None, str]:
    """(URL, "") when a PostgreSQL server answers, else (None, the reason)."""
    url = os.environ.get("SERGAS_TEST_POSTGRES_URL") or CI_POSTGRES_URL

    async def probe() -> None:
        conn = await asyncpg.connect(_dsn(url), timeout=5)
        await conn.close()

    try:
        asyncio.run(probe())
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        return None, (
            f"no PostgreSQL at {safe_url(url)} ({type(exc).__name__}: {exc}); "
            "set SERGAS_TEST_POSTGRES_URL to run the PostgreSQL tests"
        )
    return url, ""


@contextmanager
def temporary_database(url: str, prefix: str = "sergas_test") -> Iterator[str]:
    """Create a new database on the server of `url`; yield its URL; drop it afterwards."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    admin = _dsn(url)

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(admin, timeout=10)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
