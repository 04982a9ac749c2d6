"""Prometheus exposition of the manager's events, on a registry of its own.

Series (all prefixed `sergas_`, labels bounded):

- `sergas_requests_total{tier,operation,outcome}` — outcome: success, error, failure, rejected
- `sergas_request_duration_seconds{tier,operation}` — a histogram of calls actually sent
- `sergas_circuit_breaker_state{tier}` — 0 closed, 1 half-open, 2 open
- `sergas_failovers_total{operation,from_tier,to_tier}`
- `sergas_errors_total{tier,code}` — Zoho's (or Sergas's) error code
- `sergas_zoho_credits_total{tier,operation}` — credits spent where the cost is known

The registry is not the client library's global one, so importing Sergas never changes what
an application already exposes. `prometheus_metrics()` is the process-wide instance (what a
service's /metrics endpoint serves); `reset_prometheus_metrics()` drops it (tests).
"""

from __future__ import annotations

import threading
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from sergas.manager.events import (
    BreakerStateEvent,
    CallEvent,
    CreditsEvent,
    Event,
    FailoverEvent,
)

__all__ = [
    "BREAKER_STATE_VALUES",
    "PrometheusMetrics",
    "prometheus_metrics",
    "reset_prometheus_metrics",
]

BREAKER_STATE_VALUES = {"closed": 0, "half_open": 1, "open": 2}
# From a cached single read (~1 ms) to a Bulk Read job (minutes).
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class PrometheusMetrics:
    """A hook that turns events into Prometheus series on `registry`."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self._requests: dict[tuple[str, str, str], Any] = {}
        self._durations: dict[tuple[str, str], Any] = {}
        self._credits: dict[tuple[str, str], Any] = {}
        r = self.registry
        self.requests = Counter(
            "sergas_requests",
            "Calls to a Zoho tier, by outcome.",
            ["tier", "operation", "outcome"],
            registry=r,
        )
        self.duration = Histogram(
            "sergas_request_duration_seconds",
            "Duration of calls sent to a Zoho tier.",
            ["tier", "operation"],
            buckets=BUCKETS,
            registry=r,
        )
        self.breaker = Gauge(
            "sergas_circuit_breaker_state",
            "Circuit breaker state: 0 closed, 1 half-open, 2 open.",
            ["tier"],
            registry=r,
        )
        self.failovers = Counter(
            "sergas_failovers",
            "Calls moved to the next tier after a tier-health error.",
            ["operation", "from_tier", "to_tier"],
            registry=r,
        )
        self.errors = Counter(
            "sergas_errors", "Errors from a tier, by code.", ["tier", "code"], registry=r
        )
        self.credits = Counter(
            "sergas_zoho_credits",
            "Zoho API credits spent, where the cost is known.",
            ["tier", "operation"],
            registry=r,
        )

    def __call__(self, event: Event) -> None:
        if isinstance(event, CallEvent):
            self._request(event.tier, event.operation, event.outcome).inc()
            if event.outcome != "rejected":
                self._duration(event.tier, event.operation).observe(event.duration)
            if event.error_code:
                self.errors.labels(event.tier, event.error_code).inc()
        elif isinstance(event, BreakerStateEvent):
            self.breaker.labels(event.tier).set(BREAKER_STATE_VALUES[event.state])
        elif isinstance(event, FailoverEvent):
            self.failovers.labels(event.operation, event.from_tier, event.to_tier).inc()
        elif isinstance(event, CreditsEvent):
            self._credit(event.tier, event.operation).inc(event.credits)

    # labels() takes a lock and builds a key on every call; the hot series are looked up once.
    # A race between two first lookups only stores the same child twice.

    def _request(self, tier: str, operation: str, outcome: str) -> Any:
        key = (tier, operation, outcome)
        child = self._requests.get(key)
        if child is None:
            child = self._requests[key] = self.requests.labels(tier, operation, outcome)
        return child

    def _credit(self, tier: str, operation: str) -> Any:
        key = (tier, operation)
        child = self._credits.get(key)
        if child is None:
            child = self._credits[key] = self.credits.labels(tier, operation)
        return child

    def _duration(self, tier: str, operation: str) -> Any:
        key = (tier, operation)
        child = self._durations.get(key)
        if child is None:
            child = self._durations[key] = self.duration.labels(tier, operation)
        return child

    def exposition(self) -> bytes:
        """The text format a /metrics endpoint serves."""
        return generate_latest(self.registry)


_lock = threading.Lock()
_default: PrometheusMetrics | None = None


def prometheus_metrics() -> PrometheusMetrics:
    """The process-wide instance, created on first use."""
    global _default
    with _lock:
        if _default is None:
            _default = PrometheusMetrics()
        return _default


def reset_prometheus_metrics() -> None:
    """Drop the process-wide instance; the next `prometheus_metrics()` starts from zero."""
    global _default
    with _lock:
        _default = None
