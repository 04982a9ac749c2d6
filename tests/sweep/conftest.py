"""Fixtures for the sweep tests: a real sandbox on a loopback port, its credentials in the
environment (so the sweep runs as it would against Zoho), and a fresh SQLite data directory.

`hand_crm` holds exactly the hand-checked accounts of `hand_checked.py`; `crm` is a small
seeded CRM (600 accounts) for the resume, dry-run and fault tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import stamina
from tests.db.conftest import isolated_settings
from tests.sweep.crm import load_cases
from tests.sweep.hand_checked import CASES, INACTIVE, NOW

from sergas.db import create_engine, upgrade
from sergas.sandbox.config import SandboxConfig
from sergas.sandbox.server import RunningSandbox, serve_sandbox
from sergas.settings import load_settings
from sergas.sweep.app import open_sweep
from sergas.sweep.settings import load_sweep_settings

__all__ = ["isolated_settings"]

SEEDED_ACCOUNTS = 600


@pytest.fixture(autouse=True)
def no_retry_sleeps() -> Iterator[None]:
    """Retries happen (attempts as configured) but never sleep."""
    with stamina.set_testing(True, attempts=100, cap=True):
        yield


@pytest.fixture(autouse=True)
def fresh_prometheus() -> Iterator[None]:
    from sergas.manager.prometheus import reset_prometheus_metrics

    reset_prometheus_metrics()
    yield
    reset_prometheus_metrics()


@dataclass
class Crm:
    running: RunningSandbox
    ids: dict[str, str]  # account name -> id (hand-checked CRM only)
    data: Path  # SERGAS_DATA_DIR

    def account(self, record_id: str) -> dict[str, Any]:
        record = self.running.sandbox.store.get("Accounts", record_id)
        assert record is not None
        return record

    def written(self) -> int:
        return int(self.running.stats()["records_written"].get("Accounts", 0))


def _use(running: RunningSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in running.env.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def hand_crm(isolated_settings: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Crm]:
    with serve_sandbox(SandboxConfig(accounts=0)) as running:
        ids = load_cases(running.sandbox, CASES + INACTIVE, NOW)
        _use(running, monkeypatch)
        yield Crm(running, ids, isolated_settings)


@pytest.fixture
def crm(isolated_settings: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Crm]:
    with serve_sandbox(SandboxConfig(accounts=SEEDED_ACCOUNTS, bulk_job_seconds=0.1)) as running:
        _use(running, monkeypatch)
        yield Crm(running, {}, isolated_settings)


async def migrate() -> None:
    """Bring the default (SQLite) database to head, as `sergas sweep` does on its own."""
    engine = create_engine()
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


async def sweep_once(
    *, clock: datetime | None = None, out: Path | None = None, **options: Any
) -> dict[str, Any]:
    """One `sergas sweep` in process, with the environment's settings."""
    settings = load_settings()
    sweep_settings = load_sweep_settings()
    at = clock or datetime.now(UTC)
    async with open_sweep(settings, sweep_settings) as job:
        return await job.run(clock=lambda: at, out=out, **options)
