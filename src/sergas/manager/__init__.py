"""ZohoIntegrationManager: the caller's permissions, routing between the three tiers,
failover, a circuit breaker per tier, metrics (in memory and Prometheus) and health checks;
plus a synchronous facade."""

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
