"""Zoho Accounts as the official SDK's OAuthToken sees it: refresh, code grant, expiry, revoke."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from tests.fidelity.sdk import SDKSession, sdk_session
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.crm.api.exception import SDKException
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.parameter_map import ParameterMap
from zohocrmsdk.src.com.zoho.crm.api.record import (
    APIException,
    GetRecordsParam,
    RecordOperations,
    ResponseWrapper,
)
from zohocrmsdk.src.com.zoho.crm.api.util.constants import Constants

from sergas.sandbox.config import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, SandboxConfig
from sergas.sandbox.server import RunningSandbox, serve_sandbox

pytestmark = pytest.mark.sdk


@pytest.fixture
def running() -> Iterator[RunningSandbox]:
    with serve_sandbox(SandboxConfig(accounts=20)) as running:
        yield running


def list_accounts() -> object:
    params = ParameterMap()
    params.add(GetRecordsParam.fields, "Account_Name")
    params.add(GetRecordsParam.per_page, 2)
    response = RecordOperations("Accounts").get_records(params)
    assert response is not None, "the SDK swallowed an exception (see its log)"
    return response


def stored_rows(session: SDKSession) -> list[dict[str, str]]:
    with open(session.store.file_path, newline="") as f:
        return list(csv.DictReader(f))


def crm_calls(stats: dict[str, object]) -> int:
    calls = stats["calls"]
    assert isinstance(calls, dict)
    return sum(n for endpoint, n in calls.items() if " /crm/" in endpoint)


def test_initialize_refreshes_with_the_sdks_own_oauth_token(
    running: RunningSandbox, tmp_path: Path
) -> None:
    with sdk_session(running, tmp_path) as session:
        stats = running.stats()
        assert stats["tokens"]["refreshes"] == 1
        # The SDK's bootstrap after a new token (SDK-oauth get_token, SDK-util get_user_name).
        assert stats["calls"]["POST /oauth/v2/token"] == 1
        assert stats["calls"]["GET /crm/v8/users"] == 1
        assert stats["calls"]["GET /crm/v8/org"] == 1
        # api_domain came back as the sandbox itself, so the SDK stayed here.
        assert session.token.get_api_domain() == running.url
        assert Initializer.get_initializer().environment.url == running.url
        backend = running.sandbox
        signature = f"{backend.current_user['email']}:{backend.org['zgid']}"
        assert session.token.get_user_signature().get_name() == signature
        [row] = stored_rows(session)
        assert row["user_name"] == signature
        assert row["access_token"] == session.token.get_access_token()
        assert row["api_domain"] == running.url
        response = list_accounts()
        assert response.get_status_code() == 200
        assert isinstance(response.get_object(), ResponseWrapper)
        assert running.stats()["tokens"]["refreshes"] == 1  # the token is still good


def test_sdk_refreshes_again_when_its_token_is_about_to_expire(tmp_path: Path) -> None:
    # The SDK refreshes when under 5 s of validity remain (SDK-oauth get_token); a 5 s
    # token is therefore refreshed before every call, and every refreshed token must work.
    with (
        serve_sandbox(SandboxConfig(accounts=20, token_ttl=5)) as running,
        sdk_session(running, tmp_path) as session,
    ):
        before = running.stats()
        # Once saved, the SDK works from its token store (find_token_by_id), so the
        # store, not the OAuthToken object, shows each refreshed token.
        seen = {stored_rows(session)[0]["access_token"]}
        for _ in range(2):
            response = list_accounts()
            assert response.get_status_code() == 200
            assert isinstance(response.get_object(), ResponseWrapper)
            seen.add(stored_rows(session)[0]["access_token"])
        after = running.stats()
        assert len(seen) == 3
        refreshes = after["tokens"]["refreshes"] - before["tokens"]["refreshes"]
        assert refreshes == crm_calls(after) - crm_calls(before) > 0
        assert after["tokens"]["invalid_token_responses"] == 0


def test_sdk_exchanges_a_grant_code(running: RunningSandbox, tmp_path: Path) -> None:
    code = httpx2.post(f"{running.url}/__sandbox/grant-code", timeout=10).json()["code"]
    token = OAuthToken(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, grant_token=code)
    with sdk_session(running, tmp_path, token=token) as session:
        assert running.stats()["tokens"]["code_grants"] == 1
        refresh_token = session.token.get_refresh_token()
        assert refresh_token and refresh_token.startswith("1000.")
        [row] = stored_rows(session)
        assert row["refresh_token"] == refresh_token
        assert list_accounts().get_status_code() == 200


def test_wrong_client_secret_surfaces_zohos_error_code(
    running: RunningSandbox, tmp_path: Path
) -> None:
    token = OAuthToken(client_id=CLIENT_ID, client_secret="wrong", refresh_token=REFRESH_TOKEN)
    with pytest.raises(SDKException) as raised, sdk_session(running, tmp_path, token=token):
        pass
    # parse_response puts the body's "error" into the exception message (SDK-oauth).
    assert raised.value.code == Constants.INVALID_TOKEN_ERROR
    assert raised.value.error_message == "invalid_client_secret"
    assert running.stats()["tokens"]["refreshes"] == 0
    assert Initializer.get_initializer() is None


def test_token_expired_on_the_server_parses_as_invalid_token(
    running: RunningSandbox, tmp_path: Path
) -> None:
    with sdk_session(running, tmp_path):
        assert list_accounts().get_status_code() == 200  # caches the field metadata
        # The SDK judges expiry by its own wall clock; move only the sandbox's.
        running.advance(3601)
        response = list_accounts()
        assert response.get_status_code() == 401
        error = response.get_object()
        assert isinstance(error, APIException)
        assert error.get_status().get_value() == "error"
        assert error.get_code().get_value() == "INVALID_TOKEN"
        assert error.get_message().get_value() == "invalid oauth token"
        assert error.get_details() == {}


def test_sdk_revoke_call_kills_the_refresh_token(running: RunningSandbox, tmp_path: Path) -> None:
    # OAuthToken.revoke(id) cannot find a FileStore row by id alone (it asks find_token, which
    # matches on user, access or refresh token), so drive its HTTP call directly.
    with sdk_session(running, tmp_path) as session:
        assert list_accounts().get_status_code() == 200
        accounts_url = Initializer.get_initializer().environment.accounts_url
        revoked = OAuthToken.revoke_refresh_token(
            session.token.get_refresh_token(), accounts_url + "/revoke"
        )
        assert revoked is True
        response = list_accounts()
        assert response.get_status_code() == 401
        assert response.get_object().get_code().get_value() == "INVALID_TOKEN"
        again = OAuthToken.revoke_refresh_token(
            session.token.get_refresh_token(), accounts_url + "/revoke"
        )
        assert again is False
