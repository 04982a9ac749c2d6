"""Fixtures for the job tests: a new PostgreSQL database per test (the queue lives there),
a sandbox on a loopback port, and real `sergas worker` processes.

The worker settings are short (heartbeats every 0.5 s, a worker silent for 2 s is dead, a
lease of 3 s) so that a killed worker's sweep moves on within seconds.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
import stamina
from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url
from tests.db.conftest import isolated_settings

from sergas.db import create_engine, upgrade
from sergas.db.testing import find_test_postgres, postgres_required, temporary_database
from sergas.sandbox.config import SandboxConfig
from sergas.sandbox.server import RunningSandbox, serve_sandbox
from sergas.settings import reset_settings

__all__ = ["isolated_settings"]

ACCOUNTS = 400
BATCH = 20
FAST = {
    "SERGAS_JOBS_HEARTBEAT_SECONDS": "0.5",
    "SERGAS_JOBS_STALLED_SECONDS": "2",
    "SERGAS_JOBS_CHECK_SECONDS": "0.5",
    "SERGAS_JOBS_SHUTDOWN_SECONDS": "10",
    "SERGAS_JOBS_RETRY_WAIT_SECONDS": "1",
    "SERGAS_JOBS_APPROVALS_SCHEDULE": "",
    "SERGAS_JOBS_PRUNE_SCHEDULE": "",  # the tests that want it set their own
    "SERGAS_SWEEP_LEASE_SECONDS": "3",
    "SERGAS_SWEEP_BATCH_SIZE": str(BATCH),
    "SERGAS_LOG_LEVEL": "WARNING",
}


@pytest.fixture(autouse=True)
def no_retry_sleeps() -> Iterator[None]:
    with stamina.set_testing(True, attempts=100, cap=True):
        yield


@pytest.fixture
def pg(isolated_settings: Path) -> Iterator[str]:
    """A new PostgreSQL database at head (the queue's schema included)."""
    url, reason = find_test_postgres()
    if url is None:
        if postgres_required():
            pytest.fail(f"SERGAS_REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(reason)
    with temporary_database(url, prefix="sergas_jobs") as database_url:

        async def migrate() -> None:
            engine = create_engine(database_url)
            try:
                await upgrade(engine)
            finally:
                await engine.dispose()

        asyncio.run(migrate())
        yield database_url


@dataclass
class Worker:
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, marker: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.text().splitlines():
                if marker in line:
                    return line
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"no {marker!r} from worker {self.pid}:\n{self.text()[-3000:]}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)


@dataclass
class Jobs:
    """The test's CRM, database and workers."""

    running: RunningSandbox
    url: str  # the database
    env: dict[str, str]
    data: Path
    workers: list[Worker] = field(default_factory=list)

    def worker(self, *args: str, **env: str) -> Worker:
        log = self.data.parent / f"worker-{len(self.workers)}.log"
        with log.open("wb") as stderr:
            proc = subprocess.Popen(
                [sys.executable, "-m", "sergas", "worker", *args],
                env=self.env | env,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        worker = Worker(proc, log)
        self.workers.append(worker)
        worker.wait_for("ready")
        return worker

    def sergas(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "sergas", *args],
            env=self.env | env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        dsn = make_url(self.url).render_as_string(hide_password=False)
        with psycopg.connect(dsn) as conn:
            return conn.execute(query, params).fetchall()

    def status(self, job_id: int) -> str:
        ((status,),) = self.sql("SELECT status FROM procrastinate_jobs WHERE id = %s", job_id)
        return str(status)

    def wait(self, done: Callable[[], bool], what: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if done():
                return
            time.sleep(0.2)
        logs = "\n".join(w.text()[-2000:] for w in self.workers)
        raise AssertionError(f"timed out waiting for {what}\n{logs}")

    def stats(self) -> dict[str, Any]:
        return self.running.stats()


@pytest.fixture
def jobs(pg: str, isolated_settings: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Jobs]:
    config = SandboxConfig(accounts=ACCOUNTS, bulk_job_seconds=0.1)
    with serve_sandbox(config) as running:
        settings = {
            **running.env,
            **FAST,
            "SERGAS_DATABASE_URL": pg,
            "SERGAS_TOKEN_KEY": Fernet.generate_key().decode(),
            "SERGAS_DATA_DIR": str(isolated_settings),
        }
        for name, value in settings.items():
            monkeypatch.setenv(name, value)
        reset_settings()
        base = {k: v for k, v in os.environ.items() if not k.startswith(("SERGAS_", "ZOHO_"))}
        env = base | settings | {"SERGAS_TEST_POSTGRES_URL": pg}
        harness = Jobs(running, pg, env, isolated_settings)
        try:
            yield harness
        finally:
            for worker in harness.workers:
                if worker.proc.poll() is None:
                    worker.proc.kill()
                    worker.proc.wait(timeout=30)
