"""Shared by the manager tests: no leaked environment, fresh process-wide metrics, a clock, and
managers over real tiers against a served sandbox (the tier tests' fixtures, on a sandbox of
300 accounts, which is all these tests need)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from tests.manager.support import FakeClock
from tests.tiers.conftest import (
    AVAILABLE_TIERS,
    isolated_settings,
    make_tier,
    no_retry_sleeps,
    settings_for,
    tier_db_url,
    tier_engine,
    tier_sandbox,
    tier_settings,
    tokens,
)

from sergas.auth import TokenManager
from sergas.manager import IntegrationConfig, ZohoIntegrationManager
from sergas.manager.config import TIER_ENV
from sergas.manager.prometheus import reset_prometheus_metrics
from sergas.manager.tiers import Tiers
from sergas.sandbox.config import SandboxConfig
from sergas.sandbox.server import RunningSandbox, serve_sandbox
from sergas.settings import Settings
from sergas.tiers.base import TierName

__all__ = [
    "isolated_settings",
    "make_tier",
    "no_retry_sleeps",
    "settings_for",
    "tier_db_url",
    "tier_engine",
    "tier_sandbox",
    "tier_settings",
    "tokens",
]

MakeManager = Callable[..., ZohoIntegrationManager]


@pytest.fixture(autouse=True)
def fresh_prometheus() -> Iterator[None]:
    """The process-wide Prometheus registry starts empty in every test."""
    reset_prometheus_metrics()
    yield
    reset_prometheus_metrics()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def served_sandbox() -> Iterator[RunningSandbox]:
    """Overrides the tier tests' 2,500-account sandbox: 300 accounts, served per module."""
    with serve_sandbox(SandboxConfig(accounts=300, bulk_job_seconds=0.2)) as running:
        yield running


@pytest.fixture
def account_id(tier_sandbox: RunningSandbox) -> str:
    record_id: str = tier_sandbox.sandbox.store.ordered("Accounts")[0]["id"]
    return record_id


@pytest.fixture
async def make_manager(
    tier_settings: Settings, tokens: TokenManager, tier_engine: AsyncEngine, clock: FakeClock
) -> AsyncIterator[MakeManager]:
    """`make("mcp", "rest", CIRCUIT_BREAKER_THRESHOLD=3)`: a manager over those tiers (all
    available ones when none are named), on the test clock; closed afterwards."""
    built: list[ZohoIntegrationManager] = []

    def make(*tiers: TierName, **env: Any) -> ZohoIntegrationManager:
        enabled = tiers or AVAILABLE_TIERS
        switches = {f"ENABLE_{name}": tier in enabled for tier, name in TIER_ENV.items()}
        config = IntegrationConfig.from_env(**switches, **env)
        tiers = Tiers.from_settings(config.enabled_tiers, tier_settings, tokens)
        manager = ZohoIntegrationManager(tiers, config, clock=clock)
        built.append(manager)
        return manager

    yield make
    for manager in built:
        await manager.aclose()
