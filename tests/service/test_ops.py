"""Operations: health and readiness, Prometheus metrics parsed back, tiers, request ids,
OpenAPI."""

from __future__ import annotations

import httpx2
from prometheus_client.parser import text_string_to_metric_families
from tests.manager.support import take_down
from tests.service.support import Keys, captured_logs

from sergas.sandbox.server import RunningSandbox


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_healthz_needs_nothing(client: httpx2.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_readyz_follows_the_database_and_the_tiers(
    client: httpx2.AsyncClient, tier_sandbox: RunningSandbox
) -> None:
    ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["status"] == "ready" and body["database"] is True
    assert body["tiers"]["rest"]["usable"] is True
    assert body["tiers"]["mcp"] == {
        "enabled": False,
        "configured": True,
        "healthy": None,
        "breaker_open": False,
        "reads": False,
        "usable": False,
        "detail": "",
    }
    take_down(tier_sandbox, "/crm/v8/")
    down = await client.get("/readyz")
    assert down.status_code == 503
    assert down.json()["status"] == "not ready"
    assert down.json()["tiers"]["rest"]["healthy"] is False


async def test_metrics_parse_back(
    client: httpx2.AsyncClient, keys: Keys, tier_sandbox: RunningSandbox
) -> None:
    record_id = tier_sandbox.sandbox.store.ordered("Accounts")[0]["id"]
    for _ in range(3):
        await client.get(f"/v1/accounts/{record_id}", headers=Keys.bearer(keys.read))
    await client.get("/v1/accounts/1", headers=Keys.bearer(keys.read))  # 404 from Zoho
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = samples(response.text)

    def value(name: str, **labels: str) -> float:
        return found.get((name, frozenset(labels.items())), 0.0)

    ok = {"tier": "rest", "operation": "get_account"}
    assert value("sergas_requests_total", outcome="success", **ok) == 3
    assert value("sergas_requests_total", outcome="error", **ok) == 1
    assert value("sergas_errors_total", tier="rest", code="RESOURCE_NOT_FOUND") == 1
    route = {"method": "GET", "route": "/v1/accounts/{record_id}"}
    assert value("sergas_http_requests_total", status="200", **route) == 3
    assert value("sergas_http_requests_total", status="404", **route) == 1
    assert value("sergas_http_request_duration_seconds_count", **route) == 4
    assert value("sergas_circuit_breaker_state", tier="rest") == 0
    # No label carries a record id.
    assert record_id not in response.text


async def test_tiers_health_metrics_and_reset(client: httpx2.AsyncClient, keys: Keys) -> None:
    health = await client.get("/v1/tiers/health", headers=Keys.bearer(keys.read))
    assert health.status_code == 200
    assert health.json()["tiers"]["rest"]["healthy"] is True
    metrics = await client.get("/v1/tiers/metrics", headers=Keys.bearer(keys.read))
    assert metrics.json()["tiers"]["rest"]["circuit_breaker"]["state"] == "closed"
    reset = await client.post(
        "/v1/tiers/reset", json={"tier": "rest"}, headers=Keys.bearer(keys.write)
    )
    assert reset.status_code == 200, reset.text
    assert reset.json()["reset"] == ["rest"]
    everything = await client.post("/v1/tiers/reset", headers=Keys.bearer(keys.write))
    assert everything.json()["reset"] == ["mcp", "sdk", "rest"]
    bad = await client.post(
        "/v1/tiers/reset", json={"tier": "carrier-pigeon"}, headers=Keys.bearer(keys.write)
    )
    assert bad.status_code == 422


async def test_request_ids_in_and_out_and_in_the_logs(
    client: httpx2.AsyncClient, keys: Keys
) -> None:
    with captured_logs() as logs:
        mine = await client.get("/healthz", headers={"X-Request-ID": "trace-42.a"})
        spoofed = await client.get("/healthz", headers={"X-Request-ID": "bad id\nwith lines"})
        fresh = await client.get("/healthz")
    assert mine.headers["X-Request-ID"] == "trace-42.a"
    assert spoofed.headers["X-Request-ID"] != "bad id\nwith lines"
    assert len(fresh.headers["X-Request-ID"]) == 32
    assert spoofed.headers["X-Request-ID"] != fresh.headers["X-Request-ID"]
    lines = [e for e in logs if e["event"] == "request"]
    assert [e["request_id"] for e in lines] == [
        "trace-42.a",
        spoofed.headers["X-Request-ID"],
        fresh.headers["X-Request-ID"],
    ]
    assert all(e["route"] == "/healthz" and e["status"] == 200 for e in lines)


async def test_unknown_paths_and_methods_use_the_error_shape(client: httpx2.AsyncClient) -> None:
    missing = await client.get("/v2/nothing")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "NOT_FOUND"
    assert missing.json()["request_id"] == missing.headers["X-Request-ID"]
    wrong = await client.delete("/v1/accounts")
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


async def test_openapi_describes_the_api(client: httpx2.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    paths = spec["paths"]
    assert {
        "/v1/accounts",
        "/v1/accounts/{record_id}",
        "/v1/accounts/search",
        "/v1/accounts/bulk-update",
        "/v1/tiers/reset",
        "/readyz",
        "/metrics",
    } <= set(paths)
    assert spec["components"]["securitySchemes"]["api_key"]["scheme"] == "bearer"
    search = paths["/v1/accounts/search"]["post"]["requestBody"]["content"]["application/json"]
    assert search["schema"]["$ref"].endswith("/SearchRequest")
    assert (await client.get("/docs")).status_code == 200
