"""One tier's health check, bounded by its timeout and measured like any other call."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sergas.errors import SergasError
from sergas.manager.events import CallEvent, Hook
from sergas.tiers.base import HealthStatus, TierName, ZohoTier

__all__ = ["probe"]


async def probe(name: TierName, tier: ZohoTier, deadline: float, emit: Hook) -> dict[str, Any]:
    """Run `tier.health_check()`; an error or a timeout is an unhealthy answer, not a raise."""
    start = time.perf_counter()
    code: str | None = None
    try:
        async with asyncio.timeout(deadline):
            status = await tier.health_check()
    except TimeoutError:
        code = "TIMEOUT"
        status = HealthStatus(name, False, _ms(start), f"no answer within {deadline}s")
    except SergasError as exc:
        code = exc.code
        status = HealthStatus(name, False, _ms(start), exc.message)
    elapsed = time.perf_counter() - start
    if not status.healthy and code is None:
        code = "UNHEALTHY"
    emit(CallEvent(name, "health_check", "success" if status.healthy else "failure", elapsed, code))
    return {
        "healthy": status.healthy,
        "latency_ms": round(status.latency_ms, 3),
        "detail": status.detail,
    }


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000
