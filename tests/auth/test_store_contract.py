"""The TokenStore contract, run against SQLite and PostgreSQL (the `engine` fixture)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sergas.auth.clock import ManualClock
from sergas.auth.sql_store import SqlTokenStore
from sergas.auth.store import Outcome, TokenKey, fingerprint
from sergas.crypto import TokenCipher
from sergas.db import create_engine
from sergas.errors import ConfigError, DatabaseError

KEY = TokenKey("https://accounts.zoho.com", "1000.CLIENT", "default")
OTHER = TokenKey("https://accounts.zoho.eu", "1000.CLIENT", "default")
REFRESH = "1000.refresh-9f2c41d0a7e64b1c8d3e5f6a7b8c9d0e"
ACCESS = "1000.access-2b7e151628aed2a6abf7158809cf4f3c"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
def store(engine: AsyncEngine, clock: ManualClock) -> SqlTokenStore:
    return SqlTokenStore(engine, TokenCipher([TokenCipher.generate_key()]), clock)


async def test_get_missing_is_none(store: SqlTokenStore) -> None:
    assert await store.get(KEY) is None
    assert await store.keys() == []


async def test_put_then_get_round_trips(store: SqlTokenStore, clock: ManualClock) -> None:
    expires = clock.now() + timedelta(hours=1)
    put = await store.put(
        KEY, refresh_token=REFRESH, access_token=ACCESS, expires_at=expires, api_domain="https://x"
    )
    got = await store.get(KEY)
    assert got == put
    assert got is not None
    assert (got.refresh_token, got.access_token, got.api_domain) == (REFRESH, ACCESS, "https://x")
    assert got.expires_at == expires
    assert got.expires_at.tzinfo == UTC
    assert got.generation == 1
    assert got.created_at == got.updated_at == clock.now()
    assert await store.keys() == [KEY]


async def test_put_is_an_upsert(store: SqlTokenStore, clock: ManualClock) -> None:
    await store.put(KEY, refresh_token=REFRESH)
    clock.advance(60)
    again = await store.put(
        KEY, refresh_token="1000.new-refresh", access_token=ACCESS, expires_at=clock.now()
    )
    assert again.refresh_token == "1000.new-refresh"
    assert again.generation == 1
    assert again.created_at < again.updated_at
    assert await store.keys() == [KEY]


async def test_keys_are_separate(store: SqlTokenStore) -> None:
    await store.put(KEY, refresh_token=REFRESH)
    await store.put(OTHER, refresh_token="1000.other")
    assert await store.keys() == sorted([KEY, OTHER])
    other = await store.get(OTHER)
    assert other is not None
    assert other.refresh_token == "1000.other"


async def test_seed_never_overwrites(store: SqlTokenStore) -> None:
    assert await store.seed(KEY, REFRESH) is True
    assert await store.seed(KEY, "1000.another") is False
    got = await store.get(KEY)
    assert got is not None
    assert got.refresh_token == REFRESH
    assert got.access_token is None
    assert got.generation == 0


async def test_delete(store: SqlTokenStore) -> None:
    await store.put(KEY, refresh_token=REFRESH)
    assert await store.delete(KEY) is True
    assert await store.delete(KEY) is False
    assert await store.get(KEY) is None


async def test_an_attempt_and_its_token_commit_together(
    store: SqlTokenStore, clock: ManualClock
) -> None:
    await store.seed(KEY, REFRESH)
    expires = clock.now() + timedelta(hours=1)
    async with store.locked(KEY) as row:
        assert row.token is not None
        assert row.token.access_token is None
        attempt = await row.audit("expiring", Outcome.SENT)
        saved = await row.save_access(
            ACCESS, expires, "https://api", attempt=attempt, latency_ms=12.5
        )
    assert saved.generation == 1
    assert await store.get(KEY) == saved
    [entry] = await store.recent_audit(KEY)
    assert (entry.reason, entry.outcome, entry.latency_ms) == ("expiring", Outcome.SUCCESS, 12.5)
    assert entry.at == clock.now()
    assert entry.pid > 0
    assert entry.host
    assert entry.refresh_fp == fingerprint(REFRESH)


async def test_an_attempt_is_committed_before_the_block_ends(store: SqlTokenStore) -> None:
    """What is recorded before a refresh is sent stays recorded if the refresher fails."""
    await store.seed(KEY, REFRESH)

    async def record_then_fail() -> None:
        async with store.locked(KEY) as row:
            await row.audit("expiring", Outcome.SENT)
            assert [a.outcome for a in await store.recent_audit(KEY)] == [Outcome.SENT]
            raise RuntimeError("the process dies here")

    with pytest.raises(RuntimeError):
        await record_then_fail()
    got = await store.get(KEY)
    assert got is not None
    assert got.access_token is None
    assert [a.outcome for a in await store.recent_audit(KEY)] == [Outcome.SENT]


async def test_finish_attempt_replaces_sent(store: SqlTokenStore) -> None:
    await store.seed(KEY, REFRESH)
    async with store.locked(KEY) as row:
        attempt = await row.audit("expiring", Outcome.SENT)
        await row.finish_attempt(attempt, Outcome.TIMEOUT, latency_ms=10_000.0, error_code="T")
    [entry] = await store.recent_audit(KEY)
    assert (entry.outcome, entry.latency_ms, entry.error_code) == (Outcome.TIMEOUT, 10_000.0, "T")


async def test_attempts_since_counts_per_refresh_token(
    store: SqlTokenStore, clock: ManualClock
) -> None:
    await store.seed(KEY, REFRESH)
    await store.seed(OTHER, REFRESH)  # same refresh token under another key: shares the window
    for key, outcome in (
        (KEY, Outcome.SUCCESS),
        (OTHER, Outcome.THROTTLED),
        (KEY, Outcome.REFUSED),
    ):
        async with store.locked(key) as row:
            await row.audit("t", outcome)
        clock.advance(10)
    async with store.locked(KEY) as row:
        all_rows = await row.attempts_since(clock.now() - timedelta(minutes=10))
        recent = await row.attempts_since(clock.now() - timedelta(seconds=15))
    assert [a.outcome for a in all_rows] == [Outcome.SUCCESS, Outcome.THROTTLED, Outcome.REFUSED]
    assert [a.outcome for a in recent] == [Outcome.REFUSED]


async def test_recent_audit_is_newest_first_and_limited(
    store: SqlTokenStore, clock: ManualClock
) -> None:
    await store.seed(KEY, REFRESH)
    for i in range(4):
        async with store.locked(KEY) as row:
            await row.audit(f"r{i}", Outcome.SUCCESS)
        clock.advance(1)
    assert [a.reason for a in await store.recent_audit(KEY, limit=3)] == ["r3", "r2", "r1"]


async def test_reprs_never_show_tokens(store: SqlTokenStore, clock: ManualClock) -> None:
    stored = await store.put(
        KEY, refresh_token=REFRESH, access_token=ACCESS, expires_at=clock.now()
    )
    for text_ in (repr(stored), str(stored), repr(store), repr(store.cipher)):
        assert REFRESH not in text_
        assert ACCESS not in text_


async def test_raw_columns_never_hold_the_token(engine: AsyncEngine, store: SqlTokenStore) -> None:
    await store.put(KEY, refresh_token=REFRESH, access_token=ACCESS, expires_at=datetime.now(UTC))
    async with store.locked(KEY) as row:
        await row.audit("expiring", Outcome.SUCCESS)
    async with engine.connect() as conn:
        tokens = (await conn.execute(text("SELECT * FROM zoho_tokens"))).all()
        audit = (await conn.execute(text("SELECT * FROM token_refresh_audit"))).all()
    raw = b"".join(
        bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode()
        for row in [*tokens, *audit]
        for v in row
    )
    assert raw  # the rows are there
    for secret in (REFRESH, ACCESS):
        assert secret.encode() not in raw
        assert secret.split(".", 1)[1].encode() not in raw


async def test_rotate_key_reencrypts_every_row(engine: AsyncEngine, store: SqlTokenStore) -> None:
    old = store.cipher
    await store.put(KEY, refresh_token=REFRESH, access_token=ACCESS, expires_at=datetime.now(UTC))
    await store.put(OTHER, refresh_token="1000.other")
    new = TokenCipher([TokenCipher.generate_key()])
    assert await store.rotate_key(new) == 2

    fresh = SqlTokenStore(engine, new)
    got = await fresh.get(KEY)
    assert got is not None
    assert (got.refresh_token, got.access_token) == (REFRESH, ACCESS)
    with pytest.raises(ConfigError, match="cannot be decrypted"):
        await SqlTokenStore(engine, old).get(KEY)


async def test_wrong_key_is_a_config_error(engine: AsyncEngine, store: SqlTokenStore) -> None:
    await store.put(KEY, refresh_token=REFRESH)
    other = SqlTokenStore(engine, TokenCipher([TokenCipher.generate_key()]))
    with pytest.raises(ConfigError, match="SERGAS_TOKEN_KEY") as info:
        await other.get(KEY)
    assert REFRESH not in str(info.value)


async def test_token_lock_serialises_two_engines_across_commits(
    db_url: str, store: SqlTokenStore
) -> None:
    """Two engines stand in for two processes: the second waits until the first releases the
    lock, not merely until its write commits."""
    await store.seed(KEY, REFRESH)
    second_engine = create_engine(db_url)
    second = SqlTokenStore(second_engine, store.cipher, store.clock)
    order: list[str] = []
    first_has_lock = asyncio.Event()

    async def first_holder() -> None:
        async with store.locked(KEY) as row:
            first_has_lock.set()
            order.append("first locked")
            await row.save_access(ACCESS, datetime.now(UTC) + timedelta(hours=1), None)
            order.append("first saved")
            await asyncio.sleep(0.5)
            order.append("first releases")

    async def second_waiter() -> None:
        await first_has_lock.wait()
        async with second.locked(KEY) as row:
            order.append("second locked")
            assert row.token is not None
            assert row.token.access_token == ACCESS  # read after taking the lock

    try:
        await asyncio.gather(first_holder(), second_waiter())
    finally:
        await second_engine.dispose()
    assert order == ["first locked", "first saved", "first releases", "second locked"]


async def test_waiting_for_the_token_lock_is_bounded(db_url: str, store: SqlTokenStore) -> None:
    await store.seed(KEY, REFRESH)
    second_engine = create_engine(db_url)
    impatient = SqlTokenStore(second_engine, store.cipher, store.clock, lock_timeout=0.2)
    try:
        async with store.locked(KEY):
            with pytest.raises(DatabaseError) as info:
                async with impatient.locked(KEY):
                    pass
        async with impatient.locked(KEY) as row:  # free again once the holder left
            assert row.token is not None
    finally:
        await second_engine.dispose()
    assert info.value.code == "LOCK_TIMEOUT"
    assert "timed out after 0.2 s waiting for the token lock" in str(info.value)
    assert not info.value.retryable
