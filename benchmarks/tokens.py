"""What a Zoho access token costs: from memory, from the database, and a full refresh.

- memory: `TokenManager.get_access_token()` with a valid token cached (the common case);
- database: the same call after the in-memory token was dropped, so it reads and decrypts the
  row (what a new process, or one whose token another process refreshed, pays);
- refresh: `force_refresh()` against the sandbox: the token lock, the audit-window check, the
  attempt recorded, the HTTP round trip to the Accounts server, then the token and the
  attempt's outcome in one transaction.

Medians over many calls, on SQLite and PostgreSQL (skipped if none answers). The sandbox runs
in its own process. Between refreshes both clocks move 61 s, so Zoho's 10-per-10-minutes
limit is respected without being disabled. Targets: memory <= 20 us, PostgreSQL read <= 2 ms.
Run: `.venv/bin/python -m benchmarks.tokens`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime

import httpx2

from benchmarks._common import machine, sandbox_process, table
from sergas.auth import ManualClock, TokenManager, token_manager
from sergas.crypto import TokenCipher
from sergas.db import create_engine, upgrade
from sergas.db.testing import find_test_postgres, temporary_database
from sergas.log import configure_logging
from sergas.sandbox.config import client_env
from sergas.settings import load_settings


async def timed(call: Callable[[], Awaitable[object]], n: int) -> list[float]:
    """Seconds per call, one sample per call."""
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - started)
    return samples


async def run_backend(label: str, db_url: str, sandbox_url: str, n: int) -> list[list[str]]:
    env = {k.lower(): v for k, v in client_env(sandbox_url).items()}
    settings = load_settings(database_url=db_url, token_key=TokenCipher.generate_key(), **env)
    engine = create_engine(settings=settings)
    await upgrade(engine)
    clock = ManualClock(datetime.now(UTC))
    manager = token_manager(settings, engine=engine, clock=clock)
    try:
        # A fresh 10-minute window at Zoho for this database's first refresh.
        httpx2.post(sandbox_url + "/__sandbox/clock", json={"advance_seconds": 601})
        await manager.get_access_token()
        memory = await timed(manager.get_access_token, n * 100)

        async def from_db() -> str:
            manager.forget()
            return await manager.get_access_token()

        database = await timed(from_db, n * 5)
        refresh = await timed_refreshes(manager, clock, sandbox_url, n)
    finally:
        await manager.aclose()
        await engine.dispose()
    return [
        [label, "memory", f"{statistics.median(memory) * 1e6:.1f} µs", str(len(memory))],
        [label, "database", f"{statistics.median(database) * 1e3:.2f} ms", str(len(database))],
        [label, "full refresh", f"{statistics.median(refresh) * 1e3:.2f} ms", str(len(refresh))],
    ]


async def timed_refreshes(
    manager: TokenManager, clock: ManualClock, sandbox_url: str, n: int
) -> list[float]:
    samples = []
    async with httpx2.AsyncClient(base_url=sandbox_url) as control:
        for _ in range(n):
            clock.advance(61)
            await control.post("/__sandbox/clock", json={"advance_seconds": 61})
            failed = await manager.get_access_token()
            started = time.perf_counter()
            await manager.force_refresh("benchmark", failed)
            samples.append(time.perf_counter() - started)
    return samples


@contextlib.contextmanager
def databases(with_postgres: bool) -> Iterator[list[tuple[str, str]]]:
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        found = [("SQLite", f"sqlite+aiosqlite:///{tmp}/tokens.db")]
        url, reason = find_test_postgres() if with_postgres else (None, "--no-postgres")
        if url is None:
            print(f"PostgreSQL skipped: {reason}")
        else:
            found.append(
                ("PostgreSQL", stack.enter_context(temporary_database(url, "sergas_bench")))
            )
        yield found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="refreshes per database")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    configure_logging("console", "WARNING")
    rows: list[list[str]] = []
    with sandbox_process(accounts=0) as sandbox_url, databases(not args.no_postgres) as dbs:
        for label, url in dbs:
            rows += asyncio.run(run_backend(label, url, sandbox_url, args.n))
    print(f"tokens benchmark — {machine()}")
    print(table(["database", "token from", "median", "calls"], rows))


if __name__ == "__main__":
    main()
