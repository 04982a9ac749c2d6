"""The org view: `sergas tiers status` and /metrics show who holds the org's slots, who waits,
and the day's credits; with Redis, as every process shares them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from tests.db.conftest import isolated_settings
from tests.org.conftest import RedisServer
from typer.testing import CliRunner

from sergas.cli import app
from sergas.org import org_key
from sergas.runtime import open_runtime
from sergas.sandbox.config import SandboxConfig
from sergas.sandbox.server import RunningSandbox, serve_sandbox
from sergas.settings import load_settings, reset_settings

__all__ = ["isolated_settings"]


@pytest.fixture(scope="module")
def status_sandbox() -> Iterator[RunningSandbox]:
    with serve_sandbox(SandboxConfig(accounts=30)) as running:
        yield running


@pytest.fixture
def cli_env(
    monkeypatch: pytest.MonkeyPatch, status_sandbox: RunningSandbox, isolated_settings: Path
) -> RunningSandbox:
    for name, value in status_sandbox.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ENABLE_TIER2_SDK", "false")
    reset_settings()
    return status_sandbox


def tiers_status(*args: str) -> Any:
    reset_settings()
    result = CliRunner().invoke(app, ["tiers", "status", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout) if "--json" in args else result.stdout


def test_status_without_redis_shows_this_process_only(cli_env: RunningSandbox) -> None:
    org = tiers_status("--json")["org"]
    assert org["mode"] == "local"
    assert org["slots"]["cap"] == 10 and org["slots"]["in_use"] == 0
    assert org["credits"]["used"] >= 2  # the health checks
    text = tiers_status()
    assert "Zoho org: this process only" in text
    assert "credits remaining" in text


def test_status_with_redis_shows_every_processs_slots(
    cli_env: RunningSandbox, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SERGAS_REDIS_URL", redis_server.url)
    settings = load_settings(**cli_env.env)
    prefix = f"sergas:{{{org_key(settings.api_domain, settings.zoho_user)}}}:slots"

    # Another host's process holds 3 slots (as its leased semaphore writes them).
    with redis.Redis.from_url(redis_server.url) as other:
        seconds, micros = other.time()
        expiry = seconds * 1000 + micros // 1000 + 30_000
        other.zadd(f"{prefix}:holders", {f"other-host:4242:{n}": expiry for n in range(3)})
    org = tiers_status("--json")["org"]
    assert org["mode"] == "redis"
    assert org["slots"]["in_use_by_client"] == {"other-host:4242": 3}
    assert org["slots"]["in_use"] == 3
    text = tiers_status()
    assert "shared by every process through Redis" in text
    assert "held by other-host:4242" in text


async def test_metrics_show_the_org_view(cli_env: RunningSandbox) -> None:
    settings = load_settings()
    async with open_runtime(settings) as runtime:
        await runtime.manager.get_account(next(iter(cli_env.sandbox.store.all("Accounts")))["id"])
        await asyncio.sleep(2.2)  # the org's snapshot is refreshed every 2 s
        text = runtime.prometheus.exposition().decode()
    assert "sergas_org_degraded 0.0" in text
    assert "sergas_org_slots_cap 10.0" in text
    assert "sergas_org_credits_remaining" in text
    assert "sergas_org_slot_requests_total" in text
    assert 'sergas_org_refused_total{reason="reserve"} 0.0' in text
