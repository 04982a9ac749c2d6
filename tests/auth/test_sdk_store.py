"""Zoho's official SDK authenticated through SDKTokenStore: one shared token, and the SDK
never refreshes on its own."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.logger import Logger
from zohocrmsdk.src.com.zoho.crm.api.dc import DataCenter
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.parameter_map import ParameterMap
from zohocrmsdk.src.com.zoho.crm.api.record import GetRecordsParam, RecordOperations
from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig

from sergas.auth import ManualClock, TokenManager
from sergas.auth.sdk import SDKTokenStore
from sergas.sandbox.server import RunningSandbox
from sergas.settings import Settings

pytestmark = pytest.mark.sdk


def refreshes(sandbox: RunningSandbox) -> int:
    return int(sandbox.stats()["tokens"]["refreshes"])


@pytest.fixture
def sdk_clock() -> ManualClock:
    return ManualClock(datetime.now(UTC))


@pytest.fixture
def store(
    sandbox_env: Settings, engine: AsyncEngine, sdk_clock: ManualClock
) -> Iterator[SDKTokenStore]:
    """A store with its own loop thread; `engine` only brings the schema to head."""
    store = SDKTokenStore.start(sandbox_env, clock=sdk_clock)
    yield store
    store.close()


@pytest.fixture
def sdk(store: SDKTokenStore, sandbox: RunningSandbox, tmp_path: Path) -> Iterator[None]:
    environment = DataCenter.Environment(sandbox.url, f"{sandbox.url}/oauth/v2/token", sandbox.url)
    try:
        Initializer.initialize(
            environment=environment,
            token=store.sdk_token(),
            store=store,
            sdk_config=SDKConfig(auto_refresh_fields=False),
            resource_path=str(tmp_path),
            logger=Logger.get_instance(Logger.Levels.INFO),
        )
        yield
    finally:
        Initializer.initializer = None
        Initializer.LOCAL.init = None


def account_names() -> list[str]:
    params = ParameterMap()
    params.add(GetRecordsParam.fields, "Account_Name")
    params.add(GetRecordsParam.per_page, 5)
    response = RecordOperations("Accounts").get_records(params)
    assert response is not None, "the SDK swallowed an exception (see its log)"
    assert response.get_status_code() == 200
    return [r.get_key_value("Account_Name") for r in response.get_object().get_data()]


def test_the_sdk_uses_our_token_and_never_refreshes(
    sdk: None, store: SDKTokenStore, sandbox: RunningSandbox
) -> None:
    for _ in range(3):
        assert len(account_names()) == 5
    assert refreshes(sandbox) == 1  # ours, on first use; the SDK asked for none


def test_sdk_calls_from_many_threads_share_one_token(
    sdk: None, store: SDKTokenStore, sandbox: RunningSandbox
) -> None:
    errors: list[BaseException] = []

    def work() -> None:
        try:
            account_names()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert refreshes(sandbox) == 1


def test_we_refresh_inside_the_buffer_so_the_sdk_never_has_to(
    sdk: None, store: SDKTokenStore, sandbox: RunningSandbox, sdk_clock: ManualClock
) -> None:
    account_names()
    first = store.find_token_by_id(store.token_id).get_access_token()
    sdk_clock.advance(3600 - 200)  # inside our 5-minute buffer, far outside the SDK's 5 s
    account_names()
    assert refreshes(sandbox) == 2
    assert store.find_token_by_id(store.token_id).get_access_token() != first


def test_the_sdk_token_carries_no_refresh_token_or_secret(
    store: SDKTokenStore, sandbox: RunningSandbox
) -> None:
    token = store.find_token_by_id(store.token_id)
    assert token.get_access_token()
    assert token.get_refresh_token() is None
    assert token.get_client_secret() is None
    assert token.get_api_domain() == sandbox.url
    left_ms = int(token.get_expires_in()) - int(datetime.now(UTC).timestamp() * 1000)
    assert left_ms > 5 * 60 * 1000
    assert store.find_token_by_id("someone-else") is None
    assert store.find_token(OAuthToken(id="x")).get_access_token() == token.get_access_token()
    assert store.find_token("not a token") == "not a token"
    store.save_token(token)  # ignored: the SDK may not write our store
    store.delete_tokens()
    assert store.find_token_by_id(store.token_id).get_access_token() == token.get_access_token()


async def test_calling_from_its_own_loop_is_refused(manager: TokenManager) -> None:
    store = SDKTokenStore(manager, asyncio.get_running_loop())
    with pytest.raises(RuntimeError, match="worker thread"):
        store.find_token_by_id(store.token_id)
