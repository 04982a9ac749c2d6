"""Bad input and broken parts: credentials, network, database. Every failure is a clear
Sergas error, and none leaves a half-written row or a token in a message or a log."""

from __future__ import annotations

import asyncio
import socket

import pytest
import stamina
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from structlog.testing import capture_logs
from tests.auth.conftest import TOKEN_KEY
from tests.helpers import wait_until_async

from sergas import errors
from sergas.auth import ManualClock, Outcome, TokenManager, token_manager
from sergas.db import create_engine
from sergas.errors import AuthError, ConfigError, DatabaseError
from sergas.sandbox.config import CLIENT_SECRET, REFRESH_TOKEN, SandboxConfig
from sergas.sandbox.server import RunningSandbox, serve_sandbox
from sergas.settings import Settings, get_settings, reset_settings


@pytest.fixture(autouse=True)
def no_retry_sleeps() -> None:
    stamina.set_testing(True, attempts=3)
    yield
    stamina.set_testing(False)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("missing", ["ZOHO_CLIENT_ID", "ZOHO_CLIENT_SECRET"])
def test_missing_credentials_name_the_setting(
    sandbox_env: Settings, monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    monkeypatch.delenv(missing)
    reset_settings()
    with pytest.raises(ConfigError, match=missing) as info:
        token_manager(get_settings())
    assert CLIENT_SECRET not in str(info.value)


async def test_no_refresh_token_anywhere_names_the_setting(
    sandbox_env: Settings, monkeypatch: pytest.MonkeyPatch, engine: AsyncEngine
) -> None:
    monkeypatch.delenv("ZOHO_REFRESH_TOKEN")
    reset_settings()
    manager = token_manager(get_settings(), engine=engine)
    with pytest.raises(ConfigError, match="ZOHO_REFRESH_TOKEN") as info:
        await manager.get_access_token()
    assert "sergas auth login" in str(info.value)
    await manager.aclose()


async def test_wrong_client_secret_is_an_auth_error_with_a_hint(
    sandbox_env: Settings,
    monkeypatch: pytest.MonkeyPatch,
    engine: AsyncEngine,
    sandbox: RunningSandbox,
) -> None:
    monkeypatch.setenv("ZOHO_CLIENT_SECRET", "not-the-secret")
    reset_settings()
    manager = token_manager(get_settings(), engine=engine)
    with pytest.raises(AuthError) as info:
        await manager.get_access_token()
    await manager.aclose()
    assert info.value.code == "invalid_client_secret"
    assert "ZOHO_CLIENT_SECRET" in str(info.value)
    assert "not-the-secret" not in str(info.value)
    [audit] = await manager.store.recent_audit(manager.key())
    assert (audit.outcome, audit.error_code) == (Outcome.ZOHO_ERROR, "invalid_client_secret")


async def test_unreachable_accounts_server_is_retried_then_a_connection_error(
    sandbox_env: Settings, monkeypatch: pytest.MonkeyPatch, engine: AsyncEngine
) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("ZOHO_ACCOUNTS_URL", url)
    reset_settings()
    manager = token_manager(get_settings(), engine=engine)
    with pytest.raises(errors.ConnectionError, match="cannot reach Zoho Accounts") as info:
        await manager.get_access_token()
    await manager.aclose()
    assert info.value.code == "ZOHO_UNREACHABLE"
    assert info.value.retryable
    [audit] = await manager.store.recent_audit(manager.key())
    assert audit.outcome is Outcome.UNREACHABLE  # never reached Zoho: not counted


async def test_a_dropped_answer_is_not_retried(
    manager: TokenManager, sandbox: RunningSandbox
) -> None:
    """The request reached Zoho, so it may have minted a token: retrying could double-count."""
    sandbox.set_faults(targeted=[{"path": "/oauth/v2/token", "status": "drop", "count": 1}])
    with pytest.raises(errors.ConnectionError) as info:
        await manager.get_access_token()
    assert info.value.code == "CONNECTION_ERROR"
    assert sandbox.stats()["calls"].get("POST /oauth/v2/token") == 1
    [audit] = await manager.store.recent_audit(manager.key())
    assert audit.outcome is Outcome.NETWORK_ERROR
    assert await manager.get_access_token()  # the next call works


async def test_refresh_has_a_timeout(
    sandbox_env: Settings,
    monkeypatch: pytest.MonkeyPatch,
    engine: AsyncEngine,
    sandbox: RunningSandbox,
) -> None:
    monkeypatch.setenv("SERGAS_TOKEN_REFRESH_TIMEOUT", "0.3")
    reset_settings()
    sandbox.set_faults(
        hang_seconds=3, targeted=[{"path": "/oauth/v2/token", "status": "hang", "count": 1}]
    )
    manager = token_manager(get_settings(), engine=engine)
    with pytest.raises(errors.TimeoutError, match="did not answer"):
        await asyncio.wait_for(manager.get_access_token(), 5)
    await manager.aclose()
    [audit] = await manager.store.recent_audit(manager.key())
    assert audit.outcome is Outcome.TIMEOUT


async def test_database_down_is_a_database_error(sandbox_env: Settings) -> None:
    settings = sandbox_env.model_copy(
        update={"database_url": f"postgresql://postgres@127.0.0.1:{closed_port()}/sergas"}
    )
    engine = create_engine(settings=settings)
    manager = token_manager(settings, engine=engine)
    try:
        with pytest.raises(DatabaseError, match="database error") as info:
            await manager.get_access_token()
    finally:
        await manager.aclose()
        await engine.dispose()
    # Retried on a new connection (3 tries under stamina's test mode), then a clear end.
    assert "Sergas tried 3 times with a new connection and gave up" in str(info.value)
    assert not info.value.retryable  # already retried: callers should not retry it again


@pytest.mark.postgres
async def test_database_lost_mid_refresh_is_retried_and_counted(
    postgres_url: str,
    pg_engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The server ends our connection while the refresh request is in flight. Zoho counted
    the refresh; so does the audit (the attempt was stored before it was sent), and the retry
    stores the token Zoho minted instead of asking for another."""
    with serve_sandbox(SandboxConfig(accounts=0)) as sandbox:
        for name, value in sandbox.env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("SERGAS_DATABASE_URL", postgres_url)
        monkeypatch.setenv("SERGAS_TOKEN_KEY", TOKEN_KEY)
        reset_settings()
        sandbox.set_faults(latency_ms=800)  # Accounts answers slowly
        worker = create_engine(postgres_url)
        manager = token_manager(get_settings(), engine=worker)
        task = asyncio.create_task(manager.get_access_token())
        await wait_until_async(
            lambda: sandbox.stats()["calls"].get("POST /oauth/v2/token"),
            what="the refresh request to reach the sandbox",
        )
        async with pg_engine.connect() as conn:
            killed = (
                await conn.execute(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )
            ).scalar()
        assert killed
        token = await task
        await manager.aclose()
        await worker.dispose()
        refreshes = sandbox.stats()["tokens"]["refreshes"]
        assert token in sandbox.sandbox.oauth.access_tokens  # the token Zoho minted

    assert refreshes == 1
    async with pg_engine.connect() as conn:
        row = (await conn.execute(text("SELECT generation FROM zoho_tokens"))).one()
        audits = (await conn.execute(text("SELECT outcome FROM token_refresh_audit"))).all()
    assert tuple(row) == (1,)
    assert [tuple(a) for a in audits] == [("success",)]


async def test_logs_and_errors_never_carry_tokens(
    manager: TokenManager, sandbox: RunningSandbox, clock: ManualClock
) -> None:
    with capture_logs() as logs:
        first = await manager.get_access_token()
        second = await manager.force_refresh("401", first)
        clock.advance(3600)
        third = await manager.get_access_token()
        await manager.revoke()
        failures = []
        for _ in range(2):
            try:
                await manager.force_refresh("401", third)
            except errors.SergasError as exc:
                failures.append(exc)
    assert logs  # the refreshes were logged
    assert failures
    text_ = repr(logs) + "".join(f"{e!s}{e!r}{e.details}" for e in failures)
    text_ += repr(manager) + repr(await manager.status())
    for secret in (first, second, third, REFRESH_TOKEN, CLIENT_SECRET):
        assert secret not in text_
