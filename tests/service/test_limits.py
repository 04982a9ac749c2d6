"""The HTTP service's edges: a request body over the limit is answered 413 before it is
read (declared or chunked), Zoho's 413 comes back as 413, and a PATCH of a record Zoho does
not have answers 404, as docs/service.md says."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx2
import orjson
import pytest
from fastapi import FastAPI
from tests.service.support import Keys

from sergas.runtime import Runtime
from sergas.sandbox.server import RunningSandbox
from sergas.service import create_app
from sergas.service.settings import ServiceSettings

LIMIT = 4000


@pytest.fixture
def app(runtime: Runtime) -> FastAPI:
    service = ServiceSettings(
        readiness_cache_seconds=0, api_key_cache_seconds=0, max_body_bytes=LIMIT
    )
    return create_app(runtime, service=service)


def writes(sandbox: RunningSandbox) -> int:
    return sum(n for name, n in sandbox.stats()["calls"].items() if name.startswith("PUT "))


def bulk(records: int) -> bytes:
    body = {"records": [{"id": str(10**18 + i), "Phone": "+1 555 0100"} for i in range(records)]}
    return orjson.dumps(body)


async def test_a_declared_body_over_the_limit_is_refused_unread(
    client: httpx2.AsyncClient, keys: Keys, tier_sandbox: RunningSandbox
) -> None:
    before = writes(tier_sandbox)
    headers = {**Keys.bearer(keys.write), "Content-Type": "application/json"}
    small = await client.post("/v1/accounts/bulk-update", content=bulk(10), headers=headers)
    assert small.status_code == 200, small.text
    big = await client.post("/v1/accounts/bulk-update", content=bulk(200), headers=headers)
    assert big.status_code == 413
    error = big.json()
    assert error["error"]["code"] == "REQUEST_TOO_LARGE"
    assert error["error"]["details"]["max_bytes"] == LIMIT
    assert "SERGAS_SERVICE_MAX_BODY_BYTES" in error["error"]["message"]
    assert error["request_id"] == big.headers["X-Request-ID"]
    assert writes(tier_sandbox) == before + 1  # the small one only


async def test_a_chunked_body_is_cut_off_at_the_limit(
    client: httpx2.AsyncClient, keys: Keys, tier_sandbox: RunningSandbox
) -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(1000):  # 1 MB in 1 kB chunks, no Content-Length
            sent += 1
            yield b" " * 1000

    before = writes(tier_sandbox)
    response = await client.post(
        "/v1/accounts/search",
        content=chunks(),
        headers={**Keys.bearer(keys.read), "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "REQUEST_TOO_LARGE"
    assert sent < 10  # refused at the first chunk past the limit, not read to the end
    assert writes(tier_sandbox) == before


async def test_zohos_413_is_a_413(
    client: httpx2.AsyncClient, keys: Keys, tier_sandbox: RunningSandbox
) -> None:
    record_id = tier_sandbox.sandbox.store.ordered("Accounts")[40]["id"]
    tier_sandbox.set_faults(
        targeted=[{"path": "/crm/v8/Accounts", "method": "PUT", "status": 413, "count": 1}]
    )
    response = await client.patch(
        f"/v1/accounts/{record_id}",
        json={"data": {"Phone": "+1 555 0140"}},
        headers=Keys.bearer(keys.write),
    )
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "FILE_TOO_LARGE"


async def test_patching_a_missing_record_is_404(
    client: httpx2.AsyncClient, keys: Keys, tier_sandbox: RunningSandbox
) -> None:
    response = await client.patch(
        "/v1/accounts/1234567", json={"data": {"Phone": "1"}}, headers=Keys.bearer(keys.write)
    )
    assert response.status_code == 404, response.text
    body = response.json()
    assert body["error"]["code"] == "RESOURCE_NOT_FOUND"
    assert "1234567" in body["error"]["message"]
    missing = await client.get("/v1/accounts/1234567", headers=Keys.bearer(keys.read))
    assert missing.status_code == 404
