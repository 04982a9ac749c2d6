"""Exactly one refresh per expiry across 8 OS processes x 50 coroutines, on both databases.

The sandbox's clock jumps an hour three times: each jump expires the token at Zoho while every
process still holds it in memory, so 400 callers meet 401 INVALID_TOKEN at once. The auth hook
forces a de-duplicated refresh; the row lock lets exactly one process send it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from tests.auth.conftest import TOKEN_KEY

from sergas.auth import Outcome, token_manager
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
    def __init__(self, env: dict[str, str]) -> None:
        self.procs = [
            subprocess.Popen(
                [sys.executable, str(WORKER), str(COROUTINES)],
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(PROCESSES)
        ]
        for proc in self.procs:
            self._expect(proc, "ready")

    def round(self) -> Counter[str]:
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        total: Counter[str] = Counter()
        for proc in self.procs:
            total.update(json.loads(self._expect(proc, "done ")))
        return total

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
