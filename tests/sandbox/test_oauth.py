"""Zoho Accounts emulation: grants, refresh limits, revocation, INVALID_TOKEN."""

from __future__ import annotations

import httpx2
import pytest

from sergas.sandbox.config import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN

REFRESH = {
    "grant_type": "refresh_token",
    "client_id": CLIENT_ID,
    "client_secret": CLIENT_SECRET,
    "refresh_token": REFRESH_TOKEN,
}


async def refresh(client: httpx2.AsyncClient, **changes: str) -> dict[str, object]:
    response = await client.post("/oauth/v2/token", data={**REFRESH, **changes})
    assert response.status_code == 200
    body: dict[str, object] = response.json()
    return body


async def test_refresh_returns_token_and_own_api_domain(crm_client: httpx2.AsyncClient) -> None:
    body = await refresh(crm_client)
    assert set(body) >= {"access_token", "api_domain", "token_type", "expires_in"}
    assert body["api_domain"] == "http://sandbox.test"
    assert body["expires_in"] == 3600
    assert "refresh_token" not in body and "expires_in_sec" not in body


async def test_refresh_accepts_query_string(crm_client: httpx2.AsyncClient) -> None:
    response = await crm_client.post("/oauth/v2/token", params=REFRESH)
    assert "access_token" in response.json()


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"client_id": "1000.WRONG"}, "invalid_client"),
        ({"client_secret": "nope"}, "invalid_client_secret"),
        ({"refresh_token": "1000.unknown"}, "invalid_code"),
    ],
)
async def test_bad_credentials_get_zoho_errors(
    crm_client: httpx2.AsyncClient, change: dict[str, str], error: str
) -> None:
    assert (await refresh(crm_client, **change)) == {"error": error}


async def test_eleventh_refresh_in_ten_minutes_is_denied(crm_client: httpx2.AsyncClient) -> None:
    for _ in range(9):  # the fixture already minted one
        assert "access_token" in await refresh(crm_client)
    denied = await refresh(crm_client)
    assert denied["error"] == "Access Denied"
    assert denied["status"] == "failure"
    stats = (await crm_client.get("/__sandbox/stats")).json()["tokens"]
    assert stats == {"refreshes": 10, "code_grants": 0, "rejected": 1, "invalid_token_responses": 0}
    await crm_client.post("/__sandbox/clock", json={"advance_seconds": 601})
    assert "access_token" in await refresh(crm_client)


async def test_expired_token_is_invalid_token(crm_client: httpx2.AsyncClient) -> None:
    params = {"fields": "Account_Name", "per_page": 1}
    assert (await crm_client.get("/crm/v8/Accounts", params=params)).status_code == 200
    await crm_client.post("/__sandbox/clock", json={"advance_seconds": 3600})
    response = await crm_client.get("/crm/v8/Accounts", params=params)
    assert response.status_code == 401
    assert response.json() == {
        "code": "INVALID_TOKEN",
        "details": {},
        "message": "invalid oauth token",
        "status": "error",
    }


@pytest.mark.parametrize("header", [None, "Zoho-oauthtoken 1000.nope", "Basic abc"])
async def test_missing_or_unknown_token(crm_client: httpx2.AsyncClient, header: str | None) -> None:
    headers = {"Authorization": header} if header else {"Authorization": ""}
    response = await crm_client.get("/crm/v8/org", headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "INVALID_TOKEN"


async def test_crm_routes_take_zoho_oauthtoken_not_bearer(crm_client: httpx2.AsyncClient) -> None:
    # Zoho's CRM API takes `Zoho-oauthtoken`; Bearer is for the MCP endpoint only.
    token = crm_client.headers["Authorization"].split(" ", 1)[1]
    for path in ("/crm/v8/org", "/crm/bulk/v8/read/1"):
        response = await crm_client.get(path, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
        assert response.json()["code"] == "INVALID_TOKEN"
    ok = await crm_client.get("/crm/v8/org", headers={"Authorization": f"Zoho-oauthtoken {token}"})
    assert ok.status_code == 200


async def test_code_grant_issues_refresh_token_once(crm_client: httpx2.AsyncClient) -> None:
    code = (await crm_client.post("/__sandbox/grant-code")).json()["code"]
    grant = {"grant_type": "authorization_code", "code": code}
    body = await refresh(crm_client, **grant)
    assert body["refresh_token"] and body["access_token"]
    assert await refresh(crm_client, **grant) == {"error": "invalid_code"}  # single use
    new = await refresh(crm_client, refresh_token=str(body["refresh_token"]))
    assert "access_token" in new
    stats = (await crm_client.get("/__sandbox/stats")).json()["tokens"]
    assert stats["code_grants"] == 1


async def test_grant_code_expires(crm_client: httpx2.AsyncClient) -> None:
    code = (await crm_client.post("/__sandbox/grant-code")).json()["code"]
    await crm_client.post("/__sandbox/clock", json={"advance_seconds": 181})
    body = await refresh(crm_client, grant_type="authorization_code", code=code)
    assert body == {"error": "invalid_code"}


async def test_revoking_refresh_token_kills_its_access_tokens(
    crm_client: httpx2.AsyncClient,
) -> None:
    code = (await crm_client.post("/__sandbox/grant-code")).json()["code"]
    body = await refresh(crm_client, grant_type="authorization_code", code=code)
    headers = {"Authorization": f"Zoho-oauthtoken {body['access_token']}"}
    assert (await crm_client.get("/crm/v8/org", headers=headers)).status_code == 200
    revoked = await crm_client.post(
        "/oauth/v2/token/revoke", params={"token": str(body["refresh_token"])}
    )
    assert revoked.json() == {"status": "success"}
    assert (await crm_client.get("/crm/v8/org", headers=headers)).status_code == 401
    assert await refresh(crm_client, refresh_token=str(body["refresh_token"])) == {
        "error": "invalid_code"
    }
    again = await crm_client.post("/oauth/v2/token/revoke", params={"token": "1000.unknown"})
    assert again.status_code == 400


async def test_fault_revokes_every_access_token(crm_client: httpx2.AsyncClient) -> None:
    await crm_client.post("/__sandbox/faults", json={"revoke_tokens": True})
    assert (await crm_client.get("/crm/v8/org")).status_code == 401
    assert "access_token" in await refresh(crm_client)
