"""Exactly one refresh per expiry across 8 OS processes, on both databases.

- Zoho's clock: the sandbox's clock jumps an hour three times: each jump expires the token at
  Zoho while every process still holds it in memory, so 400 callers meet 401 INVALID_TOKEN at
  once. The auth hook forces a de-duplicated refresh; the token lock lets one process send it.
- The clients' clocks: every process's own clock passes the five-minute buffer before expiry
  (Zoho still accepts the token), so every process takes the "expiring" path; the test holds
  the token lock until all of them queue on it, and the first one's token serves the rest.
- Lost connections: PostgreSQL ends the connection of every process queued on the token lock;
  each retries, and still one refresh per expiry happens.
- A lost answer: a process dies after Zoho minted its token and before storing it; the attempt
  was recorded before it was sent, so the 10-per-10-minutes guard still counts it.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from tests.auth.conftest import TOKEN_KEY

from sergas.auth import Outcome, TokenManager, token_manager
from sergas.errors import RateLimitError
from sergas.sandbox.config import SandboxConfig
from sergas.sandbox.server import RunningSandbox, serve_sandbox
from sergas.settings import get_settings, reset_settings

pytestmark = pytest.mark.slow

PROCESSES = 8
COROUTINES = 50
EXPIRIES = 3
WORKER = Path(__file__).with_name("token_worker.py")


@pytest.fixture
def roomy_sandbox() -> Iterator[RunningSandbox]:
    """No concurrency cap: 400 simultaneous calls must not meet Zoho's 429."""
    with serve_sandbox(SandboxConfig(accounts=0), concurrency=10_000) as running:
        yield running


