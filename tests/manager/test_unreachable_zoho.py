"""Zoho's accounts server cannot be reached (a closed loopback port: no network): one read
makes one token refresh, whose own connection retries are the only ones, and the error shown
is that root cause, whichever tiers are routed to."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from stamina.instrumentation import RetryDetails, get_on_retry_hooks, set_on_retry_hooks

from sergas import errors
from sergas.auth.store import Outcome
from sergas.manager import IntegrationConfig, RoutingContext
from sergas.runtime import open_runtime
from sergas.sandbox.server import RunningSandbox
from sergas.settings import Settings

ACCOUNTS_CONNECT_ATTEMPTS = 3  # AccountsClient's own policy for a request never sent


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def retries() -> Iterator[list[RetryDetails]]:
    """Every retry stamina schedules, in any layer (the retries run; tests never sleep)."""
    seen: list[RetryDetails] = []
    before = get_on_retry_hooks()
    set_on_retry_hooks([seen.append])
    yield seen
    set_on_retry_hooks(before)


@pytest.mark.parametrize("first", [None, "rest", "sdk", "mcp"])
async def test_one_read_makes_one_refresh_and_says_why_it_failed(
    settings_for: Callable[..., Settings],
    tier_engine: AsyncEngine,
    account_id: str,
    retries: list[RetryDetails],
    first: Any,
) -> None:
    accounts = f"http://127.0.0.1:{closed_port()}"
    settings = settings_for(ZOHO_ACCOUNTS_URL=accounts)
    async with open_runtime(settings, IntegrationConfig.from_env()) as runtime:
        manager = runtime.manager
        with pytest.raises(errors.ConnectionError) as failed:
            await manager.get_account(account_id, context=RoutingContext(preferred_tier=first))
        assert failed.value.code == "ZOHO_UNREACHABLE"
        assert f"cannot reach Zoho Accounts at {accounts}" in failed.value.message
        audit = await runtime.tokens.store.recent_audit(runtime.tokens.key(), 50)
        assert [a.outcome for a in audit] == [Outcome.UNREACHABLE]  # one refresh, not one per try
        assert len(retries) == ACCOUNTS_CONNECT_ATTEMPTS - 1  # the refresh's own, no others
        metrics = manager.get_tier_metrics()
        assert all(m["circuit_breaker"]["state"] == "closed" for m in metrics.values())
        assert sum(m.get("total", 0) for m in metrics.values()) == 1  # no failover


def test_the_cli_shows_the_root_cause(
    tier_sandbox: RunningSandbox, account_id: str, tmp_path: Path
) -> None:
    """The minimum setup (no ZOHO_MCP_URL), Zoho's region, and an accounts server that
    cannot be reached: `accounts get --tier rest` says so, after one refresh."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SERGAS_", "ZOHO_"))}
    env |= {k: v for k, v in tier_sandbox.env.items() if k != "ZOHO_MCP_URL"}
    port = closed_port()
    env |= {
        "ZOHO_REGION": "eu",
        "ZOHO_ACCOUNTS_URL": f"http://127.0.0.1:{port}",
        "SERGAS_DATA_DIR": str(tmp_path / "data"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "sergas", "accounts", "get", account_id, "--tier", "rest"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines[0].startswith(f"error: cannot reach Zoho Accounts at http://127.0.0.1:{port}")
    assert "ZOHO_MCP_URL" not in done.stderr
    with sqlite3.connect(tmp_path / "data" / "sergas.db") as conn:
        outcomes = conn.execute("select outcome from token_refresh_audit").fetchall()
    assert outcomes == [(Outcome.UNREACHABLE.value,)]
