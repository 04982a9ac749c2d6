"""Per-tier metrics in memory (the dict form of `get_tier_metrics()`), fed by events.

Counters and the average cover the collector's whole life; percentiles and the recent history
cover the last `HISTORY` calls per tier, so memory stays bounded however long it runs.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from typing import Any

from sergas.manager.events import (
    BreakerStateEvent,
    CallEvent,
    CreditsEvent,
    Event,
    FailoverEvent,
)
from sergas.tiers.base import TierName

__all__ = ["HISTORY", "MetricsCollector", "TierMetrics", "percentile"]

HISTORY = 1_000
TOP_ERRORS = 5


def percentile(ordered: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0 to 100) of sorted values, interpolating between closest ranks
    (the "linear" method of numpy and R's type 7). None for no values."""
    if not ordered:
        return None
    if not 0 <= q <= 100:
        raise ValueError("q must be between 0 and 100")
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


class TierMetrics:
    """One tier's counts, durations and recent calls. Not locked: the collector locks."""

    def __init__(self, tier: TierName) -> None:
        self.tier = tier
        self.outcomes: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.duration_sum = 0.0
        self.durations: deque[float] = deque(maxlen=HISTORY)
        self.history: deque[CallEvent] = deque(maxlen=HISTORY)
        self.failovers_from = 0
        self.credits = 0
        self.breaker_state = "closed"

    def add(self, event: CallEvent) -> None:
        self.outcomes[event.outcome] += 1
        self.history.append(event)
        if event.error_code:
            self.errors[event.error_code] += 1
        if event.outcome != "rejected":
            self.duration_sum += event.duration
            self.durations.append(event.duration)

    def snapshot(self) -> dict[str, Any]:
        o = self.outcomes
        total = o["success"] + o["error"] + o["failure"]  # calls actually sent
        ordered = sorted(self.durations)
        ms = {f"p{q}_ms": _ms(percentile(ordered, q)) for q in (50, 95, 99)}
        return {
            "tier": self.tier,
            "total": total,
            "succeeded": o["success"],
            "failed": o["error"] + o["failure"],
            "tier_failures": o["failure"],
            "rejected": o["rejected"],
            "success_rate": o["success"] / total if total else None,
            "avg_ms": _ms(self.duration_sum / total) if total else None,
            **ms,
            "top_errors": [{"code": c, "count": n} for c, n in self.errors.most_common(TOP_ERRORS)],
            "failovers_from": self.failovers_from,
            "credits": self.credits,
            "breaker_state": self.breaker_state,
            "recent": len(self.history),
        }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


class MetricsCollector:
    """A hook that keeps `TierMetrics` per tier. Safe to feed from many threads and tasks."""

    def __init__(self, tiers: Iterable[TierName] = ("mcp", "sdk", "rest")) -> None:
        self._lock = threading.Lock()
        self._tiers = {t: TierMetrics(t) for t in tiers}
        self.failovers: Counter[tuple[str, str]] = Counter()

    def __call__(self, event: Event) -> None:
        with self._lock:
            if isinstance(event, CallEvent):
                self._tier(event.tier).add(event)
            elif isinstance(event, FailoverEvent):
                self._tier(event.from_tier).failovers_from += 1
                self.failovers[(event.from_tier, event.to_tier)] += 1
            elif isinstance(event, BreakerStateEvent):
                self._tier(event.tier).breaker_state = event.state
            elif isinstance(event, CreditsEvent):
                self._tier(event.tier).credits += event.credits

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Per tier: counts, success rate, avg/p50/p95/p99 in ms, top errors, failovers."""
        with self._lock:
            return {name: m.snapshot() for name, m in self._tiers.items()}

    def history(self, tier: TierName) -> list[dict[str, Any]]:
        """The tier's recent calls, oldest first (at most HISTORY)."""
        with self._lock:
            return [asdict(e) for e in self._tier(tier).history]

    def reset(self) -> None:
        """Forget counts and history; breaker states are kept (the breakers keep them too)."""
        with self._lock:
            fresh = {t: TierMetrics(t) for t in self._tiers}
            for name, metrics in fresh.items():
                metrics.breaker_state = self._tiers[name].breaker_state
            self._tiers = fresh
            self.failovers.clear()

    def _tier(self, tier: TierName) -> TierMetrics:
        metrics = self._tiers.get(tier)
        if metrics is None:
            metrics = self._tiers[tier] = TierMetrics(tier)
        return metrics
