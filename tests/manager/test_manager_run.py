"""Whole runs of the manager against a served sandbox: concurrency, correlation ids, logs
without secrets, health, and the Prometheus series they leave behind."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator

import httpx2
import pytest
import structlog
from prometheus_client.parser import text_string_to_metric_families
from tests.manager.conftest import MakeManager
from tests.manager.support import take_down

from sergas import errors
from sergas.auth import TokenManager
from sergas.log import configure_logging, correlation_scope
from sergas.manager import IntegrationConfig, RoutingContext, ZohoIntegrationManager
from sergas.manager.prometheus import prometheus_metrics
from sergas.query import F
from sergas.sandbox.config import CLIENT_SECRET, REFRESH_TOKEN
from sergas.sandbox.server import RunningSandbox
from sergas.settings import Settings
from sergas.tiers.rest import ZohoRESTClient


def prom_value(name: str, **labels: str) -> float:
    text = prometheus_metrics().exposition().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


async def test_thousand_concurrent_calls_keep_counters_consistent(
    make_manager: MakeManager, tier_sandbox: RunningSandbox
) -> None:
    manager = make_manager("rest")
    ids = [r["id"] for r in tier_sandbox.sandbox.store.ordered("Accounts")[:90]]
    missing = [str(9_000_000_000_000_000 + i) for i in range(10)]
    wanted = [(ids + missing)[i % 100] for i in range(1000)]  # 900 found, 100 not

    results = await asyncio.gather(
        *(manager.get_account(rid) for rid in wanted), return_exceptions=True
    )

    found = [r for r in results if isinstance(r, dict)]
    assert len(found) == 900
    assert all(isinstance(r, errors.NotFoundError) for r in results if not isinstance(r, dict))
    rest = manager.get_tier_metrics()["rest"]
    assert (rest["total"], rest["succeeded"], rest["failed"]) == (1000, 900, 100)
    assert rest["top_errors"] == [{"code": "RESOURCE_NOT_FOUND", "count": 100}]
    assert rest["recent"] == 1000
    assert rest["credits"] == 900
    labels = {"tier": "rest", "operation": "get_account"}
    assert prom_value("sergas_requests_total", outcome="success", **labels) == 900
    assert prom_value("sergas_requests_total", outcome="error", **labels) == 100
    assert prom_value("sergas_request_duration_seconds_count", **labels) == 1000
    stats = tier_sandbox.stats()
    assert stats["calls"]["GET /crm/v8/Accounts/{id}"] == 1000


class RecordingTransport(httpx2.AsyncBaseTransport):
    """A real HTTP transport that notes each request's correlation header on the way out."""

    def __init__(self) -> None:
        self.inner = httpx2.AsyncHTTPTransport()
        self.seen: list[tuple[str, str | None]] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.seen.append((request.url.path, request.headers.get("X-Correlation-ID")))
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_one_correlation_id_per_operation_reaches_the_wire(
    tier_settings: Settings, tokens: TokenManager, tier_sandbox: RunningSandbox
) -> None:
    transport = RecordingTransport()
    manager = ZohoIntegrationManager(
        {"rest": ZohoRESTClient(tier_settings, tokens, transport=transport)}, IntegrationConfig()
    )
    ids = [r["id"] for r in tier_sandbox.sandbox.store.ordered("Accounts")[:3]]
    try:
        for rid in ids:
            await manager.get_account(rid)
        await manager.search_accounts(F("Account_Status") == "Healthy", limit=5)
        with correlation_scope("request-42"):  # a caller's id (a service request) is kept
            await manager.get_account(ids[0])
    finally:
        await manager.aclose()
    sent = [(path, cid) for path, cid in transport.seen if path.startswith("/crm/v8/Accounts")]
    assert len(sent) == 5
    assert all(cid for _, cid in sent)
    assert len({cid for _, cid in sent[:4]}) == 4  # one id per operation
    assert sent[4][1] == "request-42"


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("json", "DEBUG", stream)
    yield stream
    structlog.reset_defaults()


async def test_a_full_run_logs_no_secret(
    make_manager: MakeManager,
    tier_sandbox: RunningSandbox,
    account_id: str,
    log_stream: io.StringIO,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Refresh, reads, a write, a failover, a business error, an expired token, health."""
    caplog.set_level(logging.DEBUG)
    manager = make_manager()
    await manager.get_account(account_id)
    await manager.get_accounts(limit=5)
    await manager.search_accounts(F("Account_Status") == "Healthy", limit=5)
    await manager.coql("select Account_Name from Accounts where Health_Score > 50 limit 5")
    await manager.update_account(account_id, {"Health_Score": 77})
    with pytest.raises(errors.NotFoundError):
        await manager.get_account("9000000000000001")
    tier_sandbox.advance(3700)  # every access token expires: the auth hook refreshes once
    await manager.get_account(account_id, context=RoutingContext(preferred_tier="rest"))
    take_down(tier_sandbox, "/mcp")
    await manager.get_account(account_id)  # fails over
    await manager.get_tier_health()

    issued = list(tier_sandbox.sandbox.oauth.access_tokens)
    assert len(issued) >= 2
    secrets = [*issued, REFRESH_TOKEN, CLIENT_SECRET]
    output = log_stream.getvalue() + "\n".join(r.getMessage() for r in caplog.records)
    assert "correlation_id" in output
    assert "refreshed" in output
    for secret in secrets:
        assert secret not in output


async def test_health_checks_are_measured_but_leave_the_breakers_alone(
    make_manager: MakeManager, tier_sandbox: RunningSandbox
) -> None:
    manager = make_manager("mcp", "rest", CIRCUIT_BREAKER_THRESHOLD=1)
    take_down(tier_sandbox, "/mcp")
    health = await manager.get_tier_health()
    assert health["mcp"]["healthy"] is False
    assert "SERVICE_UNAVAILABLE" in health["mcp"]["detail"]
    assert health["rest"]["healthy"] is True
    assert health["sdk"]["enabled"] is False
    assert health["mcp"]["circuit_breaker"]["state"] == "closed"
    metrics = manager.get_tier_metrics()
    assert metrics["mcp"]["tier_failures"] == 1
    assert metrics["rest"]["succeeded"] == 1


async def test_every_operation_through_the_routed_tier(
    make_manager: MakeManager, tier_sandbox: RunningSandbox
) -> None:
    manager = make_manager()
    ids = [r["id"] for r in tier_sandbox.sandbox.store.ordered("Accounts")[:12]]
    assert len(await manager.get_accounts(limit=5, fields=["Account_Name"])) == 5
    found = await manager.search_accounts(F("Account_Status") == "Healthy", limit=5)
    assert all(r["Account_Status"] == "Healthy" for r in found)
    rows = await manager.coql(
        "select Account_Name from Accounts where Account_Name is not null limit 3"
    )
    assert len(rows) == 3
    written = await manager.bulk_update_accounts([{"id": i, "Health_Score": 42} for i in ids])
    assert written.ok and [r.id for r in written.results] == ids
    read = await manager.bulk_read_accounts(
        criteria=F("Health_Score") == 42, fields=["Health_Score"]
    )
    assert {r["id"] for r in read} >= set(ids)
    metrics = manager.get_tier_metrics()
    assert metrics["sdk"]["succeeded"] >= 2  # bulk operations go to the SDK (routing rule 3)
    assert sum(m.get("succeeded", 0) for m in metrics.values()) == 5
    assert sum(m.get("failed", 0) for m in metrics.values()) == 0
