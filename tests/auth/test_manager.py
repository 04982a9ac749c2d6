"""TokenManager against the sandbox's Accounts server, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx2
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from sergas.auth import ManualClock, Outcome, TokenManager, token_manager
from sergas.db import create_engine
from sergas.errors import AuthError, RateLimitError
from sergas.sandbox.config import REFRESH_TOKEN
from sergas.sandbox.server import RunningSandbox
from sergas.settings import Settings


def refreshes(sandbox: RunningSandbox) -> int:
    return int(sandbox.stats()["tokens"]["refreshes"])


def token_calls(sandbox: RunningSandbox) -> int:
    """Requests that reached the token endpoint, whatever the answer."""
    calls: dict[str, int] = sandbox.stats()["calls"]
    return sum(n for name, n in calls.items() if "/oauth/v2/token" in name and "revoke" not in name)


async def current_user(sandbox: RunningSandbox, token: str) -> httpx2.Response:
    async with httpx2.AsyncClient(base_url=sandbox.url) as client:
        return await client.get(
            "/crm/v8/users",
            params={"type": "CurrentUser"},
            headers={"Authorization": f"Zoho-oauthtoken {token}"},
        )


async def test_first_use_seeds_the_store_and_refreshes_once(
    manager: TokenManager, sandbox: RunningSandbox
) -> None:
    token = await manager.get_access_token()
    assert (await current_user(sandbox, token)).status_code == 200
    assert refreshes(sandbox) == 1

    stored = await manager.store.get(manager.key())
    assert stored is not None
    assert stored.refresh_token == REFRESH_TOKEN
    assert stored.access_token == token
    assert stored.generation == 1
    assert stored.api_domain == sandbox.url
    [audit] = await manager.store.recent_audit(manager.key())
    assert (audit.reason, audit.outcome, audit.error_code) == ("expiring", Outcome.SUCCESS, None)
    assert audit.latency_ms is not None
    assert audit.latency_ms > 0


async def test_second_call_is_served_from_memory(
    manager: TokenManager, sandbox: RunningSandbox, engine: AsyncEngine
) -> None:
    first = await manager.get_access_token()
    await engine.dispose()  # the memory path must not need the database at all
    assert await manager.get_access_token() == first
    assert refreshes(sandbox) == 1


async def test_refreshes_inside_the_five_minute_buffer(
    manager: TokenManager, sandbox: RunningSandbox, clock: ManualClock
) -> None:
    first = await manager.get_access_token()
    clock.advance(3600 - 301)  # 301 s left: still outside the buffer
    assert await manager.get_access_token() == first
    assert refreshes(sandbox) == 1
    clock.advance(2)  # 299 s left
    second = await manager.get_access_token()
    assert second != first
    assert refreshes(sandbox) == 2
    assert (await current_user(sandbox, second)).status_code == 200


async def test_concurrent_callers_share_one_refresh(
    manager: TokenManager, sandbox: RunningSandbox, clock: ManualClock
) -> None:
    await manager.get_access_token()
    clock.advance(3600)
    tokens = await asyncio.gather(*(manager.get_access_token() for _ in range(100)))
    assert len(set(tokens)) == 1
    assert refreshes(sandbox) == 2


async def test_force_refresh_is_deduplicated(
    manager: TokenManager, sandbox: RunningSandbox
) -> None:
    failed = await manager.get_access_token()
    fresh = await asyncio.gather(*(manager.force_refresh("401", failed) for _ in range(50)))
    assert len(set(fresh)) == 1
    assert fresh[0] != failed
    assert refreshes(sandbox) == 2
    # A late caller with the same stale token gets the stored one; nothing is sent.
    assert await manager.force_refresh("401", failed) == fresh[0]
    assert refreshes(sandbox) == 2


async def test_force_refresh_reads_another_process_refresh(
    manager: TokenManager, sandbox: RunningSandbox, sandbox_env: Settings, db_url: str
) -> None:
    """Another engine and manager stand in for another process on the same database."""
    failed = await manager.get_access_token()
    other_engine = create_engine(db_url)
    other = token_manager(sandbox_env, engine=other_engine, clock=manager.clock)
    try:
        assert await other.get_access_token() == failed  # from the database, no refresh
        fresh = await other.force_refresh("401", failed)
        assert await manager.force_refresh("401", failed) == fresh
    finally:
        await other.aclose()
        await other_engine.dispose()
    assert refreshes(sandbox) == 2


async def test_never_more_than_ten_refreshes_in_ten_minutes(
    manager: TokenManager, sandbox: RunningSandbox, clock: ManualClock
) -> None:
    token = await manager.get_access_token()
    for _ in range(9):
        token = await manager.force_refresh("test", token)
    assert refreshes(sandbox) == 10
    with pytest.raises(RateLimitError) as info:
        await manager.force_refresh("test", token)
    assert info.value.code == "TOKEN_REFRESH_LIMIT"
    assert "Zoho allows 10 per refresh token" in str(info.value)
    assert info.value.retry_after is not None
    assert 0 < info.value.retry_after <= 600
    assert refreshes(sandbox) == 10
    assert sandbox.stats()["tokens"]["rejected"] == 0
    latest = (await manager.store.recent_audit(manager.key(), 1))[0]
    assert latest.outcome is Outcome.REFUSED

    clock.advance(601)
    sandbox.advance(601)
    assert await manager.force_refresh("test", token) != token
    assert refreshes(sandbox) == 11


async def exhaust_zoho_budget(sandbox: RunningSandbox) -> None:
    """Ten refreshes by someone else with the same refresh token: Zoho's window is full."""
    for _ in range(10):
        sandbox.access_token()


