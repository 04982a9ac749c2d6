"""Fixtures for the MCP server tests: the service tests' sandbox, runtime and keys, and the
environment of a `sergas` process pointed at the sandbox and a fresh data directory."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from tests.service.conftest import (
    fresh_prometheus,
    isolated_settings,
    keys,
    no_retry_sleeps,
    runtime,
    served_sandbox,
    settings_for,
    tier_db_url,
    tier_engine,
    tier_sandbox,
    tier_settings,
    tokens,
)
from tests.service.support import Keys, serve_on_loopback

from sergas.agents.settings import AgentSettings
from sergas.agents.transport import create_mcp_app
from sergas.manager import IntegrationConfig
from sergas.sandbox.server import RunningSandbox
from sergas.settings import Settings

__all__ = [
    "body",
    "connect",
    "fresh_prometheus",
    "isolated_settings",
    "keys",
    "no_retry_sleeps",
    "runtime",
    "served_sandbox",
    "settings_for",
    "tier_db_url",
    "tier_engine",
    "tier_sandbox",
    "tier_settings",
    "tokens",
]


@pytest.fixture
def process_env(tier_sandbox: RunningSandbox, tmp_path: Path) -> dict[str, str]:
    """For `python -m sergas ...`: the sandbox as Zoho (REST tier only), the embedded
    SQLite database in a fresh data directory."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SERGAS_", "ZOHO_"))}
    return {
        **base,
        **tier_sandbox.env,
        "SERGAS_DATA_DIR": str(tmp_path / "data"),
        "ENABLE_TIER1_MCP": "false",
        "ENABLE_TIER2_SDK": "false",
        "SERGAS_MCP_API_KEY_CACHE_SECONDS": "0",
    }


@pytest.fixture
def mcp_url(tier_settings: Settings, keys: Keys) -> Iterator[str]:
    """The MCP app under uvicorn, opening its own runtime (REST tier) from the settings
    (after `keys`: the database is at head and holds the test's keys)."""
    config = IntegrationConfig.from_env(ENABLE_TIER1_MCP=False, ENABLE_TIER2_SDK=False)
    app = create_mcp_app(
        settings=tier_settings, config=config, agent=AgentSettings(api_key_cache_seconds=0)
    )
    with serve_on_loopback(app) as url:
        yield url + "/mcp"


@asynccontextmanager
async def connect(url: str, key: str) -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(headers=Keys.bearer(key), timeout=30) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        yield client


def body(result: Any) -> Any:
    assert result.structured_content is not None, result
    return result.structured_content
