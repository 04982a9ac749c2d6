"""The manager over real tiers against a served sandbox: routing, failover, breakers, no
failover on business errors. Tiers are taken down with the sandbox's targeted faults."""

from __future__ import annotations

import pytest
from tests.manager.conftest import MakeManager
from tests.manager.support import FakeClock, calls, take_down

from sergas import errors
from sergas.manager import RoutingContext
from sergas.manager.prometheus import prometheus_metrics
from sergas.sandbox.server import RunningSandbox

REST = RoutingContext(preferred_tier="rest")


async def test_default_route_serves_from_the_first_tier(
    make_manager: MakeManager, tier_sandbox: RunningSandbox, account_id: str
) -> None:
    manager = make_manager()
    record = await manager.get_account(account_id)
    assert record["id"] == account_id
    metrics = manager.get_tier_metrics()
    first = "mcp" if metrics["mcp"]["enabled"] else "sdk" if metrics["sdk"]["enabled"] else "rest"
    assert metrics[first]["succeeded"] == 1
    assert sum(m.get("total", 0) for m in metrics.values()) == 1


async def test_mcp_down_fails_over_to_the_next_tier(
    make_manager: MakeManager, tier_sandbox: RunningSandbox, account_id: str
) -> None:
    manager = make_manager("mcp", "rest")
    direct = await manager.get_account(account_id, context=REST)
    take_down(tier_sandbox, "/mcp")

    record = await manager.get_account(account_id)

    assert record == direct
    metrics = manager.get_tier_metrics()
    assert metrics["mcp"]["tier_failures"] == 1
    assert metrics["mcp"]["top_errors"] == [{"code": "SERVICE_UNAVAILABLE", "count": 1}]
    assert metrics["mcp"]["failovers_from"] == 1
    assert metrics["rest"]["succeeded"] == 2
    assert manager.metrics is not None
    assert manager.metrics.failovers == {("mcp", "rest"): 1}


@pytest.mark.sdk
async def test_three_tier_chain_rest_to_sdk_to_mcp(
    make_manager: MakeManager, tier_sandbox: RunningSandbox, account_id: str
) -> None:
    """REST and the SDK both call /crm/v8; MCP does not. With REST preferred, MCP last by
    priority and the records API down, the call must pass through all three tiers."""
    manager = make_manager("mcp", "sdk", "rest", TIER1_MCP_PRIORITY=9)
    take_down(tier_sandbox, "/crm/v8/Accounts")

    record = await manager.get_account(account_id, context=REST)

    assert record["id"] == account_id
    assert manager.metrics is not None
    assert manager.metrics.failovers == {("rest", "sdk"): 1, ("sdk", "mcp"): 1}
    metrics = manager.get_tier_metrics()
    assert [metrics[t]["tier_failures"] for t in ("rest", "sdk", "mcp")] == [1, 1, 0]
    assert metrics["mcp"]["succeeded"] == 1


@pytest.mark.sdk
async def test_failover_mcp_to_sdk_to_rest(
    make_manager: MakeManager, tier_sandbox: RunningSandbox, account_id: str
) -> None:
    manager = make_manager("mcp", "sdk", "rest")
    tier_sandbox.set_faults(
        targeted=[
            {"path": "/mcp", "status": 503, "count": 100_000},
            {"path": "/crm/", "header": "X-ZOHO-SDK", "status": 503, "count": 100_000},
        ]
    )

    record = await manager.get_account(account_id)

    assert record["id"] == account_id
    assert manager.metrics is not None
    assert manager.metrics.failovers == {("mcp", "sdk"): 1, ("sdk", "rest"): 1}
    assert manager.get_tier_metrics()["rest"]["succeeded"] == 1


async def test_every_tier_down_raises_the_last_error(
    make_manager: MakeManager, tier_sandbox: RunningSandbox, account_id: str
) -> None:
    manager = make_manager("mcp", "rest")
    take_down(tier_sandbox, "/mcp", "/crm/")
    with pytest.raises(errors.ServerError):
        await manager.get_account(account_id)
    metrics = manager.get_tier_metrics()
    assert metrics["mcp"]["tier_failures"] == metrics["rest"]["tier_failures"] == 1


async def test_not_found_neither_fails_over_nor_trips_the_breaker(
    make_manager: MakeManager, tier_sandbox: RunningSandbox
) -> None:
    manager = make_manager("mcp", "rest")
    before = calls(tier_sandbox, "/crm/v8/Accounts/")
    for _ in range(8):  # more than the breaker's threshold
        with pytest.raises(errors.NotFoundError):
            await manager.get_account("1234567890123456")
    assert calls(tier_sandbox, "/crm/v8/Accounts/") == before  # REST never asked
    metrics = manager.get_tier_metrics()
    assert metrics["mcp"]["failed"] == 8
    assert metrics["mcp"]["tier_failures"] == 0
    assert metrics["mcp"]["failovers_from"] == 0
    assert metrics["mcp"]["circuit_breaker"]["state"] == "closed"
    assert metrics["mcp"]["circuit_breaker"]["failure_count"] == 0
    assert metrics["rest"]["total"] == 0


