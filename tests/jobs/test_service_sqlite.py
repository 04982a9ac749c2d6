"""On a SQLite database (no queue) the service has no /v1/jobs; the rest is unaffected."""

from __future__ import annotations

import httpx2
from tests.service.conftest import (
    app,
    client,
    fresh_prometheus,
    keys,
    runtime,
    served_sandbox,
    settings_for,
    tier_db_url,
    tier_engine,
    tier_sandbox,
    tier_settings,
    tokens,
)
from tests.service.support import Keys

__all__ = [
    "app",
    "client",
    "fresh_prometheus",
    "keys",
    "runtime",
    "served_sandbox",
    "settings_for",
    "tier_db_url",
    "tier_engine",
    "tier_sandbox",
    "tier_settings",
    "tokens",
]


async def test_there_is_no_v1_jobs_without_postgresql(
    client: httpx2.AsyncClient, keys: Keys
) -> None:
    for method, path in (("GET", "/v1/jobs"), ("POST", "/v1/jobs"), ("GET", "/v1/jobs/1")):
        body = {"task": "sweep"} if method == "POST" else None
        response = await client.request(method, path, json=body, headers=Keys.bearer(keys.write))
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "NOT_FOUND"
    described = (await client.get("/openapi.json")).json()
    assert not [p for p in described["paths"] if p.startswith("/v1/jobs")]
    assert "/v1/accounts" in described["paths"]
    assert (await client.get("/healthz")).status_code == 200
