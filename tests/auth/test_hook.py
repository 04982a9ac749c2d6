"""ZohoAuth, the httpx2 auth hook: stepped by hand, then through a real client."""

from __future__ import annotations

import asyncio

import httpx2
import pytest

from sergas.auth import TokenManager, ZohoAuth
from sergas.sandbox.server import RunningSandbox

INVALID_TOKEN = {
    "code": "INVALID_TOKEN",
    "details": {},
    "message": "invalid oauth token",
    "status": "error",
}


def refreshes(sandbox: RunningSandbox) -> int:
    return int(sandbox.stats()["tokens"]["refreshes"])


def answer(request: httpx2.Request, status: int, body: dict[str, object]) -> httpx2.Response:
    return httpx2.Response(status, json=body, request=request)


def bearer(request: httpx2.Request) -> str:
    scheme, _, token = request.headers["Authorization"].partition(" ")
    assert scheme == "Zoho-oauthtoken"
    return token


async def test_flow_sets_the_header_and_ends_on_success(
    manager: TokenManager, sandbox: RunningSandbox
) -> None:
    flow = ZohoAuth(manager).async_auth_flow(httpx2.Request("GET", sandbox.url + "/crm/v8/org"))
    request = await flow.__anext__()
    assert bearer(request) == await manager.get_access_token()
    with pytest.raises(StopAsyncIteration):
        await flow.asend(answer(request, 200, {"org": []}))
    assert refreshes(sandbox) == 1


async def test_flow_refreshes_once_and_resends_on_invalid_token(
    manager: TokenManager, sandbox: RunningSandbox
) -> None:
    flow = ZohoAuth(manager).async_auth_flow(
        httpx2.Request("POST", sandbox.url + "/crm/v8/coql", json={"select_query": "x"})
    )
    request = await flow.__anext__()
    stale = bearer(request)

    # Suspended at the yield, the flow holds no lock: other callers are not blocked.
    assert not manager._lock(manager.key()).locked()
    assert await asyncio.wait_for(manager.get_access_token(), 1) == stale

    resent = await flow.asend(answer(request, 401, INVALID_TOKEN))
    assert bearer(resent) != stale
    assert resent.content == b'{"select_query":"x"}'  # the body goes again
    assert refreshes(sandbox) == 2
    # A second INVALID_TOKEN is returned to the caller: one retry, never a loop.
    with pytest.raises(StopAsyncIteration):
        await flow.asend(answer(resent, 401, INVALID_TOKEN))
    assert refreshes(sandbox) == 2


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, {"code": "OAUTH_SCOPE_MISMATCH", "details": {}, "message": "x", "status": "error"}),
        (401, {"unexpected": True}),
        (403, {"code": "NO_PERMISSION", "details": {}, "message": "x", "status": "error"}),
    ],
)
async def test_other_failures_are_not_retried(
    manager: TokenManager, sandbox: RunningSandbox, status: int, body: dict[str, object]
) -> None:
    flow = ZohoAuth(manager).async_auth_flow(httpx2.Request("GET", sandbox.url + "/crm/v8/org"))
    request = await flow.__anext__()
    with pytest.raises(StopAsyncIteration):
        await flow.asend(answer(request, status, body))
    assert refreshes(sandbox) == 1


async def test_client_recovers_from_an_expiry_with_one_refresh(
    manager: TokenManager, sandbox: RunningSandbox
) -> None:
    async with httpx2.AsyncClient(base_url=sandbox.url, auth=ZohoAuth(manager)) as client:
        first = await client.get("/crm/v8/users", params={"type": "CurrentUser"})
        assert first.status_code == 200
        sandbox.advance(3600)  # Zoho's clock moves on; ours still thinks the token is fine
        answers = await asyncio.gather(
            *(client.get("/crm/v8/users", params={"type": "CurrentUser"}) for _ in range(30))
        )
    assert {r.status_code for r in answers} == {200}
    assert refreshes(sandbox) == 2


def test_sync_clients_are_refused(manager: TokenManager) -> None:
    with httpx2.Client(auth=ZohoAuth(manager)) as client, pytest.raises(TypeError, match="Async"):
        client.get("http://127.0.0.1:1/")
