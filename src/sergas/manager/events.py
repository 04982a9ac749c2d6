"""The small frozen events the manager sends to its hooks (metrics, Prometheus, your own).

A hook is any callable taking one event. Labels stay bounded: tier, operation, outcome and
Zoho's error code, never a record id, an email or a correlation id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from sergas.tiers.base import TierName

__all__ = [
    "BreakerStateEvent",
    "CallEvent",
    "CreditsEvent",
    "Event",
    "FailoverEvent",
    "Hook",
    "Outcome",
]

# success: the tier returned a result; error: it answered with a business error (NotFound,
# InvalidData, …); failure: a tier-health error (5xx, timeout, connection); rejected: the
# breaker refused the call, so it was never sent.
Outcome = Literal["success", "error", "failure", "rejected"]


@dataclass(frozen=True, slots=True)
class CallEvent:
    tier: TierName
    operation: str
    outcome: Outcome
    duration: float  # seconds; 0.0 when rejected
    error_code: str | None = None


@dataclass(frozen=True, slots=True)
class FailoverEvent:
    operation: str
    from_tier: TierName
    to_tier: TierName
    error_code: str


@dataclass(frozen=True, slots=True)
class BreakerStateEvent:
    tier: TierName
    state: str  # "closed", "open", "half_open"
    previous: str | None = None  # None for the state a breaker starts in


@dataclass(frozen=True, slots=True)
class CreditsEvent:
    """Zoho API credits a successful call spent, where the cost is known."""

    tier: TierName
    operation: str
    credits: int


Event = CallEvent | FailoverEvent | BreakerStateEvent | CreditsEvent
Hook = Callable[[Event], None]
