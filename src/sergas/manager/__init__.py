"""ZohoIntegrationManager: the caller's permissions, routing between the three tiers,
failover, a circuit breaker per tier, metrics (in memory and Prometheus) and health checks;
plus a synchronous facade (imported on first use: it needs `anyio.from_thread`, which an
async caller such as a CLI command never does)."""

from typing import TYPE_CHECKING, Any

from sergas.manager.breaker import BreakerState, CircuitBreaker, StateChange
from sergas.manager.caller import Caller, Refusal
from sergas.manager.config import IntegrationConfig, RoutingContext, TierConfig
from sergas.manager.events import (
    BreakerStateEvent,
    CallEvent,
    CreditsEvent,
    Event,
    FailoverEvent,
    Hook,
)
from sergas.manager.manager import ZohoIntegrationManager
from sergas.manager.metrics import MetricsCollector, percentile
from sergas.manager.prometheus import (
    PrometheusMetrics,
    prometheus_metrics,
    reset_prometheus_metrics,
)
from sergas.manager.routing import TierView, route

if TYPE_CHECKING:
    from sergas.manager.sync import EventLoopRunningError, SyncZohoIntegrationManager

__all__ = [
    "BreakerState",
    "BreakerStateEvent",
    "CallEvent",
    "Caller",
    "CircuitBreaker",
    "CreditsEvent",
    "Event",
    "EventLoopRunningError",
    "FailoverEvent",
    "Hook",
    "IntegrationConfig",
    "MetricsCollector",
    "PrometheusMetrics",
    "Refusal",
    "RoutingContext",
    "StateChange",
    "SyncZohoIntegrationManager",
    "TierConfig",
    "TierView",
    "ZohoIntegrationManager",
    "percentile",
    "prometheus_metrics",
    "reset_prometheus_metrics",
    "route",
]


def __getattr__(name: str) -> Any:
    if name in ("EventLoopRunningError", "SyncZohoIntegrationManager"):
        from sergas.manager import sync

        value = getattr(sync, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'sergas.manager' has no attribute {name!r}")
