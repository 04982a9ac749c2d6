"""Build a TokenManager from settings: engine, cipher, store, Accounts client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine

from sergas.auth.accounts import AccountsClient
from sergas.auth.clock import Clock
from sergas.auth.manager import TokenManager
from sergas.auth.sql_store import SqlTokenStore
from sergas.crypto import load_cipher
from sergas.db.engine import create_engine
from sergas.settings import Settings, get_settings

__all__ = ["open_token_manager", "token_manager"]


def token_manager(
    settings: Settings | None = None,
    *,
    engine: AsyncEngine | None = None,
    clock: Clock | None = None,
) -> TokenManager:
    """A TokenManager for the configured client and user. Missing credentials raise
    ConfigError naming the setting. The caller owns `engine` (and disposes it)."""
    settings = settings or get_settings()
    client_id, client_secret = settings.require_client()
    store = SqlTokenStore(engine or create_engine(settings=settings), load_cipher(settings), clock)
    accounts = AccountsClient(
        settings.accounts_url,
        client_id,
        client_secret,
        timeout=settings.token_refresh_timeout,
    )
    seed = settings.zoho_refresh_token
    return TokenManager(
        store,
        accounts,
        user=settings.zoho_user,
        seed_refresh_token=seed.get_secret_value() if seed is not None else None,
        clock=clock,
    )


@asynccontextmanager
async def open_token_manager(
    settings: Settings | None = None, *, clock: Clock | None = None
) -> AsyncIterator[TokenManager]:
    """A TokenManager with its own engine, both closed when the block ends."""
    settings = settings or get_settings()
    settings.require_client()
    engine = create_engine(settings=settings)
    try:
        manager = token_manager(settings, engine=engine, clock=clock)
        try:
            yield manager
        finally:
            await manager.aclose()
    finally:
        await engine.dispose()
