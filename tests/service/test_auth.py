"""Bearer API keys at the HTTP boundary: 401 without a valid key, 403 for a read key on a
write, clear JSON bodies, and the key never in a log line."""

from __future__ import annotations

import httpx2
import pytest
from fastapi import FastAPI
from structlog.testing import capture_logs
from tests.service.support import Keys

from sergas.sandbox.server import RunningSandbox


def first_id(sandbox: RunningSandbox) -> str:
    record_id: str = sandbox.sandbox.store.ordered("Accounts")[0]["id"]
    return record_id


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer not-a-key"},
        {"Authorization": "Bearer sgk_0123456789ab_" + "x" * 43},  # well formed, unknown
    ],
    ids=["none", "basic", "empty", "malformed", "unknown"],
)
async def test_no_valid_key_is_401_with_a_clear_body(
    client: httpx2.AsyncClient, keys: Keys, headers: dict[str, str]
) -> None:
    response = await client.get("/v1/accounts", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    body = response.json()
    assert body["error"]["code"] in ("UNAUTHENTICATED", "INVALID_API_KEY")
    assert "API key" in body["error"]["message"]
    assert body["request_id"] == response.headers["X-Request-ID"]


async def test_a_wrong_secret_for_a_real_key_id_is_refused(
    client: httpx2.AsyncClient, keys: Keys
) -> None:
    forged = keys.read[:17] + "A" * (len(keys.read) - 17)
    with capture_logs() as logs:
        response = await client.get("/v1/accounts", headers=Keys.bearer(forged))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "INVALID_API_KEY"
    # Logged at warning with the key id it claimed and why; never the secret.
    refused = [e for e in logs if e["event"] == "caller refused"]
    assert [(e["log_level"], e["key_id"], e["reason"]) for e in refused] == [
        ("warning", keys.read[4:16], "wrong secret")
    ]
    assert forged[17:] not in repr(logs) and keys.read[17:] not in repr(logs)


async def test_a_revoked_key_stops_working(
    client: httpx2.AsyncClient, keys: Keys, app: FastAPI, tier_sandbox: RunningSandbox
) -> None:
    path = f"/v1/accounts/{first_id(tier_sandbox)}"
    assert (await client.get(path, headers=Keys.bearer(keys.read))).status_code == 200
    await app.state.keys.revoke(keys.read[4:16])
    response = await client.get(path, headers=Keys.bearer(keys.read))
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "unknown or revoked API key"


async def test_read_scope_reads_but_cannot_write(
    client: httpx2.AsyncClient, keys: Keys, tier_sandbox: RunningSandbox
) -> None:
    record_id = first_id(tier_sandbox)
    before = tier_sandbox.sandbox.store.get("Accounts", record_id)
    assert (
        await client.get(f"/v1/accounts/{record_id}", headers=Keys.bearer(keys.read))
    ).is_success
    writes = [
        ("PATCH", f"/v1/accounts/{record_id}", {"data": {"Description": "x"}}),
        ("POST", "/v1/accounts/bulk-update", {"records": [{"id": record_id, "Phone": "1"}]}),
        ("POST", "/v1/tiers/reset", None),
    ]
    for method, path, body in writes:
        response = await client.request(method, path, json=body, headers=Keys.bearer(keys.read))
        assert response.status_code == 403, path
        error = response.json()["error"]
        assert error["code"] == "INSUFFICIENT_SCOPE"
        assert error["details"] == {"scope": "read", "required": "write"}
        assert "insufficient_scope" in response.headers["WWW-Authenticate"]
    assert tier_sandbox.sandbox.store.get("Accounts", record_id) == before


async def test_write_scope_writes(
    client: httpx2.AsyncClient, keys: Keys, tier_sandbox: RunningSandbox
) -> None:
    record_id = first_id(tier_sandbox)
    response = await client.patch(
        f"/v1/accounts/{record_id}",
        json={"data": {"Description": "written by the service"}},
        headers=Keys.bearer(keys.write),
    )
    assert response.status_code == 200, response.text
    assert response.json()["ok"] is True
    record = tier_sandbox.sandbox.store.get("Accounts", record_id)
    assert record is not None and record["Description"] == "written by the service"


async def test_keys_never_reach_the_logs(
    client: httpx2.AsyncClient, keys: Keys, tier_sandbox: RunningSandbox
) -> None:
    record_id = first_id(tier_sandbox)
    with capture_logs() as logs:
        await client.get(f"/v1/accounts/{record_id}", headers=Keys.bearer(keys.read))
        await client.patch(
            f"/v1/accounts/{record_id}", json={"data": {}}, headers=Keys.bearer(keys.read)
        )
        await client.get("/v1/accounts", headers=Keys.bearer(keys.read[:-1] + "Z"))
    assert logs, "the service logs each request"
    text = repr(logs)
    for key in (keys.read, keys.write, keys.read[17:]):
        assert key not in text
    # The caller is identified by the key's public id.
    assert any(entry.get("client") == keys.read[4:16] for entry in logs)
