"""Fixtures for the MCP server tests: the service tests' sandbox, runtime and keys, and the
environment of a `sergas` process pointed at the sandbox and a fresh data directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
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

from sergas.sandbox.server import RunningSandbox

__all__ = [
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
