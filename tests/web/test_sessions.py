"""The session store on SQLite and PostgreSQL: a session is found while it lives and its key
is valid, and not after it expires, its key is revoked, or it is signed out."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncEngine
from tests.db.conftest import db_url, postgres_url

from sergas.access.keys import ApiKeyStore
from sergas.db import create_engine, upgrade
from sergas.db.tables import web_sessions
from sergas.errors import AuthError
from sergas.web.auth import SessionStore, csrf_token

__all__ = ["db_url", "postgres_url"]


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url)
    await upgrade(engine)
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM web_sessions"))
        await conn.execute(text("DELETE FROM api_keys"))
    yield engine
    await engine.dispose()


async def test_sessions_live_and_end(engine: AsyncEngine) -> None:
    keys = ApiKeyStore(engine, cache_seconds=0)
    sessions = SessionStore(engine, keys, hours=1, cache_seconds=0)
    key, info = await keys.create("ada", "write")

    token, who = await sessions.sign_in(key)
    assert (who.key_id, who.scope) == (info.key_id, "write")
    assert await sessions.find(token) == who
    assert await sessions.find(token + "x") is None
    assert csrf_token(token) != csrf_token(token + "x") and token not in csrf_token(token)

    async with engine.begin() as conn:
        await conn.execute(update(web_sessions).values(expires_at=web_sessions.c.created_at))
    assert await sessions.find(token) is None  # expired

    token, _ = await sessions.sign_in(key)
    await sessions.sign_out(token)
    assert await sessions.find(token) is None  # signed out

    token, _ = await sessions.sign_in(key)
    await keys.revoke(info.key_id)
    assert await sessions.find(token) is None  # its key revoked
    with pytest.raises(AuthError):
        await sessions.sign_in(key)


async def test_an_answer_is_reused_for_cache_seconds(engine: AsyncEngine) -> None:
    now = [0.0]
    keys = ApiKeyStore(engine, cache_seconds=0)
    sessions = SessionStore(engine, keys, hours=1, cache_seconds=5, clock=lambda: now[0])
    key, info = await keys.create("bob", "read")
    token, _ = await sessions.sign_in(key)
    assert await sessions.find(token) is not None
    await keys.revoke(info.key_id)
    assert await sessions.find(token) is not None  # within the cache's time
    now[0] = 5.0
    assert await sessions.find(token) is None
