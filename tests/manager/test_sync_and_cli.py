"""The blocking facade (no loop: works; inside a loop: refuses) and `sergas tiers status`."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from tests.manager.support import take_down
from tests.tiers.conftest import AVAILABLE_TIERS
from typer.testing import CliRunner

from sergas.cli import app
from sergas.manager import (
    EventLoopRunningError,
    IntegrationConfig,
    SyncZohoIntegrationManager,
    ZohoIntegrationManager,
)
from sergas.manager.config import TIER_ENV
from sergas.runtime import open_runtime, open_sync_manager
from sergas.sandbox.server import RunningSandbox
from sergas.settings import Settings, reset_settings


def test_sync_facade_works_without_a_loop(
    tier_settings: Settings, tier_engine: AsyncEngine, tier_sandbox: RunningSandbox
) -> None:
    ids = [r["id"] for r in tier_sandbox.sandbox.store.ordered("Accounts")[:8]]
    config = IntegrationConfig.from_env(
        **{f"ENABLE_{env}": tier in AVAILABLE_TIERS for tier, env in TIER_ENV.items()}
    )
    with open_sync_manager(tier_settings, config) as sync:
        assert sync.get_account(ids[0])["id"] == ids[0]
        with ThreadPoolExecutor(4) as pool:  # worker threads share the facade's one loop
            got = list(pool.map(lambda rid: sync.get_account(rid)["id"], ids))
        assert got == ids
        assert len(sync.get_accounts(limit=3)) == 3
        health = sync.get_tier_health()
        assert all(health[t]["healthy"] for t in AVAILABLE_TIERS)
        metrics = sync.get_tier_metrics()
        assert sum(m["succeeded"] for m in metrics.values()) == 1 + 8 + 1 + len(AVAILABLE_TIERS)
    with pytest.raises(RuntimeError, match="closed"):
        sync.get_account(ids[0])
    sync.close()  # idempotent


def test_sync_facade_refuses_inside_a_running_loop(
    tier_settings: Settings, tier_engine: AsyncEngine, account_id: str
) -> None:
    config = IntegrationConfig.from_env(ENABLE_TIER1_MCP=False, ENABLE_TIER2_SDK=False)
    with open_sync_manager(tier_settings, config) as sync:

        async def inside() -> None:
            sync.get_account(account_id)

        with pytest.raises(EventLoopRunningError, match=r"await ZohoIntegrationManager\.get_acc"):
            asyncio.run(inside())
        assert sync.get_account(account_id)["id"] == account_id  # still fine outside


async def test_sync_facade_cannot_be_built_inside_a_loop() -> None:
    with pytest.raises(EventLoopRunningError, match="running event loop"):
        SyncZohoIntegrationManager(lambda: ZohoIntegrationManager({}))


async def test_open_runtime_prepares_the_embedded_database(
    cli_env: RunningSandbox, isolated_settings: Path
) -> None:
    """No `sergas db upgrade` first: opening the runtime brings the embedded SQLite file to
    head."""
    record_id = cli_env.sandbox.store.ordered("Accounts")[0]["id"]
    async with open_runtime() as runtime:
        assert (await runtime.manager.get_account(record_id))["id"] == record_id
    assert (isolated_settings / "sergas.db").exists()


def test_sync_facade_prepares_the_embedded_database(cli_env: RunningSandbox) -> None:
    record_id = cli_env.sandbox.store.ordered("Accounts")[0]["id"]
    with open_sync_manager() as zoho:
        assert zoho.get_account(record_id)["id"] == record_id


@pytest.fixture
def cli_env(
    monkeypatch: pytest.MonkeyPatch, tier_sandbox: RunningSandbox, isolated_settings: Path
) -> RunningSandbox:
    """A client of the sandbox on the embedded default (SQLite and a key file in the data dir)."""
    for name, value in tier_sandbox.env.items():
        monkeypatch.setenv(name, value)
    reset_settings()
    return tier_sandbox


def tiers_status(*args: str) -> dict[str, Any]:
    reset_settings()
    result = CliRunner().invoke(app, ["tiers", "status", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout) if "--json" in args else {}
    return report or {"text": result.stdout}


def test_tiers_status_json_after_real_calls(cli_env: RunningSandbox) -> None:
    before = sum(cli_env.stats()["calls"].values())
    report = tiers_status("--json")
    assert sum(cli_env.stats()["calls"].values()) > before  # it did call the sandbox
    tiers = report["tiers"]
    assert set(tiers) == {"mcp", "sdk", "rest"}
    assert [n for n, t in tiers.items() if t["enabled"]] == list(AVAILABLE_TIERS)
    for name in AVAILABLE_TIERS:
        tier = tiers[name]
        assert tier["enabled"] and tier["healthy"], tier
        assert tier["circuit_breaker"]["state"] == "closed"
        assert tier["metrics"]["total"] == 1  # its health check
        assert tier["metrics"]["p50_ms"] > 0


def test_tiers_status_shows_a_tier_down(
    cli_env: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENABLE_TIER2_SDK", "false")
    take_down(cli_env, "/mcp")
    report = tiers_status("--json")
    mcp = report["tiers"]["mcp"]
    assert mcp["healthy"] is False
    assert "SERVICE_UNAVAILABLE" in mcp["detail"]
    assert mcp["metrics"]["tier_failures"] == 1
    assert report["tiers"]["sdk"]["enabled"] is False
    assert report["tiers"]["rest"]["healthy"] is True

    table = tiers_status()["text"]
    assert "down" in table and "healthy" in table and "disabled" in table
    assert "closed" in table


def test_tiers_status_says_a_tier_is_not_configured_and_why(
    cli_env: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No ZOHO_MCP_URL: the MCP tier is shown as not configured (not down), with the reason;
    the other tiers serve reads, `sergas accounts list` included."""
    monkeypatch.delenv("ZOHO_MCP_URL")
    report = tiers_status("--json")
    mcp = report["tiers"]["mcp"]
    assert (mcp["enabled"], mcp["configured"], mcp["healthy"]) == (True, False, False)
    assert "ZOHO_MCP_URL is not set" in mcp["detail"]
    assert mcp["metrics"]["total"] == 0  # not even a health check was sent
    assert report["tiers"]["rest"]["healthy"] and report["tiers"]["sdk"]["healthy"]

    text = " ".join(tiers_status()["text"].split())
    assert "mcp │ not configured" in text
    assert "mcp: ZOHO_MCP_URL is not set" in text

    reset_settings()
    listed = CliRunner().invoke(app, ["accounts", "list", "--limit", "3", "--json"])
    assert listed.exit_code == 0, listed.output
    assert len(json.loads(listed.stdout)) == 3
