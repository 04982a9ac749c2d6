"""Every tier's calls carry X-Sergas-Client (`<host>:<pid>`), added by the one auth layer:
the sandbox counts all of them under this process, none under a bare token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from sergas.auth import token_manager
from sergas.db import create_engine, upgrade
from sergas.org import client_id
from sergas.sandbox.config import SandboxConfig
from sergas.sandbox.server import RunningSandbox, serve_sandbox
from sergas.settings import load_settings
from sergas.tiers.factory import build_tier


@pytest.fixture
def small_sandbox() -> Iterator[RunningSandbox]:
    with serve_sandbox(SandboxConfig(accounts=20)) as running:
        yield running


@pytest.mark.sdk
async def test_every_tier_names_this_process(small_sandbox: RunningSandbox, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'client.db'}"
    settings = load_settings(
        **small_sandbox.env,
        SERGAS_DATABASE_URL=url,
        SERGAS_TOKEN_KEY=Fernet.generate_key().decode(),
    )
    engine = create_engine(url)
    await upgrade(engine)
    tokens = token_manager(settings, engine=engine)
    rid = next(iter(small_sandbox.sandbox.store.all("Accounts")))["id"]
    try:
        for name in ("rest", "sdk", "mcp"):
            tier = build_tier(name, settings, tokens)
            try:
                assert (await tier.get_account(rid))["id"] == rid
            finally:
                await tier.aclose()
    finally:
        await tokens.aclose()
        await engine.dispose()
    clients = small_sandbox.stats()["clients"]
    assert clients[client_id()]["calls"] >= 3
    assert [name for name in clients if name != client_id()] == []
    endpoints = small_sandbox.stats()["endpoints"]
    assert any(name.startswith("MCP ") for name in endpoints)
