"""The manager's tiers by name, each built the first time a call is routed to it.

Building a tier costs its imports: the SDK tier loads Zoho's SDK (~0.4 s), the MCP tier the
`mcp` package (~0.7 s). A command that reads one account through REST needs neither, so a
tier is built when routing first sends it a call (or a health check asks about it), and
failover builds the next one only when it gets there. `aclose()` closes what was built.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from sergas.errors import ConfigError
from sergas.log import get_logger
from sergas.manager.config import TIER_ENV
from sergas.tiers.base import TierName, ZohoTier

if TYPE_CHECKING:
    from sergas.auth.manager import TokenManager
    from sergas.settings import Settings

__all__ = ["TierFactory", "Tiers"]

log = get_logger("sergas.manager")

TierFactory = Callable[[], ZohoTier]
_ORDER: tuple[TierName, ...] = ("mcp", "sdk", "rest")


class Tiers:
    """Name → tier: given already built, or built on first `get()` by its factory.

    `unconfigured` holds the tiers that were switched on but cannot work with the settings
    (name → why): they are not among the names, so routing never sends them a call, and
    health reports say why.

    Building runs no I/O and never awaits, so two calls on one event loop cannot both build
    the same tier.
    """

    def __init__(
        self,
        factories: Mapping[TierName, TierFactory] | None = None,
        *,
        built: Mapping[TierName, ZohoTier] | None = None,
        unconfigured: Mapping[TierName, str] | None = None,
    ) -> None:
        self._factories = dict(factories or {})
        self._built: dict[TierName, ZohoTier] = dict(built or {})
        names = set(self._factories) | set(self._built)
        self.names: tuple[TierName, ...] = tuple(n for n in _ORDER if n in names)
        self.unconfigured: dict[TierName, str] = {
            n: why for n, why in (unconfigured or {}).items() if n not in names
        }

    @classmethod
    def of(cls, tiers: Mapping[TierName, ZohoTier] | Tiers) -> Tiers:
        """`tiers` as they are, or these already built tiers (closed by `aclose()`)."""
        return tiers if isinstance(tiers, Tiers) else cls(built=tiers)

    @classmethod
    def from_settings(
        cls, names: Sequence[TierName], settings: Settings, tokens: TokenManager
    ) -> Tiers:
        """The named tiers, each to be built by `sergas.tiers.factory.build_tier` sharing
        one TokenManager. A tier the settings cannot serve (`not_configured`) is left out,
        with its reason in `unconfigured`. A tier whose package cannot be imported fails,
        when first used, with a ConfigError naming the switch that turns it off."""
        from sergas.tiers.factory import not_configured

        def factory(name: TierName) -> TierFactory:
            def build() -> ZohoTier:
                from sergas.tiers.factory import build_tier

                try:
                    return build_tier(name, settings, tokens)
                except ImportError as exc:
                    raise ConfigError(
                        f"tier {name} is enabled but cannot be loaded ({exc}); "
                        f"set ENABLE_{TIER_ENV[name]}=false to run without it",
                        details={"settings": [f"ENABLE_{TIER_ENV[name]}"]},
                    ) from None

            return build

        missing = {name: why for name in names if (why := not_configured(name, settings))}
        usable = {name: factory(name) for name in names if name not in missing}
        return cls(usable, unconfigured=missing)

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def __iter__(self) -> Iterator[TierName]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def get(self, name: TierName) -> ZohoTier:
        """The tier, built now if this is its first use (KeyError for a tier not here)."""
        tier = self._built.get(name)
        if tier is None:
            tier = self._built[name] = self._factories[name]()
        return tier

    def built(self) -> dict[TierName, ZohoTier]:
        """The tiers built so far."""
        return dict(self._built)

    async def aclose(self) -> None:
        """Close every tier built so far (a failure is logged; the others still close)."""
        built, self._built = self._built, {}
        for name, tier in built.items():
            try:
                await tier.aclose()
            except Exception:
                log.exception("closing a tier failed", tier=name)
