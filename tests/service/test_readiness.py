"""Readiness that tells the truth: /readyz is ready only when a read can succeed, and an
API call that no tier can serve answers a documented error (503), not a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx2
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from tests.manager.support import take_down
from tests.service.support import Keys, make_keys, make_runtime

from sergas.access.keys import ApiKeyStore
from sergas.auth import TokenManager
from sergas.sandbox.server import RunningSandbox
from sergas.service import create_app
from sergas.service.settings import ServiceSettings
from sergas.settings import Settings
from sergas.tiers.base import TierName


@asynccontextmanager
async def serving(
    settings: Settings, tokens: TokenManager, engine: AsyncEngine, *tiers: TierName
) -> AsyncIterator[tuple[httpx2.AsyncClient, Keys]]:
    async with make_runtime(settings, tokens, engine, *tiers) as runtime:
        app = create_app(runtime, service=ServiceSettings(readiness_cache_seconds=0))
        keys = await make_keys(ApiKeyStore(runtime.engine))
        async with app.router.lifespan_context(app):
            transport = httpx2.ASGITransport(app=app)
            async with httpx2.AsyncClient(transport=transport, base_url="http://s.test") as c:
                yield c, keys


async def test_without_an_mcp_url_reads_work_and_readiness_says_why(
    settings_for: Callable[..., Settings], tokens: TokenManager, tier_engine: AsyncEngine
) -> None:
    settings = settings_for(ZOHO_MCP_URL="")
    async with serving(settings, tokens, tier_engine, "mcp", "sdk", "rest") as (client, keys):
        listed = await client.get("/v1/accounts?per_page=3", headers=keys.bearer(keys.read))
        assert listed.status_code == 200, listed.text
        assert len(listed.json()["data"]) == 3
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        mcp = ready.json()["tiers"]["mcp"]
        assert (mcp["enabled"], mcp["configured"], mcp["reads"], mcp["usable"]) == (
            True,
            False,
            False,
            False,
        )
        assert mcp["detail"].startswith("ZOHO_MCP_URL is not set")


async def test_no_tier_that_can_read_means_not_ready_and_a_503(
    settings_for: Callable[..., Settings], tokens: TokenManager, tier_engine: AsyncEngine
) -> None:
    settings = settings_for(ZOHO_MCP_URL="")
    async with serving(settings, tokens, tier_engine, "mcp") as (client, keys):
        listed = await client.get("/v1/accounts", headers=keys.bearer(keys.read))
        assert listed.status_code == 503, listed.text
        error = listed.json()["error"]
        assert error["code"] == "CONFIG_ERROR" and "ZOHO_MCP_URL" in error["message"]
        ready = await client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["status"] == "not ready"


async def test_without_failover_only_the_first_choice_counts(
    tier_settings: Settings,
    tokens: TokenManager,
    tier_engine: AsyncEngine,
    tier_sandbox: RunningSandbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Reads go to MCP alone (failover off) and MCP is down: REST answers its health check,
    yet no read can succeed, so the service is not ready."""
    monkeypatch.setenv("ENABLE_FAILOVER", "false")
    async with serving(tier_settings, tokens, tier_engine, "mcp", "rest") as (client, keys):
        take_down(tier_sandbox, "/mcp")
        listed = await client.get("/v1/accounts", headers=keys.bearer(keys.read))
        assert listed.status_code == 502, listed.text
        ready = await client.get("/readyz")
        assert ready.status_code == 503, ready.text
        tiers = ready.json()["tiers"]
        assert tiers["rest"]["healthy"] is True and tiers["rest"]["reads"] is False
        assert tiers["mcp"]["reads"] is True and tiers["mcp"]["usable"] is False


async def test_an_open_breaker_does_not_count(
    tier_settings: Settings,
    tokens: TokenManager,
    tier_engine: AsyncEngine,
    tier_sandbox: RunningSandbox,
) -> None:
    async with serving(tier_settings, tokens, tier_engine, "rest") as (client, keys):
        assert (await client.get("/readyz")).status_code == 200
        take_down(tier_sandbox, "/crm/v8/Accounts")
        for _ in range(5):  # CIRCUIT_BREAKER_THRESHOLD
            response = await client.get("/v1/accounts", headers=keys.bearer(keys.read))
            assert response.status_code == 502
        tier_sandbox.set_faults(targeted=[])  # the health check (org) passes again
        ready = await client.get("/readyz")
        assert ready.status_code == 503, ready.text
        rest = ready.json()["tiers"]["rest"]
        assert rest["healthy"] is True and rest["breaker_open"] is True
        assert rest["usable"] is False
