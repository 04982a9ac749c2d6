"""Build a tier by name. Each tier takes the same two things: settings and the TokenManager."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sergas.tiers.base import TierName, ZohoTier

if TYPE_CHECKING:
    from sergas.auth.manager import TokenManager
    from sergas.settings import Settings

TIERS: tuple[TierName, ...] = ("mcp", "sdk", "rest")


def build_tier(name: TierName, settings: Settings, tokens: TokenManager) -> ZohoTier:
    """Tier 1 (MCP), 2 (official SDK) or 3 (REST). Imports are lazy: the SDK is heavy."""
    if name == "rest":
        from sergas.tiers.rest import ZohoRESTClient

        return ZohoRESTClient(settings, tokens)
    if name == "sdk":
        from sergas.tiers.sdk import ZohoSDKClient

        return ZohoSDKClient(settings, tokens)
    if name == "mcp":
        from sergas.tiers.mcp import ZohoMCPClient

        return ZohoMCPClient(settings, tokens)
    raise ValueError(f"unknown tier {name!r}; choose one of {', '.join(TIERS)}")
