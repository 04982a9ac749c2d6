"""The org view in Prometheus: slots in use by process, credits, waiting, time spent waiting.

Series (all `sergas_org_`; `client` is a process, `<host>:<pid>`, so labels are bounded by
the processes of the org):

- `sergas_org_degraded` — 1 while Redis is configured but unreachable (per-process limits)
- `sergas_org_slots_cap`, `sergas_org_slots_in_use{client}`, `sergas_org_slots_waiting{client}`
- `sergas_org_heavy_slots_in_use{client}` — Zoho's sub-concurrency (COQL, search, big writes)
- `sergas_org_backoff_seconds` — left of an org-wide hold after a 429 from Zoho
- `sergas_org_credits_{budget,used,remaining,reserve}` — the org's rolling 24 hours
- this process: `sergas_org_slot_requests_total`, `sergas_org_slot_wait_seconds_total`,
  `sergas_org_slot_timeouts_total`, `sergas_org_refused_total{reason}`,
  `sergas_org_backoffs_total`, `sergas_org_credits_spent_total`

The org-wide figures come from a snapshot taken every `REFRESH` seconds (from Redis when
shared), so a scrape never waits on Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from sergas.org.limiter import OrgLimiter

__all__ = ["REFRESH", "OrgCollector", "expose_org"]

REFRESH = 2.0


class OrgCollector(Collector):
    def __init__(self, limiter: OrgLimiter) -> None:
        self.limiter = limiter
        self.snapshot: dict[str, Any] = {}

    async def refresh_forever(self) -> None:
        while True:
            with contextlib.suppress(Exception):  # a failed refresh keeps the last figures
                self.snapshot = await self.limiter.snapshot()
            await asyncio.sleep(REFRESH)

    def collect(self) -> Iterable[Metric]:
        limiter, snap = self.limiter, self.snapshot
        yield _gauge(
            "degraded", "1 while Redis is configured but unreachable.", limiter.mode == "degraded"
        )
        slots = snap.get("slots", {})
        yield _gauge("slots_cap", "The org's concurrent calls to Zoho.", limiter.local.cap)
        yield _by_client(
            "slots_in_use",
            "Slots of the org's cap held, by process.",
            slots.get("in_use_by_client", {}),
        )
        yield _by_client(
            "slots_waiting",
            "Callers waiting for a slot, by process.",
            slots.get("waiting_by_client", {}),
        )
        heavy = slots.get("heavy", {})
        yield _by_client(
            "heavy_slots_in_use",
            "Heavy-call slots held, by process.",
            heavy.get("in_use_by_client", {}),
        )
        yield _gauge(
            "backoff_seconds", "Left of an org-wide hold after a 429.", slots.get("backoff_left", 0)
        )
        credits = snap.get("credits", {})
        for name in ("budget", "used", "remaining"):
            if name in credits:
                yield _gauge(f"credits_{name}", f"The org's daily credits: {name}.", credits[name])
        yield _gauge("credits_reserve", "Credits kept for interactive calls.", limiter.reserve)
        stats = limiter.stats
        yield _counter("slot_requests", "Slots asked for by this process.", stats["calls"])
        yield _counter(
            "slot_wait_seconds", "Time this process waited for slots.", stats["wait_seconds"]
        )
        yield _counter(
            "slot_timeouts",
            "Calls refused after waiting past the deadline.",
            stats["slot_timeouts"],
        )
        yield _counter("backoffs", "429s from Zoho that held the org back.", stats["backoffs"])
        yield _counter("credits_spent", "Credits this process spent.", limiter.ledger.spent)
        refused = CounterMetricFamily(
            "sergas_org_refused", "Background work refused.", labels=["reason"]
        )
        refused.add_metric(["reserve"], stats["refused_reserve"])
        refused.add_metric(["coordination"], stats["refused_coordination"])
        yield refused


def _gauge(name: str, text: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"sergas_org_{name}", text, value=float(value))


def _counter(name: str, text: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(f"sergas_org_{name}", text, value=float(value))


def _by_client(name: str, text: str, values: dict[str, int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(f"sergas_org_{name}", text, labels=["client"])
    for client, value in sorted(values.items()):
        family.add_metric([client], float(value))
    return family


@contextlib.contextmanager
def expose_org(registry: CollectorRegistry, limiter: OrgLimiter) -> Iterator[OrgCollector]:
    """The org's series on `registry` until the block ends (call it inside the event loop)."""
    collector = OrgCollector(limiter)
    try:
        registry.register(collector)
    except ValueError:  # another runtime of this process already shows its org here
        yield collector
        return
    task = asyncio.get_running_loop().create_task(collector.refresh_forever())
    try:
        yield collector
    finally:
        task.cancel()
        registry.unregister(collector)
