"""Credits, concurrency caps, fault injection and the /__sandbox control plane."""

from __future__ import annotations

import asyncio
import hashlib
import time
from pathlib import Path

import httpx2
import pytest
from tests.helpers import authed_client, reauthorize

from sergas.sandbox.config import SandboxConfig
from sergas.sandbox.http.app import create_app
from sergas.sandbox.server import RunningSandbox, serve_sandbox

LIST = {"fields": "Account_Name", "per_page": 1}


async def test_credit_budget_exhaustion_is_429_and_frees_after_24h() -> None:
    app = create_app(SandboxConfig(accounts=20, credits=3, base_url="http://sb"))
    async with authed_client(app) as client:
        for _ in range(3):
            assert (await client.get("/crm/v8/Accounts", params=LIST)).status_code == 200
        response = await client.get("/crm/v8/Accounts", params=LIST)
        assert response.status_code == 429
        assert response.json()["code"] == "TOO_MANY_REQUESTS"
        assert response.headers["X-API-CREDITS-REMAINING"] == "0"
        stats = (await client.get("/__sandbox/stats")).json()
        assert stats["credits"] == {"used": 3, "remaining": 0, "budget": 3, "total_used": 3}
        assert stats["rejected_429"] == 1
        await client.post("/__sandbox/clock", json={"advance_seconds": 86_400})
        await reauthorize(client)  # the access token expired with the clock move
        assert (await client.get("/crm/v8/Accounts", params=LIST)).status_code == 200


def test_edition_budgets() -> None:
    assert SandboxConfig(edition="enterprise", users=20).credit_budget == 70_000
    assert SandboxConfig(edition="free").credit_budget == 5_000
    assert SandboxConfig(edition="standard", users=1000).credit_budget == 100_000
    assert SandboxConfig(edition="professional").concurrency_cap == 15
    with pytest.raises(ValueError, match="unknown edition"):
        SandboxConfig(edition="platinum")


async def test_org_concurrency_cap() -> None:
    app = create_app(
        SandboxConfig(accounts=20, edition="free", latency_ms=200, base_url="http://sb")
    )
    async with authed_client(app) as client:
        responses = await asyncio.gather(
            *(client.get("/crm/v8/Accounts", params=LIST) for _ in range(8))
        )
        codes = sorted(r.status_code for r in responses)
        assert codes == [200] * 5 + [429] * 3
        stats = (await client.get("/__sandbox/stats")).json()
        assert stats["peak_concurrency"] == 5 and stats["rejected_429"] == 3
        assert stats["in_flight"] == 0


async def test_sub_concurrency_cap_on_coql() -> None:
    app = create_app(SandboxConfig(accounts=20, latency_ms=200, base_url="http://sb"))
    query = {"select_query": "select Account_Name from Accounts limit 5"}
    async with authed_client(app) as client:
        responses = await asyncio.gather(
            *(client.post("/crm/v8/coql", json=query) for _ in range(14))
        )
        codes = sorted(r.status_code for r in responses)
        assert codes == [200] * 10 + [429] * 4
        assert (await client.get("/__sandbox/stats")).json()["peak_heavy_concurrency"] == 10


async def test_latency_is_injected() -> None:
    app = create_app(SandboxConfig(accounts=20, base_url="http://sb"))
    async with authed_client(app) as client:
        await client.post("/__sandbox/faults", json={"latency_ms": 120})
        started = time.perf_counter()
        await client.get("/crm/v8/Accounts", params=LIST)
        assert time.perf_counter() - started >= 0.12


async def test_targeted_fault_fails_next_n_calls(crm_client: httpx2.AsyncClient) -> None:
    await crm_client.post(
        "/__sandbox/faults",
        json={
            "targeted": [{"path": "/crm/v8/Accounts", "method": "GET", "status": 503, "count": 2}]
        },
    )
    codes = [(await crm_client.get("/crm/v8/Accounts", params=LIST)).status_code for _ in range(3)]
    assert codes == [503, 503, 200]
    assert (await crm_client.get("/__sandbox/stats")).json()["faults_injected"] == 2


