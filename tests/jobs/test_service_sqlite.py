"""/v1/jobs on a SQLite database: one clear 503, the rest of the service unaffected."""

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


async def test_jobs_answer_503_saying_they_need_postgresql(
    client: httpx2.AsyncClient, keys: Keys
) -> None:
    for method, path in (("GET", "/v1/jobs"), ("POST", "/v1/jobs"), ("GET", "/v1/jobs/1")):
        body = {"task": "sweep"} if method == "POST" else None
        response = await client.request(method, path, json=body, headers=Keys.bearer(keys.write))
        assert response.status_code == 503, path
        error = response.json()["error"]
        assert error["code"] == "JOBS_UNAVAILABLE"
        assert (
            "jobs need PostgreSQL" in error["message"] and "SERGAS_DATABASE_URL" in error["message"]
        )
    assert (await client.get("/healthz")).status_code == 200