class Workers:
    def __init__(
        self,
        env: dict[str, str],
        coroutines: int = COROUTINES,
        *,
        manual_clock: bool = False,
        processes: int = PROCESSES,
    ) -> None:
        args = [sys.executable, str(WORKER), str(coroutines)] + (["manual"] if manual_clock else [])
        self.procs = [
            subprocess.Popen(
                args, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
            )
            for _ in range(processes)
        ]
        for proc in self.procs:
            self._expect(proc, "ready")

    def advance(self, seconds: float) -> None:
        """Move every process's own clock (workers started with `manual_clock`)."""
        self._send(f"advance {seconds}")
        for proc in self.procs:
            self._expect(proc, "advanced")

    def start_round(self) -> None:
        self._send("go")

    def finish_round(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for proc in self.procs:
            total.update(json.loads(self._expect(proc, "done ")))
        return total

    def round(self) -> Counter[str]:
        self.start_round()
        return self.finish_round()

    def _send(self, line: str) -> None:
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.write(line + "\n")
            proc.stdin.flush()

    def stop(self) -> None:
        for proc in self.procs:
            try:
                proc.communicate("stop\n" if proc.poll() is None else None, timeout=30)
            except (subprocess.TimeoutExpired, BrokenPipeError):
                proc.kill()
                proc.communicate()

    @staticmethod
    def _expect(proc: subprocess.Popen[str], prefix: str) -> str:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith(prefix), f"worker said {line!r} (exit code {proc.poll()})"
        return line[len(prefix) :].strip()


async def test_one_refresh_per_expiry_across_processes(
    roomy_sandbox: RunningSandbox,
    db_url: str,
    engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sandbox = roomy_sandbox
    env = {**sandbox.env, "SERGAS_DATABASE_URL": db_url, "SERGAS_TOKEN_KEY": TOKEN_KEY}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    reset_settings()
    manager = token_manager(get_settings(), engine=engine)
    await manager.get_access_token()  # the first token, before the workers start
    await manager.aclose()
    before = sandbox.stats()["tokens"]["refreshes"]

    workers = Workers({**os.environ, **env})
    try:
        rounds = [workers.round()]  # warm: every process reads the token, nobody refreshes
        for _ in range(EXPIRIES):
            sandbox.advance(3600)
            rounds.append(workers.round())
    finally:
        workers.stop()

    calls = PROCESSES * COROUTINES
    assert rounds == [Counter(ok=calls)] * (EXPIRIES + 1), "some caller did not get a 200"
    stats = sandbox.stats()["tokens"]
    assert stats["refreshes"] - before == EXPIRIES
    assert stats["rejected"] == 0
    # The scenario really happened: every process met Zoho's 401 after every jump.
    assert stats["invalid_token_responses"] >= EXPIRIES * PROCESSES
    audit = await manager.store.recent_audit(manager.key(), limit=100)
    forced = [a for a in audit if a.reason == "401 INVALID_TOKEN"]
    assert [a.outcome for a in forced] == [Outcome.SUCCESS] * EXPIRIES


BUFFER_PASSED = 3600 - 240  # a token issued this long ago has 4 minutes left: inside the buffer
CALLERS = 20


async def first_token(
    env: dict[str, str], engine: AsyncEngine, mp: pytest.MonkeyPatch
) -> TokenManager:
    """The token every process starts from, stored before the workers start."""
    for name, value in env.items():
        mp.setenv(name, value)
    reset_settings()
    manager = token_manager(get_settings(), engine=engine)
    await manager.get_access_token()
    await manager.aclose()
    return manager


async def lock_waiters(engine: AsyncEngine) -> list[int]:
    """PostgreSQL backends of this database waiting on a lock."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
        )
        return [int(pid) for pid in rows.scalars()]


@asynccontextmanager
async def workers_queued_on_the_lock(
    manager: TokenManager, engine: AsyncEngine, workers: Workers
) -> AsyncIterator[list[int]]:
    """Hold the token lock, start a round, and yield once every process waits for the lock
    (on PostgreSQL, the waiting backends' pids; SQLite cannot list its waiters, so there the
    round is given a moment to reach the lock). The lock is released on exit."""
    async with manager.store.locked(manager.key()):
        workers.start_round()
        waiting: list[int] = []
        if engine.dialect.name == "postgresql":
            for _ in range(600):
                waiting = await lock_waiters(engine)
                if len(waiting) >= PROCESSES:
                    break
                await asyncio.sleep(0.05)
            assert len(waiting) == PROCESSES, f"{len(waiting)} of {PROCESSES} processes queued"
        else:
            await asyncio.sleep(1.0)
        yield waiting


async def test_one_expiring_refresh_per_expiry_on_the_clients_clocks(
    roomy_sandbox: RunningSandbox,
    db_url: str,
    engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The processes' own clocks pass the buffer; Zoho's does not expire the token. Every
    process decides to refresh; the first refreshes, and the rest take the token it stored."""
    sandbox = roomy_sandbox
    env = {**sandbox.env, "SERGAS_DATABASE_URL": db_url, "SERGAS_TOKEN_KEY": TOKEN_KEY}
    manager = await first_token(env, engine, monkeypatch)
    before = sandbox.stats()["tokens"]["refreshes"]

    workers = Workers({**os.environ, **env}, CALLERS, manual_clock=True)
    try:
        rounds = [workers.round()]
        for _ in range(EXPIRIES):
            workers.advance(BUFFER_PASSED)
            sandbox.advance(BUFFER_PASSED)
            async with workers_queued_on_the_lock(manager, engine, workers):
                pass
            rounds.append(workers.finish_round())
    finally:
        workers.stop()

    assert rounds == [Counter(ok=PROCESSES * CALLERS)] * (EXPIRIES + 1)
    stats = sandbox.stats()["tokens"]
    assert stats["refreshes"] - before == EXPIRIES
    assert stats["invalid_token_responses"] == 0  # nobody took the 401 path
    audit = await manager.store.recent_audit(manager.key(), limit=100)
    assert [(a.reason, a.outcome) for a in audit] == [("expiring", Outcome.SUCCESS)] * (
        EXPIRIES + 1  # and the first token
    )


async def terminate(engine: AsyncEngine, pids: list[int]) -> int:
    """End these PostgreSQL backends, as an administrator or a failover would."""
    async with engine.connect() as conn:
        result = await conn.execute(
            text(
                "SELECT count(*) FROM unnest(CAST(:pids AS int[])) AS p "
                "WHERE pg_terminate_backend(p)"
            ),
            {"pids": pids},
        )
        return int(result.scalar_one())


@pytest.mark.postgres
async def test_processes_whose_connection_dies_on_the_lock_retry(
    roomy_sandbox: RunningSandbox,
    postgres_url: str,
    pg_engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """8 processes queue on the token lock; PostgreSQL terminates all their connections. Every
    caller still ends with a valid token, and one refresh is sent per expiry."""
    sandbox = roomy_sandbox
    env = {**sandbox.env, "SERGAS_DATABASE_URL": postgres_url, "SERGAS_TOKEN_KEY": TOKEN_KEY}
    manager = await first_token(env, pg_engine, monkeypatch)
    before = sandbox.stats()["tokens"]["refreshes"]
    workers = Workers({**os.environ, **env}, CALLERS, manual_clock=True)
    try:
        rounds = [workers.round()]
        for _ in range(EXPIRIES):
            workers.advance(BUFFER_PASSED)
            sandbox.advance(BUFFER_PASSED)
            async with workers_queued_on_the_lock(manager, pg_engine, workers) as waiting:
                assert await terminate(pg_engine, waiting) == PROCESSES
            rounds.append(workers.finish_round())
    finally:
        workers.stop()

    assert rounds == [Counter(ok=PROCESSES * CALLERS)] * (EXPIRIES + 1)
    assert sandbox.stats()["tokens"]["refreshes"] - before == EXPIRIES
    audit = await manager.store.recent_audit(manager.key(), limit=100)
    assert [a.outcome for a in audit] == [Outcome.SUCCESS] * (EXPIRIES + 1)


async def wait_for(condition: Callable[[], bool], what: str) -> None:
    for _ in range(600):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


async def test_a_refresh_whose_answer_is_never_stored_still_counts(
    roomy_sandbox: RunningSandbox,
    db_url: str,
    engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A process is frozen while Zoho mints its token, then killed: Zoho counted a refresh
    that the process never stored. Sergas's guard must count it too, so it stops at Zoho's
    limit of 10 itself instead of meeting Zoho's throttle."""
    sandbox = roomy_sandbox
    env = {**sandbox.env, "SERGAS_DATABASE_URL": db_url, "SERGAS_TOKEN_KEY": TOKEN_KEY}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    reset_settings()
    sandbox.set_faults(latency_ms=1000)  # Accounts answers slowly: time to freeze the client
    worker = Workers({**os.environ, **env}, 1, processes=1)
    [proc] = worker.procs
    try:
        worker.start_round()
        await wait_for(
            lambda: sandbox.stats()["calls"].get("POST /oauth/v2/token", 0) == 1, "the request"
        )
        os.kill(proc.pid, signal.SIGSTOP)  # the request is in; the answer will find nobody
        await wait_for(lambda: sandbox.stats()["tokens"]["refreshes"] == 1, "Zoho's refresh")
    finally:
        proc.kill()
        proc.communicate()
    sandbox.set_faults(latency_ms=0)

    manager = token_manager(get_settings(), engine=engine)
    try:
        token = await manager.get_access_token()  # the row holds no token: a refresh
        for _ in range(8):
            token = await manager.force_refresh("test", token)
        assert sandbox.stats()["tokens"]["refreshes"] == 10
        with pytest.raises(RateLimitError) as info:
            await manager.force_refresh("test", token)
    finally:
        await manager.aclose()
    assert info.value.code == "TOKEN_REFRESH_LIMIT"  # Sergas's own guard, not Zoho's throttle
    assert sandbox.stats()["tokens"]["rejected"] == 0
    audit = await manager.store.recent_audit(manager.key(), limit=100)
    assert Counter(a.outcome for a in audit) == Counter(
        {Outcome.SENT: 1, Outcome.SUCCESS: 9, Outcome.REFUSED: 1}
    )
