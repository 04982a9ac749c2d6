"""`open_runtime()`: the target it picks, the tiers it builds (only those called), what it
closes (the embedded sandbox's token row too)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from tests.helpers import child_processes, process_running
from tests.manager.support import calls, take_down

from sergas.db import create_engine
from sergas.db.tables import token_refresh_audit, zoho_tokens
from sergas.errors import ConfigError
from sergas.manager import IntegrationConfig, RoutingContext
from sergas.runtime import open_runtime
from sergas.sandbox.server import CHILD_MODULE, RunningSandbox
from sergas.settings import Settings, reset_settings

REST = RoutingContext(preferred_tier="rest")

LAZY = """
import asyncio, sys
from sergas.manager import RoutingContext
from sergas.runtime import open_runtime

async def main() -> None:
    async with open_runtime() as runtime:
        rest = RoutingContext(preferred_tier="rest")
        await runtime.manager.get_account(sys.argv[1], context=rest)
        print(" ".join(sorted(runtime.manager.tiers.built())))

asyncio.run(main())
print("mcp" in sys.modules, "zohocrmsdk" in sys.modules)
"""


def test_a_rest_call_builds_and_imports_only_the_rest_tier(
    tier_sandbox: RunningSandbox, account_id: str, tmp_path: Path
) -> None:
    """All three tiers enabled; one REST read loads neither `mcp` nor Zoho's SDK."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SERGAS_", "ZOHO_"))}
    env |= {**tier_sandbox.env, "SERGAS_DATA_DIR": str(tmp_path / "data")}
    env = {k: v for k, v in env.items() if not k.startswith(("ENABLE_TIER", "TIER"))}
    done = subprocess.run(
        [sys.executable, "-c", LAZY, account_id],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    built, imported = done.stdout.splitlines()[-2:]  # after any log lines
    assert (built, imported) == ("rest", "False False")
    assert calls(tier_sandbox, "/mcp") == 0


async def test_failover_builds_the_next_tier_when_it_gets_there(
    tier_settings: Settings,
    tier_engine: AsyncEngine,
    tier_sandbox: RunningSandbox,
    account_id: str,
) -> None:
    config = IntegrationConfig.from_env(ENABLE_TIER2_SDK=False)
    async with open_runtime(tier_settings, config) as runtime:
        manager = runtime.manager
        assert manager.tiers.built() == {}
        await manager.get_account(account_id, context=REST)
        assert set(manager.tiers.built()) == {"rest"}
        take_down(tier_sandbox, "/crm/v8/Accounts")
        record = await manager.get_account(account_id, context=REST)
        assert record["id"] == account_id
        assert set(manager.tiers.built()) == {"rest", "mcp"}
        assert manager.metrics is not None
        assert manager.metrics.failovers == {("rest", "mcp"): 1}


async def test_health_checks_build_every_enabled_tier(
    tier_settings: Settings, tier_engine: AsyncEngine, tier_sandbox: RunningSandbox
) -> None:
    async with open_runtime(tier_settings) as runtime:
        health = await runtime.manager.get_tier_health()
        assert all(entry["healthy"] for entry in health.values()), health
        assert set(runtime.manager.tiers.built()) == {"mcp", "sdk", "rest"}


async def test_without_credentials_it_refuses_before_opening_anything(
    isolated_settings: Path,
) -> None:
    with pytest.raises(ConfigError, match="ZOHO_CLIENT_ID and ZOHO_CLIENT_SECRET not set"):
        async with open_runtime():
            pass
    assert not (isolated_settings / "sergas.db").exists()


async def _rows(engine: AsyncEngine, table: Table) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def test_embedded_runs_on_the_sandbox_and_leaves_no_token_behind(
    isolated_settings: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each run's sandbox has a port of its own: its token row and refresh audit go at close,
    so run after run never meets the 10-refreshes-per-10-minutes guard."""
    monkeypatch.setenv("SERGAS_SWEEP_EMBEDDED_ACCOUNTS", "40")
    monkeypatch.setenv("ENABLE_TIER1_MCP", "false")
    monkeypatch.setenv("ENABLE_TIER2_SDK", "false")
    reset_settings()
    async with open_runtime(embedded=True) as runtime:
        target = runtime.target
        assert target.embedded and target.state_file is not None
        assert target.state_file.is_relative_to(isolated_settings)
        assert target.scope == f"embedded:{target.state_file}"
        assert "40 accounts seeded into" in target.description
        assert len(await runtime.manager.get_accounts(limit=200)) == 40
        assert await _rows(runtime.engine, zoho_tokens) == 1
        assert await _rows(runtime.engine, token_refresh_audit) == 1
    for _ in range(11):  # one more than the guard allows in ten minutes
        async with open_runtime(embedded=True) as again:
            assert "40 accounts loaded from" in again.target.description
            await again.manager.get_accounts(limit=1)
    engine = create_engine(settings=runtime.settings)
    try:
        assert await _rows(engine, zoho_tokens) == 0
        assert await _rows(engine, token_refresh_audit) == 0
    finally:
        await engine.dispose()


@pytest.mark.slow
async def test_embedded_in_a_child_process_serves_and_leaves_no_process_behind(
    isolated_settings: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `sergas serve` opens: the same embedded CRM and state file, served by a process
    of its own, which is gone when the block ends; the thread then reads what it wrote."""
    monkeypatch.setenv("SERGAS_SWEEP_EMBEDDED_ACCOUNTS", "40")
    monkeypatch.setenv("ENABLE_TIER1_MCP", "false")
    monkeypatch.setenv("ENABLE_TIER2_SDK", "false")
    reset_settings()
    async with open_runtime(embedded=True, sandbox_process=True) as runtime:
        (child,) = child_processes(os.getpid(), CHILD_MODULE)
        target = runtime.target
        assert target.embedded and target.state_file is not None
        assert target.scope == f"embedded:{target.state_file}"
        assert "40 accounts seeded into" in target.description
        accounts = await runtime.manager.get_accounts(limit=200)
        assert len(accounts) == 40
        await runtime.manager.update_account(accounts[0]["id"], {"Phone": "+1 555 0110"})
        assert target.stats is not None
        assert target.stats()["records_written"] == {"Accounts": 1}
    assert not process_running(child)
    assert child_processes(os.getpid(), CHILD_MODULE) == []
    async with open_runtime(embedded=True) as again:
        assert "40 accounts loaded from" in again.target.description
        record = await again.manager.get_account(accounts[0]["id"], fields=["Phone"])
        assert record["Phone"] == "+1 555 0110"
    engine = create_engine(settings=runtime.settings)
    try:
        assert await _rows(engine, zoho_tokens) == 0
    finally:
        await engine.dispose()


async def test_a_tier_that_cannot_load_fails_when_used_and_reports_unhealthy(
    tier_settings: Settings,
    tier_engine: AsyncEngine,
    tier_sandbox: RunningSandbox,
    account_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its package missing (an import that fails): REST still serves; a call routed to it
    raises the ConfigError naming the switch; the health check says so instead of raising."""
    monkeypatch.setitem(sys.modules, "sergas.tiers.mcp", None)  # `import` now fails
    config = IntegrationConfig.from_env(ENABLE_TIER2_SDK=False, ENABLE_FAILOVER=False)
    async with open_runtime(tier_settings, config) as runtime:
        manager = runtime.manager
        assert (await manager.get_account(account_id, context=REST))["id"] == account_id
        with pytest.raises(ConfigError, match="ENABLE_TIER1_MCP=false"):
            await manager.get_account(account_id)  # routed to MCP first
        health = await manager.get_tier_health()
        assert health["mcp"]["healthy"] is False
        assert "ENABLE_TIER1_MCP=false" in health["mcp"]["detail"]
        assert health["rest"]["healthy"] is True


async def test_without_an_mcp_url_the_mcp_tier_is_left_out_and_reads_work(
    settings_for: Callable[..., Settings],
    tier_engine: AsyncEngine,
    tier_sandbox: RunningSandbox,
    account_id: str,
) -> None:
    """The minimum setup for Zoho: client id, secret, refresh token and where Zoho is; no
    ZOHO_MCP_URL, every tier switched on (the default). Reads go to the tiers that can serve
    them; the MCP tier is reported as not configured, and why."""
    settings = settings_for(ZOHO_MCP_URL="")
    async with open_runtime(settings, IntegrationConfig.from_env()) as runtime:
        manager = runtime.manager
        assert len(await manager.get_accounts(limit=5)) == 5
        assert (await manager.get_account(account_id))["id"] == account_id
        assert list(manager.tiers) == ["sdk", "rest"]
        health = await manager.get_tier_health()
        mcp = health["mcp"]
        assert (mcp["enabled"], mcp["configured"], mcp["healthy"]) == (True, False, False)
        assert mcp["detail"].startswith("ZOHO_MCP_URL is not set")
        assert health["sdk"]["configured"] and health["sdk"]["healthy"]
        assert manager.get_tier_metrics()["mcp"]["configured"] is False
        assert "mcp" not in manager.tiers.built()
    assert calls(tier_sandbox, "/mcp") == 0


async def test_when_no_tier_is_configured_the_error_says_why(
    settings_for: Callable[..., Settings], tier_engine: AsyncEngine, account_id: str
) -> None:
    config = IntegrationConfig.from_env(ENABLE_TIER2_SDK=False, ENABLE_TIER3_REST=False)
    async with open_runtime(settings_for(ZOHO_MCP_URL=""), config) as runtime:
        with pytest.raises(ConfigError, match="no tier can be used: mcp: ZOHO_MCP_URL is not set"):
            await runtime.manager.get_account(account_id)
