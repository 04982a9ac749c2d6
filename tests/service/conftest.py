"""Fixtures for the HTTP service tests: the tier tests' sandbox (300 accounts, served per
module), settings and a TokenManager for it, a runtime over the REST tier, the app in
process with its lifespan, and a read key and a write key."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx2
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine
from tests.service.support import Keys, make_keys, make_runtime
from tests.tiers.conftest import (
    isolated_settings,
    no_retry_sleeps,
    settings_for,
    tier_db_url,
    tier_engine,
    tier_sandbox,
    tier_settings,
    tokens,
)

from sergas.access.keys import ApiKeyStore
from sergas.auth import TokenManager
from sergas.manager.prometheus import reset_prometheus_metrics
from sergas.runtime import Runtime
from sergas.sandbox.config import SandboxConfig
from sergas.sandbox.server import RunningSandbox, serve_sandbox
from sergas.service import create_app
from sergas.service.settings import ServiceSettings
from sergas.settings import Settings

__all__ = [
    "isolated_settings",
    "no_retry_sleeps",
    "settings_for",
    "tier_db_url",
    "tier_engine",
    "tier_sandbox",
    "tier_settings",
    "tokens",
]


@pytest.fixture(autouse=True)
def fresh_prometheus() -> Iterator[None]:
    reset_prometheus_metrics()
    yield
    reset_prometheus_metrics()


@pytest.fixture(scope="module")
def served_sandbox() -> Iterator[RunningSandbox]:
    with serve_sandbox(SandboxConfig(accounts=300, bulk_job_seconds=0.2)) as running:
        yield running


@pytest.fixture
async def runtime(
    tier_settings: Settings, tokens: TokenManager, tier_engine: AsyncEngine
) -> AsyncIterator[Runtime]:
    async with make_runtime(tier_settings, tokens, tier_engine) as rt:
        yield rt


@pytest.fixture
def app(runtime: Runtime) -> FastAPI:
    service = ServiceSettings(readiness_cache_seconds=0, api_key_cache_seconds=0)
    return create_app(runtime, service=service)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx2.AsyncClient]:
    """The app in process (no socket), its lifespan running."""
    async with app.router.lifespan_context(app):
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://sergas.test") as c:
            yield c


@pytest.fixture
async def keys(runtime: Runtime) -> Keys:
    return await make_keys(ApiKeyStore(runtime.engine))
