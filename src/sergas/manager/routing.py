"""Which tiers a call goes to, in order: a pure function of the call and the tiers' states.

The first tier comes from the first rule that names an enabled tier:

1. the context's `preferred_tier`;
2. a call from an agent (`agent_context`) → MCP;
3. a bulk call (`record_count` ≥ 10, or a `bulk_*` operation) → SDK;
4. `requires_realtime` → MCP;
5. otherwise MCP, else SDK, else REST.

The other enabled tiers follow by priority (lower first, then tier number). Tiers whose
breaker is open are left out wherever they would stand; an empty list means none can be tried.

An operation Zoho's MCP tools cannot do (`NOT_ON_MCP`: inserts, user lookup) puts MCP last
unless it is the preferred tier: there it would only raise UnsupportedError and fail over.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sergas.manager.config import RoutingContext
from sergas.tiers.base import TierName

__all__ = ["BULK_RECORD_COUNT", "NOT_ON_MCP", "TierView", "route"]

BULK_RECORD_COUNT = 10
NOT_ON_MCP = frozenset({"create_records", "find_users"})
_TIER_ORDER: tuple[TierName, ...] = ("mcp", "sdk", "rest")
_DEFAULT_CONTEXT = RoutingContext()


@dataclass(frozen=True, slots=True)
class TierView:
    """What routing needs to know about one tier right now."""

    name: TierName
    enabled: bool = True
    priority: int = 0
    open: bool = False  # its breaker rejects calls


def route(
    operation: str, context: RoutingContext | None, tiers: Sequence[TierView]
) -> list[TierName]:
    """The tiers to try for `operation`, first choice first (see the module docstring)."""
    ctx = context or _DEFAULT_CONTEXT
    enabled = {t.name: t for t in tiers if t.enabled}
    first = _first_choice(operation, ctx, enabled.keys())
    mcp_last = operation in NOT_ON_MCP
    rest = sorted(
        (t for t in enabled.values() if t.name != first),
        key=lambda t: (mcp_last and t.name == "mcp", t.priority, _TIER_ORDER.index(t.name)),
    )
    order = ([enabled[first]] if first else []) + rest
    return [t.name for t in order if not t.open]


def _first_choice(
    operation: str, ctx: RoutingContext, enabled: Collection[TierName]
) -> TierName | None:
    bulk = ctx.record_count >= BULK_RECORD_COUNT or operation.startswith("bulk_")
    candidates: list[TierName | None] = [
        ctx.preferred_tier,
        "mcp" if ctx.agent_context else None,
        "sdk" if bulk else None,
        "mcp" if ctx.requires_realtime else None,
        *_TIER_ORDER,
    ]
    if operation in NOT_ON_MCP:  # only if asked for, or nothing else is enabled
        candidates = [ctx.preferred_tier, *(t for t in candidates[1:] if t != "mcp"), "mcp"]
    for tier in candidates:
        if tier is not None and tier in enabled:
            return tier
    return None