async def test_targeted_fault_can_require_a_header(crm_client: httpx2.AsyncClient) -> None:
    fault = {"path": "/crm/", "header": "X-ZOHO-SDK", "status": 503, "count": 5}
    echoed = (await crm_client.post("/__sandbox/faults", json={"targeted": [fault]})).json()
    assert echoed["targeted"][0]["header"] == "X-ZOHO-SDK"
    assert (await crm_client.get("/crm/v8/org")).status_code == 200
    sdk_call = await crm_client.get("/crm/v8/org", headers={"x-zoho-sdk": "linux/python-8.0"})
    assert sdk_call.status_code == 503


async def test_error_rates_are_seeded_and_roughly_right(crm_client: httpx2.AsyncClient) -> None:
    await crm_client.post(
        "/__sandbox/faults", json={"error_rates": {"500": 0.3}, "paths": ["/crm/"], "seed": 1}
    )
    codes = [(await crm_client.get("/crm/v8/org")).status_code for _ in range(200)]
    failures = codes.count(500)
    assert 30 <= failures <= 90 and set(codes) == {200, 500}
    assert (await crm_client.post("/oauth/v2/token")).status_code == 200  # outside `paths`


@pytest.mark.parametrize(
    "body",
    [
        {"error_rates": {"500": 2}},
        {"latency_ms": -1},
        {"nonsense": 1},
        {"targeted": [{"path": "/x", "status": "explode"}]},
    ],
)
async def test_bad_fault_settings_are_400(crm_client: httpx2.AsyncClient, body: object) -> None:
    response = await crm_client.post("/__sandbox/faults", json=body)
    assert response.status_code == 400


def test_dropped_connection_and_hang_over_real_socket(sandbox: RunningSandbox) -> None:
    headers = {"Authorization": f"Zoho-oauthtoken {sandbox.access_token()}"}
    sandbox.set_faults(
        targeted=[
            {"path": "/crm/v8/org", "status": "drop", "count": 1},
            {"path": "/crm/v8/users", "status": "hang", "count": 1},
        ],
        hang_seconds=5,
    )
    with httpx2.Client(base_url=sandbox.url, headers=headers) as client:
        with pytest.raises(httpx2.RemoteProtocolError):
            client.get("/crm/v8/org")
        with pytest.raises(httpx2.ReadTimeout):
            client.get("/crm/v8/users", timeout=0.3)
        assert client.get("/crm/v8/org").status_code == 200


async def test_reset_restores_seeded_state(crm_client: httpx2.AsyncClient) -> None:
    record_id = (await crm_client.get("/crm/v8/Accounts", params=LIST)).json()["data"][0]["id"]
    before = (await crm_client.get(f"/crm/v8/Accounts/{record_id}")).json()
    await crm_client.put("/crm/v8/Accounts", json={"data": [{"id": record_id, "Employees": 1}]})
    await crm_client.post("/__sandbox/faults", json={"latency_ms": 5})
    await crm_client.post("/__sandbox/reset")
    # tokens are gone after a reset
    assert (await crm_client.get("/crm/v8/org")).status_code == 401
    stats = (await crm_client.get("/__sandbox/stats")).json()
    assert stats["credits"]["used"] == 0 and stats["records_written"] == {}
    assert (await crm_client.get("/__sandbox/faults")).json()["latency_ms"] == 0
    await reauthorize(crm_client)
    assert (await crm_client.get(f"/crm/v8/Accounts/{record_id}")).json() == before


async def test_clock_only_moves_forward(crm_client: httpx2.AsyncClient) -> None:
    response = await crm_client.post("/__sandbox/clock", json={"advance_seconds": -5})
    assert response.status_code == 400


def test_state_file_survives_restart(tmp_path: Path) -> None:
    state = tmp_path / "crm.sqlite"
    config = SandboxConfig(accounts=50, state_file=state)
    with serve_sandbox(config) as first:
        headers = {"Authorization": f"Zoho-oauthtoken {first.access_token()}"}
        body = httpx2.get(first.url + "/crm/v8/Accounts", params=LIST, headers=headers).json()
        record_id = body["data"][0]["id"]
        written = httpx2.put(
            first.url + "/crm/v8/Accounts",
            headers=headers,
            json={"data": [{"id": record_id, "Health_Score": 42}]},
        )
        assert written.status_code == 200
        assert first.sandbox.seeded_from_file is False
    with serve_sandbox(config) as second:
        assert second.sandbox.seeded_from_file is True
        headers = {"Authorization": f"Zoho-oauthtoken {second.access_token()}"}
        record = httpx2.get(f"{second.url}/crm/v8/Accounts/{record_id}", headers=headers).json()
        assert record["data"][0]["Health_Score"] == 42
        assert second.stats()["records"]["Accounts"] == 50


