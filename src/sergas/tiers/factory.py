"""Build a tier by name. Each tier takes the same two things: settings and the TokenManager.

`not_configured()` says, before anything is built, why a tier cannot work with the given
settings (the manager then leaves it out of the routing and health reports say why).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sergas.tiers.base import TierName, ZohoTier

if TYPE_CHECKING:
    from sergas.auth.manager import TokenManager
    from sergas.settings import Settings

TIERS: tuple[TierName, ...] = ("mcp", "sdk", "rest")


def not_configured(name: TierName, settings: Settings) -> str | None:
    """Why tier `name` cannot reach Zoho with these settings, or None when it can.

    The SDK and REST tiers need only the OAuth client and the region (or the API domain),
    which every runtime has. The MCP tier needs the URL of a Zoho MCP endpoint, which Zoho
    creates per account: no region implies one."""
    if name == "mcp" and not settings.zoho_mcp_url:
        return (
            "ZOHO_MCP_URL is not set: Zoho's MCP endpoint is created per account, so the "
            "region gives none; set ZOHO_MCP_URL to your endpoint's URL, or "
            "ENABLE_TIER1_MCP=false"
        )
    return None


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