async def test_invalid_data_is_raised_from_the_tier_that_answered(
    make_manager: MakeManager, tier_sandbox: RunningSandbox, account_id: str
) -> None:
    manager = make_manager("rest")
    with pytest.raises(errors.InvalidDataError):
        await manager.update_account(account_id, {"Account_Status": "Exploding"})
    assert manager.get_tier_metrics()["rest"]["circuit_breaker"]["failure_count"] == 0


async def test_breaker_opens_then_recovers_on_the_clock(
    make_manager: MakeManager, tier_sandbox: RunningSandbox, account_id: str, clock: FakeClock
) -> None:
    manager = make_manager("mcp", "rest")
    take_down(tier_sandbox, "/mcp")
    for _ in range(5):
        await manager.get_account(account_id)  # served by REST each time
    assert manager.breaker("mcp").status()["state"] == "open"

    mcp_calls = calls(tier_sandbox, "/mcp")
    await manager.get_account(account_id)
    assert calls(tier_sandbox, "/mcp") == mcp_calls  # skipped while open

    tier_sandbox.set_faults(targeted=[])  # MCP is back
    clock.advance(60)
    assert manager.breaker("mcp").status()["state"] == "half_open"
    await manager.get_account(account_id)
    assert manager.breaker("mcp").status()["state"] == "half_open"
    await manager.get_account(account_id)
    assert manager.breaker("mcp").status()["state"] == "closed"
    assert manager.get_tier_metrics()["mcp"]["succeeded"] == 2

    exposition = prometheus_metrics().exposition().decode()
    assert 'sergas_circuit_breaker_state{tier="mcp"} 0.0' in exposition


async def test_half_open_failure_reopens(
    make_manager: MakeManager, tier_sandbox: RunningSandbox, account_id: str, clock: FakeClock
) -> None:
    manager = make_manager("mcp", "rest")
    take_down(tier_sandbox, "/mcp")
    for _ in range(5):
        await manager.get_account(account_id)
    clock.advance(60)
    await manager.get_account(account_id)  # the trial call fails: open again
    status = manager.breaker("mcp").status()
    assert (status["state"], status["times_opened"]) == ("open", 2)


async def test_without_failover_an_open_first_tier_rejects(
    make_manager: MakeManager, tier_sandbox: RunningSandbox, account_id: str
) -> None:
    manager = make_manager("mcp", "rest", ENABLE_FAILOVER=False, CIRCUIT_BREAKER_THRESHOLD=2)
    take_down(tier_sandbox, "/mcp")
    for _ in range(2):
        with pytest.raises(errors.ServerError):
            await manager.get_account(account_id)
    with pytest.raises(errors.CircuitOpenError, match="mcp: circuit open"):
        await manager.get_account(account_id)
    metrics = manager.get_tier_metrics()
    assert metrics["mcp"]["rejected"] == 1
    assert metrics["rest"]["total"] == 0


async def test_reset_circuit_breakers(
    make_manager: MakeManager, tier_sandbox: RunningSandbox, account_id: str
) -> None:
    manager = make_manager("mcp", "rest")
    take_down(tier_sandbox, "/mcp")
    for _ in range(5):
        await manager.get_account(account_id)
    assert manager.breaker("mcp").is_open()
    manager.reset_circuit_breakers()
    assert manager.get_tier_metrics()["mcp"]["circuit_breaker"]["state"] == "closed"


async def test_all_breakers_open_rejects_at_once(
    make_manager: MakeManager, tier_sandbox: RunningSandbox, account_id: str
) -> None:
    manager = make_manager("rest", CIRCUIT_BREAKER_THRESHOLD=1)
    take_down(tier_sandbox, "/crm/")
    with pytest.raises(errors.ServerError):
        await manager.get_account(account_id)
    sent = calls(tier_sandbox, "/crm/")
    with pytest.raises(errors.CircuitOpenError, match="every enabled tier's circuit is open"):
        await manager.get_account(account_id)
    assert calls(tier_sandbox, "/crm/") == sent


async def test_tier_deadline_is_a_tier_health_timeout(
    make_manager: MakeManager, tier_sandbox: RunningSandbox, account_id: str
) -> None:
    manager = make_manager("rest", TIER3_REST_TIMEOUT=0.05)
    tier_sandbox.set_faults(latency_ms=300, paths=["/crm/"])
    with pytest.raises(errors.TimeoutError, match=r"longer than 0\.05s"):
        await manager.get_account(account_id)
    tier_sandbox.set_faults(latency_ms=0)
    metrics = manager.get_tier_metrics()
    assert metrics["rest"]["top_errors"] == [{"code": "TIMEOUT", "count": 1}]
    assert metrics["rest"]["circuit_breaker"]["failure_count"] == 1
