"""API keys in the database, on SQLite and PostgreSQL: only a salted hash is stored, checks
are constant-time by key id, revocation holds, the cache expires."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from tests.db.conftest import db_url, engine, isolated_settings, postgres_url

from sergas.access.keys import ApiKeyStore, parse_key, redact_keys
from sergas.db.tables import api_keys
from sergas.errors import AuthError, InvalidDataError, NotFoundError

__all__ = ["db_url", "engine", "isolated_settings", "postgres_url"]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_a_key_is_shown_once_and_stored_hashed(engine: AsyncEngine) -> None:
    store = ApiKeyStore(engine, cache_seconds=0)
    key, info = await store.create("billing bot", "write")
    key_id, secret = parse_key(key) or ("", "")
    assert key.startswith("sgk_") and key_id == info.key_id and len(secret) >= 40
    async with engine.connect() as conn:
        row = (await conn.execute(select(api_keys).where(api_keys.c.key_id == key_id))).one()
    stored = " ".join(str(v) for v in row)
    assert secret not in stored and key not in stored
    assert len(row.key_hash) == 64 and len(row.salt) == 32
    who = await store.authenticate(key)
    assert (who.key_id, who.name, who.scope, who.can_write) == (
        key_id,
        "billing bot",
        "write",
        True,
    )
    assert secret not in repr(who) and secret not in repr(info)
    listed = {k.key_id: k for k in await store.list_keys()}
    assert listed[key_id].display == f"sgk_{key_id}_…"
    assert listed[key_id].last_used_at is not None


async def test_two_keys_with_the_same_secret_hash_differently(engine: AsyncEngine) -> None:
    """The salt: equal secrets (were that ever to happen) never show as equal hashes."""
    store = ApiKeyStore(engine)
    keys = [await store.create(f"k{i}") for i in range(2)]
    async with engine.connect() as conn:
        ids = [info.key_id for _, info in keys]
        salts = (
            await conn.execute(select(api_keys.c.salt).where(api_keys.c.key_id.in_(ids)))
        ).all()
    assert len({s for (s,) in salts}) == 2


@pytest.mark.parametrize(
    "bad", ["", "sgk_", "Bearer x", "sgk_zzzzzzzzzzzz_" + "a" * 43, "sk_live_" + "a" * 40]
)
async def test_malformed_keys_are_refused(engine: AsyncEngine, bad: str) -> None:
    with pytest.raises(AuthError) as caught:
        await ApiKeyStore(engine).authenticate(bad)
    assert caught.value.code == "INVALID_API_KEY"


async def test_wrong_secret_and_revoked_keys_are_refused(engine: AsyncEngine) -> None:
    store = ApiKeyStore(engine, cache_seconds=0)
    key, info = await store.create("ops")
    with pytest.raises(AuthError):
        await store.authenticate(key[:-4] + "AAAA")
    revoked = await store.revoke(key)  # a whole key is accepted for revoke, as is its id
    assert revoked.revoked_at is not None
    with pytest.raises(AuthError, match="unknown or revoked"):
        await store.authenticate(key)
    assert info.key_id not in {k.key_id for k in await store.list_keys(include_revoked=False)}
    with pytest.raises(NotFoundError):
        await store.revoke("0123456789ab")


async def test_revocation_reaches_a_cached_key_when_the_cache_expires(engine: AsyncEngine) -> None:
    clock = Clock()
    serving = ApiKeyStore(engine, cache_seconds=5, clock=clock)
    key, info = await serving.create("agent")
    await serving.authenticate(key)
    await ApiKeyStore(engine).revoke(info.key_id)  # another process revokes it
    clock.now += 4
    await serving.authenticate(key)  # still cached
    clock.now += 1
    with pytest.raises(AuthError):
        await serving.authenticate(key)


async def test_concurrent_checks_of_one_key(engine: AsyncEngine) -> None:
    store = ApiKeyStore(engine, cache_seconds=0)
    key, _ = await store.create("busy")
    who = await asyncio.gather(*(store.authenticate(key) for _ in range(20)))
    assert {w.name for w in who} == {"busy"}


async def test_bad_names_and_scopes(engine: AsyncEngine) -> None:
    store = ApiKeyStore(engine)
    with pytest.raises(InvalidDataError):
        await store.create("  ")
    with pytest.raises(InvalidDataError):
        await store.create("x", "admin")  # type: ignore[arg-type]


def test_keys_are_redacted_from_text() -> None:
    key = "sgk_0123456789ab_" + "Zz-_" * 11
    assert redact_keys(f"Authorization failed for {key}.") == "Authorization failed for [redacted]."
