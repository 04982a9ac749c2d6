"""What one sweep cost, seen from the manager's hooks: calls, latency, failovers, breakers.

A hook of the sweep's own (rather than `get_tier_metrics()`) so the figures cover this run
only, whatever else the manager served before.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from typing import Any

from sergas.manager.events import (
    BreakerStateEvent,
    CallEvent,
    CreditsEvent,
    Event,
    FailoverEvent,
)
from sergas.manager.metrics import percentile

__all__ = ["SweepMetrics"]


class SweepMetrics:
    """A manager hook. `snapshot()` gives calls per tier and operation, p95, breaker events."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clear()

    def reset(self) -> None:
        """Forget what was counted: a worker counts each sweep job from its start."""
        with self._lock:
            self._clear()

    def _clear(self) -> None:
        self.calls: dict[str, Counter[str]] = defaultdict(Counter)  # tier -> outcome -> n
        self.operations: dict[str, Counter[str]] = defaultdict(Counter)  # tier -> op -> n
        self.durations: dict[str, list[float]] = defaultdict(list)
        self.credits: Counter[str] = Counter()
        self.failovers: list[dict[str, str]] = []
        self.breaker_events: list[dict[str, str]] = []

    def __call__(self, event: Event) -> None:
        with self._lock:
            if isinstance(event, CallEvent):
                self.calls[event.tier][event.outcome] += 1
                self.operations[event.tier][event.operation] += 1
                if event.outcome != "rejected":
                    self.durations[event.tier].append(event.duration)
            elif isinstance(event, FailoverEvent):
                self.failovers.append(
                    {
                        "operation": event.operation,
                        "from": event.from_tier,
                        "to": event.to_tier,
                        "code": event.error_code,
                    }
                )
            elif isinstance(event, BreakerStateEvent) and event.previous is not None:
                self.breaker_events.append(
                    {"tier": event.tier, "from": event.previous, "to": event.state}
                )
            elif isinstance(event, CreditsEvent):
                self.credits[event.tier] += event.credits

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            tiers: dict[str, Any] = {}
            for tier in sorted(set(self.calls) | set(self.durations)):
                outcomes = self.calls[tier]
                ordered = sorted(self.durations[tier])
                p95 = percentile(ordered, 95)
                tiers[tier] = {
                    "calls": sum(outcomes.values()),
                    "succeeded": outcomes["success"],
                    "failed": outcomes["failure"] + outcomes["error"],
                    "rejected": outcomes["rejected"],
                    "operations": dict(self.operations[tier]),
                    "p95_ms": None if p95 is None else round(p95 * 1000, 1),
                }
            return {
                "tiers": tiers,
                "failovers": list(self.failovers),
                "breaker_events": list(self.breaker_events),
                "credits_counted": sum(self.credits.values()),
            }
