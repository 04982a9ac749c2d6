"""Fixtures for the dashboard: a sandbox on a loopback port (300 accounts, one per module),
a runtime over its REST tier, a sweep run through that runtime into a SQLite database, the
service app in process, and keys of both scopes.

`Swept.summary` is the sweep's own summary (what `sergas sweep --json` prints under
"accounts"): the pages must agree with it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2
import pytest
import stamina
from cryptography.fernet import Fernet
from fastapi import FastAPI
from tests.db.conftest import isolated_settings
from tests.service.support import Keys, make_keys, make_runtime

from sergas.access.keys import ApiKeyStore
from sergas.auth import token_manager
from sergas.db import create_engine, upgrade
from sergas.manager.prometheus import reset_prometheus_metrics
from sergas.runtime import Runtime
from sergas.sandbox.config import SandboxConfig
from sergas.sandbox.server import RunningSandbox, serve_sandbox
from sergas.service import create_app
from sergas.service.settings import ServiceSettings
from sergas.settings import load_settings
from sergas.sweep.runner import run_sweep
from sergas.sweep.settings import load_sweep_settings
from sergas.sweep.store import SweepStore

__all__ = ["isolated_settings"]

MARKUP_NAME = '<script>alert("name")</script> & <b>Bold</b> Co'


@pytest.fixture(autouse=True)
def no_retry_sleeps() -> Iterator[None]:
    with stamina.set_testing(True, attempts=100, cap=True):
        yield


@pytest.fixture(autouse=True)
def fresh_prometheus() -> Iterator[None]:
    reset_prometheus_metrics()
    yield
    reset_prometheus_metrics()


@pytest.fixture(scope="module")
def served_sandbox() -> Iterator[RunningSandbox]:
    with serve_sandbox(SandboxConfig(accounts=300, bulk_job_seconds=0.1)) as running:
        yield running


@pytest.fixture
def sandbox(served_sandbox: RunningSandbox) -> RunningSandbox:
    """The module's sandbox back to its seeded records, one account renamed to markup."""
    served_sandbox.reset(records=True)
    store = served_sandbox.sandbox.store
    first = next(iter(store.all("Accounts")))
    store.put("Accounts", first | {"Account_Name": MARKUP_NAME, "Rating": "Active"})
    return served_sandbox


@pytest.fixture
async def runtime(sandbox: RunningSandbox, tmp_path: Path) -> AsyncIterator[Runtime]:
    settings = load_settings(
        **sandbox.env,
        SERGAS_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'web.db'}",
        SERGAS_TOKEN_KEY=Fernet.generate_key().decode(),
    )
    engine = create_engine(settings.effective_database_url)
    await upgrade(engine)
    tokens = token_manager(settings, engine=engine)
    async with make_runtime(settings, tokens, engine) as rt:
        yield rt
    await tokens.aclose()
    await engine.dispose()


@dataclass
class Swept:
    run_id: str
    summary: dict[str, Any]  # the sweep's counts: scanned, scored, changed, statuses, …


async def sweep(runtime: Runtime, out: Path, at: datetime | None = None) -> Swept:
    """One sweep through the runtime's manager, as `sergas sweep` runs it."""
    when = at or datetime.now(UTC)
    report = await run_sweep(
        runtime.manager,
        SweepStore(runtime.engine),
        runtime.scope,
        load_sweep_settings(),
        clock=lambda: when,
        out=out,
    )
    assert report.run_id is not None and report.finished
    return Swept(report.run_id, report.counts())


@pytest.fixture
async def swept(runtime: Runtime, tmp_path: Path) -> Swept:
    return await sweep(runtime, tmp_path / "briefs")


@pytest.fixture
def app(runtime: Runtime) -> FastAPI:
    service = ServiceSettings(readiness_cache_seconds=0, api_key_cache_seconds=0)
    return create_app(runtime, service=service)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx2.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://sergas.test") as c:
            yield c


@pytest.fixture
async def keys(runtime: Runtime) -> Keys:
    return await make_keys(ApiKeyStore(runtime.engine))
