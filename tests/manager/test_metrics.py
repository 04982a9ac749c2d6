"""Metrics in memory and in Prometheus's text format, fed with known events."""

from __future__ import annotations

import random
import statistics
import threading

import pytest
from prometheus_client.parser import text_string_to_metric_families

from sergas.manager.events import BreakerStateEvent, CallEvent, CreditsEvent, FailoverEvent
from sergas.manager.metrics import HISTORY, MetricsCollector, percentile
from sergas.manager.prometheus import PrometheusMetrics, prometheus_metrics


def test_percentiles_of_one_to_a_hundred() -> None:
    samples = [float(i) for i in range(1, 101)]
    assert percentile(samples, 50) == pytest.approx(50.5)
    assert percentile(samples, 95) == pytest.approx(95.05)
    assert percentile(samples, 99) == pytest.approx(99.01)
    assert percentile(samples, 0) == 1.0
    assert percentile(samples, 100) == 100.0


def test_percentiles_match_the_standard_library() -> None:
    rng = random.Random(7)
    samples = sorted(rng.uniform(0.001, 2.0) for _ in range(537))
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    for q in (50, 95, 99):
        assert percentile(samples, q) == pytest.approx(cuts[q - 1])


def test_percentile_edges() -> None:
    assert percentile([], 50) is None
    assert percentile([4.0], 99) == 4.0
    with pytest.raises(ValueError, match="between 0 and 100"):
        percentile([1.0], 101)


def test_tier_snapshot_from_known_calls() -> None:
    metrics = MetricsCollector()
    for ms in range(1, 101):  # 1..100 ms, every tenth a business error
        code = "RESOURCE_NOT_FOUND" if ms % 10 == 0 else None
        metrics(CallEvent("rest", "get_account", "error" if code else "success", ms / 1000, code))
    metrics(CallEvent("rest", "get_account", "failure", 0.2, "INTERNAL_ERROR"))
    metrics(CallEvent("rest", "get_account", "rejected", 0.0, "CIRCUIT_OPEN"))
    metrics(FailoverEvent("get_account", "rest", "mcp", "INTERNAL_ERROR"))
    metrics(CreditsEvent("rest", "get_account", 1))
    metrics(BreakerStateEvent("rest", "open", "closed"))

    rest = metrics.snapshot()["rest"]
    assert rest["total"] == 101
    assert rest["succeeded"] == 90
    assert rest["failed"] == 11
    assert rest["tier_failures"] == 1
    assert rest["rejected"] == 1
    assert rest["success_rate"] == pytest.approx(90 / 101)
    durations = sorted([ms / 1000 for ms in range(1, 101)] + [0.2])
    assert rest["avg_ms"] == pytest.approx(sum(durations) / 101 * 1000, abs=1e-3)
    assert rest["p50_ms"] == pytest.approx(percentile(durations, 50) * 1000)  # type: ignore[operator]
    assert rest["p99_ms"] == pytest.approx(percentile(durations, 99) * 1000)  # type: ignore[operator]
    assert rest["top_errors"] == [
        {"code": "RESOURCE_NOT_FOUND", "count": 10},
        {"code": "INTERNAL_ERROR", "count": 1},
        {"code": "CIRCUIT_OPEN", "count": 1},
    ]
    assert rest["failovers_from"] == 1
    assert rest["credits"] == 1
    assert rest["breaker_state"] == "open"
    assert metrics.snapshot()["mcp"]["total"] == 0
    assert metrics.snapshot()["mcp"]["success_rate"] is None


def test_history_is_bounded() -> None:
    metrics = MetricsCollector()
    for i in range(HISTORY + 250):
        metrics(CallEvent("sdk", "get_accounts", "success", i / 1e6))
    history = metrics.history("sdk")
    assert len(history) == HISTORY
    assert history[0]["duration"] == pytest.approx(250 / 1e6)
    assert metrics.snapshot()["sdk"]["total"] == HISTORY + 250


def test_reset_keeps_breaker_states() -> None:
    metrics = MetricsCollector()
    metrics(CallEvent("mcp", "coql", "success", 0.01))
    metrics(BreakerStateEvent("mcp", "half_open", "open"))
    metrics.reset()
    assert metrics.snapshot()["mcp"]["total"] == 0
    assert metrics.snapshot()["mcp"]["breaker_state"] == "half_open"


def test_collector_counts_are_consistent_under_threads() -> None:
    metrics = MetricsCollector()

    def work(tier: str) -> None:
        for i in range(5_000):
            metrics(CallEvent(tier, "get_account", "success" if i % 2 else "failure", 0.001))  # type: ignore[arg-type]

    threads = [threading.Thread(target=work, args=(t,)) for t in ("rest", "sdk") * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for tier in ("rest", "sdk"):
        snap = metrics.snapshot()[tier]
        assert snap["total"] == 20_000
        assert snap["succeeded"] == snap["tier_failures"] == 10_000


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample in an exposition, keyed by name and sorted labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_prometheus_output_parses_back() -> None:
    prom = PrometheusMetrics()
    for ms in (1, 4, 30, 700):
        prom(CallEvent("rest", "get_account", "success", ms / 1000))
    prom(CallEvent("rest", "get_account", "failure", 0.05, "INTERNAL_ERROR"))
    prom(CallEvent("mcp", "get_account", "rejected", 0.0, "CIRCUIT_OPEN"))
    prom(BreakerStateEvent("mcp", "open", "closed"))
    prom(BreakerStateEvent("sdk", "half_open", "open"))
    prom(FailoverEvent("get_account", "mcp", "rest", "CIRCUIT_OPEN"))
    prom(CreditsEvent("rest", "get_account", 4))

    got = samples(prom.exposition().decode())
    ops = (("operation", "get_account"),)
    assert got[("sergas_requests_total", (*ops, ("outcome", "success"), ("tier", "rest")))] == 4
    assert got[("sergas_requests_total", (*ops, ("outcome", "failure"), ("tier", "rest")))] == 1
    assert got[("sergas_requests_total", (*ops, ("outcome", "rejected"), ("tier", "mcp")))] == 1
    hist = (*ops, ("tier", "rest"))
    assert got[("sergas_request_duration_seconds_count", hist)] == 5
    assert got[("sergas_request_duration_seconds_sum", hist)] == pytest.approx(0.785)
    assert got[("sergas_request_duration_seconds_bucket", (("le", "0.005"), *hist))] == 2
    assert got[("sergas_request_duration_seconds_bucket", (("le", "0.05"), *hist))] == 4
    assert ("sergas_request_duration_seconds_count", (*ops, ("tier", "mcp"))) not in got
    assert got[("sergas_circuit_breaker_state", (("tier", "mcp"),))] == 2
    assert got[("sergas_circuit_breaker_state", (("tier", "sdk"),))] == 1
    key = (("from_tier", "mcp"), *ops, ("to_tier", "rest"))
    assert got[("sergas_failovers_total", key)] == 1
    assert got[("sergas_errors_total", (("code", "INTERNAL_ERROR"), ("tier", "rest")))] == 1
    assert got[("sergas_zoho_credits_total", (*ops, ("tier", "rest")))] == 4
    assert all(name.startswith("sergas_") for name, _ in got)


def test_process_wide_instance_is_shared_until_reset() -> None:
    from sergas.manager.prometheus import reset_prometheus_metrics

    first = prometheus_metrics()
    assert prometheus_metrics() is first
    first(CallEvent("rest", "coql", "success", 0.01))
    reset_prometheus_metrics()
    assert prometheus_metrics() is not first
    assert b"sergas_requests_total{" not in prometheus_metrics().exposition()