async def test_stats_count_calls_per_route_template(crm_client: httpx2.AsyncClient) -> None:
    page = (await crm_client.get("/crm/v8/Accounts", params=LIST)).json()
    record_id = page["data"][0]["id"]
    await crm_client.get(f"/crm/v8/Accounts/{record_id}")
    await crm_client.get("/crm/v8/Contacts", params={"fields": "Email", "per_page": 1})
    await crm_client.post("/crm/v8/coql", json={"select_query": "select id from Deals"})
    read = {"query": {"module": {"api_name": "Accounts"}}}
    job = (await crm_client.post("/crm/bulk/v8/read", json=read)).json()["data"][0]
    await crm_client.get(f"/crm/bulk/v8/read/{job['details']['id']}")
    await crm_client.get("/crm/v8/nowhere/at/all/in/this/sandbox")
    stats = (await crm_client.get("/__sandbox/stats")).json()
    assert stats["endpoints"] == {
        "POST /oauth/v2/token": 1,
        "GET /crm/v8/{module}": 2,
        "GET /crm/v8/{module}/{id}": 1,
        "POST /crm/v8/coql": 1,
        "POST /crm/bulk/v8/read": 1,
        "GET /crm/bulk/v8/read/{id}": 1,
    }
    # `calls` keeps the paths themselves (ids collapsed), unmatched ones included.
    assert stats["calls"]["GET /crm/v8/Contacts"] == 1
    assert stats["calls"]["GET /crm/v8/Accounts/{id}"] == 1
    assert stats["calls"]["GET /crm/v8/nowhere/at/all/in/this/sandbox"] == 1
    assert stats["total_calls"] == 8
    # The serving process's CPU time, for benchmarks: it grows as the sandbox works.
    await crm_client.post("/crm/v8/coql", json={"select_query": "select id from Deals"})
    later = (await crm_client.get("/__sandbox/stats")).json()
    assert later["process_cpu_seconds"] > stats["process_cpu_seconds"] > 0


async def test_stats_count_concurrency_per_client() -> None:
    """A client is named by X-Sergas-Client, else by its access token's fingerprint."""
    app = create_app(SandboxConfig(accounts=20, latency_ms=100, base_url="http://sb"))
    async with authed_client(app) as client:
        token = client.headers["Authorization"].split()[1]
        named = {"X-Sergas-Client": "worker-1"}
        await asyncio.gather(
            *(client.get("/crm/v8/org", headers=named) for _ in range(3)),
            *(client.get("/crm/v8/org") for _ in range(2)),
        )
        await client.get("/crm/v8/org", headers=named)
        stats = (await client.get("/__sandbox/stats")).json()
    anonymous = "token:" + hashlib.sha256(token.encode()).hexdigest()[:12]
    assert stats["clients"] == {
        anonymous: {"calls": 2, "in_flight": 0, "peak_concurrency": 2, "rejected_429": 0},
        "worker-1": {"calls": 4, "in_flight": 0, "peak_concurrency": 3, "rejected_429": 0},
    }
    assert stats["peak_concurrency"] == 5


async def test_client_over_the_org_cap_is_refused_and_counted() -> None:
    app = create_app(
        SandboxConfig(accounts=20, edition="free", latency_ms=200, base_url="http://sb")
    )
    async with authed_client(app) as client:
        responses = await asyncio.gather(
            *(client.get("/crm/v8/org", headers={"X-Sergas-Client": "a"}) for _ in range(4)),
            *(client.get("/crm/v8/org", headers={"X-Sergas-Client": "b"}) for _ in range(4)),
        )
        stats = (await client.get("/__sandbox/stats")).json()
    assert sorted(r.status_code for r in responses) == [200] * 5 + [429] * 3
    clients = stats["clients"]
    assert clients["a"]["peak_concurrency"] + clients["b"]["peak_concurrency"] == 5
    assert clients["a"]["rejected_429"] + clients["b"]["rejected_429"] == 3
