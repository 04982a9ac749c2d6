"""Fixtures for the tier tests: one served sandbox per module, settings pointing at it, a
TokenManager on a fresh SQLite file per test, and `tier`, parametrized over the three tiers.

The sandbox is shared by a module's tests (seeding 2,500 accounts takes a while), so each test
starts from `reset(records=False)`: tokens, refresh limits, credits, stats, faults and the clock
are back to their seeded state; records keep what earlier tests wrote. A test that must see
the seeded records exactly takes `seeded_sandbox` instead, which reseeds them.

Retries never sleep here (stamina's testing mode, attempts as configured).
`make_tier(name, **settings)` builds further tiers (e.g. a short `SERGAS_HTTP_TIMEOUT`); every
tier it builds, and `tier` itself, is closed after the test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import stamina
from cryptography.fernet import Fernet
from sqlalchemy.ext.asyncio import AsyncEngine
from tests.db.conftest import isolated_settings

from sergas.auth import TokenManager, token_manager
from sergas.db import create_engine, upgrade
from sergas.sandbox.config import SandboxConfig
from sergas.sandbox.server import RunningSandbox, serve_sandbox
from sergas.settings import Settings, load_settings
from sergas.tiers.base import TierName, ZohoTier
from sergas.tiers.factory import TIERS, build_tier

__all__ = ["isolated_settings"]

TIER_ACCOUNTS = 2500  # enough to page past Zoho's 2,000-record limit
TIER_SANDBOX = SandboxConfig(accounts=TIER_ACCOUNTS, bulk_job_seconds=0.2)

MakeTier = Callable[..., ZohoTier]


def _tier_param(name: TierName) -> Any:
    marks = [pytest.mark.sdk] if name == "sdk" else []
    return pytest.param(name, id=name, marks=marks)


# Every tier runs the matrix: a tier that fails to import fails its tests, never skips them.
AVAILABLE_TIERS: tuple[TierName, ...] = TIERS


@pytest.fixture(autouse=True)
def no_retry_sleeps() -> Iterator[None]:
    """Retries happen as configured (SERGAS_RETRY_ATTEMPTS) but never sleep. A test that
    measures backoff turns this off with `stamina.set_testing(False)`."""
    with stamina.set_testing(True, attempts=100, cap=True):
        yield


@pytest.fixture(scope="module")
def served_sandbox() -> Iterator[RunningSandbox]:
    """The module's sandbox on a free loopback port (2,500 accounts, 0.2 s bulk jobs)."""
    with serve_sandbox(TIER_SANDBOX) as running:
        yield running


@pytest.fixture
def tier_sandbox(served_sandbox: RunningSandbox) -> Iterator[RunningSandbox]:
    """The module's sandbox with tokens, limits, stats, faults and clock reset for this test."""
    served_sandbox.reset(records=False)
    yield served_sandbox
    served_sandbox.set_faults(targeted=[], latency_ms=0, hang_rate=0, drop_rate=0, error_rates={})


@pytest.fixture
def seeded_sandbox(tier_sandbox: RunningSandbox) -> RunningSandbox:
    """The module's sandbox back to its seeded records as well."""
    tier_sandbox.reset(records=True)
    return tier_sandbox


@pytest.fixture
def tier_db_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'tiers.db'}"


@pytest.fixture
def settings_for(tier_sandbox: RunningSandbox, tier_db_url: str) -> Callable[..., Settings]:
    """Settings for a client of the sandbox; keyword overrides use the variable names."""
    key = Fernet.generate_key().decode()

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            **tier_sandbox.env,
            "SERGAS_DATABASE_URL": tier_db_url,
            "SERGAS_TOKEN_KEY": key,
        }
        values.update(overrides)
        return load_settings(**values)

    return build


@pytest.fixture
def tier_settings(settings_for: Callable[..., Settings]) -> Settings:
    return settings_for()


@pytest.fixture
async def tier_engine(tier_db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(tier_db_url)
    await upgrade(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
async def tokens(tier_settings: Settings, tier_engine: AsyncEngine) -> AsyncIterator[TokenManager]:
    manager = token_manager(tier_settings, engine=tier_engine)
    yield manager
    await manager.aclose()


@pytest.fixture
async def make_tier(
    settings_for: Callable[..., Settings], tokens: TokenManager
) -> AsyncIterator[MakeTier]:
    """Build a tier by name with optional settings overrides; all are closed afterwards."""
    built: list[ZohoTier] = []

    def make(name: TierName, **overrides: Any) -> ZohoTier:
        tier = build_tier(name, settings_for(**overrides), tokens)
        built.append(tier)
        return tier

    yield make
    for tier in reversed(built):
        await tier.aclose()


@pytest.fixture(params=[_tier_param(t) for t in AVAILABLE_TIERS])
def tier_name(request: pytest.FixtureRequest) -> TierName:
    name: TierName = request.param
    return name


# Where each tier's calls arrive at the sandbox, for targeted faults.
FAULT_PATHS: dict[TierName, str] = {"rest": "/crm/v8/", "sdk": "/crm/v8/", "mcp": "/mcp"}


@pytest.fixture
def fault_path(tier_name: TierName) -> str:
    return FAULT_PATHS[tier_name]


@pytest.fixture
def tier(tier_name: TierName, make_tier: MakeTier) -> ZohoTier:
    """Each tier in turn, with default settings, against the module's sandbox."""
    return make_tier(tier_name)