async def test_zoho_throttle_is_a_clear_error_without_a_retry_storm(
    manager: TokenManager, sandbox: RunningSandbox, clock: ManualClock
) -> None:
    await exhaust_zoho_budget(sandbox)
    sent = token_calls(sandbox)

    with pytest.raises(RateLimitError) as info:
        await manager.get_access_token()
    message = str(info.value)
    assert "Access Denied" in message
    assert "backs off" in message
    assert info.value.retry_after == 120
    assert sandbox.stats()["tokens"]["rejected"] == 1
    assert token_calls(sandbox) == sent + 1

    results = await asyncio.gather(
        *(manager.get_access_token() for _ in range(50)), return_exceptions=True
    )
    assert all(isinstance(r, RateLimitError) for r in results)
    assert token_calls(sandbox) == sent + 1  # nobody asked Zoho again

    [throttled] = await manager.store.recent_audit(manager.key())
    assert (throttled.outcome, throttled.error_code) == (Outcome.THROTTLED, "Access Denied")

    clock.advance(121)
    sandbox.advance(601)
    assert await manager.get_access_token()
    assert token_calls(sandbox) == sent + 2


async def test_throttle_backoff_is_shared_through_the_database(
    manager: TokenManager, sandbox: RunningSandbox, sandbox_env: Settings, db_url: str
) -> None:
    await exhaust_zoho_budget(sandbox)
    with pytest.raises(RateLimitError):
        await manager.get_access_token()
    sent = token_calls(sandbox)
    other_engine = create_engine(db_url)
    other = token_manager(sandbox_env, engine=other_engine, clock=manager.clock)
    try:
        with pytest.raises(RateLimitError, match="backs off"):
            await other.get_access_token()
    finally:
        await other.aclose()
        await other_engine.dispose()
    assert token_calls(sandbox) == sent


async def revoke_at_zoho(sandbox: RunningSandbox, token: str) -> Any:
    async with httpx2.AsyncClient(base_url=sandbox.url) as client:
        return (await client.post("/oauth/v2/token/revoke", params={"token": token})).json()


async def test_revoked_refresh_token_says_to_log_in(
    manager: TokenManager, sandbox: RunningSandbox
) -> None:
    assert await revoke_at_zoho(sandbox, REFRESH_TOKEN) == {"status": "success"}
    with pytest.raises(AuthError) as info:
        await manager.get_access_token()
    assert info.value.code == "invalid_code"
    assert "sergas auth login" in str(info.value)
    assert REFRESH_TOKEN not in str(info.value)
    sent = token_calls(sandbox)
    with pytest.raises(AuthError, match="sergas auth login"):
        await manager.get_access_token()
    assert token_calls(sandbox) == sent  # a known-bad refresh token is not sent again


async def test_login_with_a_grant_code_replaces_the_refresh_token(
    manager: TokenManager, sandbox: RunningSandbox
) -> None:
    code = sandbox._post("/__sandbox/grant-code")["code"]
    stored = await manager.login(code)
    assert stored.refresh_token != REFRESH_TOKEN
    assert stored.access_token
    assert sandbox.stats()["tokens"]["code_grants"] == 1
    assert await manager.get_access_token() == stored.access_token
    assert (await current_user(sandbox, stored.access_token)).status_code == 200
    [audit] = await manager.store.recent_audit(manager.key())
    assert (audit.reason, audit.outcome) == ("login", Outcome.SUCCESS)

    with pytest.raises(AuthError) as info:
        await manager.login(code)  # grant codes are single use
    assert info.value.code == "invalid_code"


async def test_revoke_revokes_at_zoho_and_forgets(
    manager: TokenManager, sandbox: RunningSandbox
) -> None:
    token = await manager.get_access_token()
    assert await manager.revoke() is True
    assert await manager.store.get(manager.key()) is None
    assert (await current_user(sandbox, token)).status_code == 401
    assert await manager.revoke() is False
