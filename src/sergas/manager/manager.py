"""ZohoIntegrationManager: one async API over the three tiers, routed, guarded and measured.

For each operation: bind a correlation id → `route()` picks the tier order → for each tier:
its breaker admits the call (or rejects it at once) → the call runs under the tier's deadline
→ the outcome goes to the breaker and, as a `CallEvent`, to the hooks (metrics, Prometheus).
A tier-health error moves on to the next tier (`FailoverEvent`) when failover is enabled;
any other error (NotFound, InvalidData, …) is raised at once, from the tier that answered.

The tiers know nothing of this: they are plain `ZohoTier`s. `runner.TierRunner` holds the
rules of one call; this module is the public API around it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import structlog

from sergas import errors
from sergas.log import correlation_scope
from sergas.manager.breaker import CircuitBreaker, StateChange
from sergas.manager.config import TIER_ENV as _ENV
from sergas.manager.config import IntegrationConfig, RoutingContext
from sergas.manager.events import BreakerStateEvent, Event, Hook
from sergas.manager.health import probe
from sergas.manager.metrics import MetricsCollector
from sergas.manager.prometheus import prometheus_metrics
from sergas.manager.runner import TierRunner
from sergas.query import CoqlQuery, Criteria
from sergas.tiers.base import BulkResult, ReadStrategy, Record, RecordResult, TierName, ZohoTier

if TYPE_CHECKING:
    from sergas.auth.manager import TokenManager
    from sergas.settings import Settings

__all__ = ["ZohoIntegrationManager"]

log = structlog.get_logger("sergas.manager")

TIER_NAMES: tuple[TierName, ...] = ("mcp", "sdk", "rest")


class ZohoIntegrationManager:
    """Routes each call to a tier, fails over on tier-health errors, and keeps the score.

    `tiers` are the built tiers (a tier missing here is treated as disabled). Build one from
    settings with `from_settings()`; close it with `aclose()` or `async with`.
    """

    def __init__(
        self,
        tiers: Mapping[TierName, ZohoTier],
        config: IntegrationConfig | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        hooks: Iterable[Hook] = (),
        prometheus: Hook | None = None,
        on_close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.config = config or IntegrationConfig()
        self._tiers = dict(tiers)
        self._on_close = on_close
        self._prepare: Callable[[], Awaitable[None]] | None = None
        self._clock = clock
        self.metrics: MetricsCollector | None = None
        self._hooks: list[Hook] = []
        if self.config.enable_metrics:
            self.metrics = MetricsCollector(TIER_NAMES)
            self._hooks += [self.metrics, prometheus or prometheus_metrics()]
        self._hooks += list(hooks)
        self._breakers = {name: self._breaker(name) for name in TIER_NAMES}
        self._execute = TierRunner(self._tiers, self.config, self._breakers, self._emit).execute
        for name in TIER_NAMES:
            self._emit(BreakerStateEvent(name, "closed"))

    @classmethod
    def from_settings(
        cls,
        settings: Settings | None = None,
        config: IntegrationConfig | None = None,
        *,
        tokens: TokenManager | None = None,
        **kwargs: Any,
    ) -> ZohoIntegrationManager:
        """Build the enabled tiers with `build_tier`, sharing one TokenManager.

        Without `tokens`, a TokenManager and its database engine are created here and closed
        by `aclose()`; `prepare()` (run by `async with`) checks that database's schema first.
        Bad settings raise ConfigError naming the variable.
        """
        from sergas.auth.factory import token_manager
        from sergas.db.engine import create_engine
        from sergas.settings import get_settings
        from sergas.tiers.factory import build_tier

        settings = settings or get_settings()
        config = config or IntegrationConfig.from_env()
        engine = None
        if tokens is None:
            settings.require_client()
            engine = create_engine(settings=settings)
            tokens = token_manager(settings, engine=engine)
        owned_tokens = tokens if engine is not None else None

        async def close() -> None:
            if owned_tokens is not None:
                await owned_tokens.aclose()
            if engine is not None:
                await engine.dispose()

        built: dict[TierName, ZohoTier] = {}
        for name in config.enabled_tiers:
            try:
                built[name] = build_tier(name, settings, tokens)
            except ImportError as exc:
                raise errors.ConfigError(
                    f"tier {name} is enabled but cannot be loaded ({exc}); "
                    f"set ENABLE_{_ENV[name]}=false to run without it",
                    details={"settings": [f"ENABLE_{_ENV[name]}"]},
                ) from None
        manager = cls(built, config, on_close=close, **kwargs)
        if engine is not None:
            from sergas.db.migrate import ensure_schema

            owned_engine = engine

            async def prepare() -> None:
                await ensure_schema(owned_engine, auto_upgrade=settings.is_embedded_database)

            manager._prepare = prepare
        return manager

    async def prepare(self) -> None:
        """Make sure the token database is ready: the embedded SQLite one is brought to the
        newest schema, a configured one must be (DatabaseError naming `sergas db upgrade`).
        Only for a manager from `from_settings()` without `tokens`; otherwise nothing."""
        if self._prepare is not None:
            await self._prepare()
            self._prepare = None

    async def aclose(self) -> None:
        """Close every tier, then what `from_settings()` opened."""
        for name, tier in self._tiers.items():
            try:
                await tier.aclose()
            except Exception:
                log.exception("closing a tier failed", tier=name)
        if self._on_close is not None:
            await self._on_close()
            self._on_close = None

    async def __aenter__(self) -> ZohoIntegrationManager:
        await self.prepare()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # Operations: each is one routed, guarded call.

    async def get_account(
        self,
        record_id: str,
        *,
        fields: Sequence[str] | None = None,
        module: str = "Accounts",
        context: RoutingContext | None = None,
    ) -> Record:
        return await self._execute(
            "get_account", context, lambda t: t.get_account(record_id, fields=fields, module=module)
        )

    async def get_accounts(
        self,
        *,
        limit: int = 200,
        page: int = 1,
        sort_by: str | None = None,
        sort_order: Literal["asc", "desc"] | None = None,
        fields: Sequence[str] | None = None,
        module: str = "Accounts",
        context: RoutingContext | None = None,
    ) -> list[Record]:
        return await self._execute(
            "get_accounts",
            context,
            lambda t: t.get_accounts(
                limit=limit,
                page=page,
                sort_by=sort_by,
                sort_order=sort_order,
                fields=fields,
                module=module,
            ),
        )

    async def update_account(
        self,
        record_id: str,
        data: Mapping[str, Any],
        *,
        module: str = "Accounts",
        context: RoutingContext | None = None,
    ) -> RecordResult:
        return await self._execute(
            "update_account", context, lambda t: t.update_account(record_id, data, module=module)
        )

    async def bulk_read_accounts(
        self,
        *,
        criteria: Criteria | None = None,
        fields: Sequence[str] | None = None,
        module: str = "Accounts",
        context: RoutingContext | None = None,
        strategy: ReadStrategy = "auto",
    ) -> list[Record]:
        """`strategy` "coql" or "bulk" forces the tier's way of reading (see the tiers)."""
        forced = {} if strategy == "auto" else {"strategy": strategy}
        return await self._execute(
            "bulk_read_accounts",
            context,
            lambda t: t.bulk_read_accounts(
                criteria=criteria, fields=fields, module=module, **forced
            ),
        )

    async def iter_accounts(
        self,
        *,
        criteria: Criteria | None = None,
        fields: Sequence[str] | None = None,
        module: str = "Accounts",
        context: RoutingContext | None = None,
    ) -> AsyncIterator[Record]:
        """Every matching record through one tier's `iter_accounts` (page tokens past 2,000).

        The first page is one routed call (breaker, failover, metrics); the tier that served
        it serves the rest, and a later failure is raised: yielded records cannot be re-sent.
        """

        async def first(tier: ZohoTier) -> tuple[AsyncIterator[Record], Record | None]:
            pages = tier.iter_accounts(criteria=criteria, fields=fields, module=module)
            return pages, await anext(aiter(pages), None)

        pages, record = await self._execute("iter_accounts", context, first)
        if record is None:
            return
        yield record
        async for record in pages:
            yield record

    async def bulk_update_accounts(
        self,
        records: Sequence[Mapping[str, Any]],
        *,
        module: str = "Accounts",
        context: RoutingContext | None = None,
    ) -> BulkResult:
        ctx = context or RoutingContext(
            operation_type="bulk_update_accounts", record_count=len(records)
        )
        return await self._execute(
            "bulk_update_accounts", ctx, lambda t: t.bulk_update_accounts(records, module=module)
        )

    async def search_accounts(
        self,
        criteria: Criteria,
        *,
        limit: int = 200,
        fields: Sequence[str] | None = None,
        module: str = "Accounts",
        context: RoutingContext | None = None,
    ) -> list[Record]:
        return await self._execute(
            "search_accounts",
            context,
            lambda t: t.search_accounts(criteria, limit=limit, fields=fields, module=module),
        )

    async def coql(
        self, query: str | CoqlQuery, *, context: RoutingContext | None = None
    ) -> list[Record]:
        return await self._execute("coql", context, lambda t: t.coql(query))

    # Health, metrics, breakers.

    async def get_tier_health(self) -> dict[TierName, dict[str, Any]]:
        """Run every built tier's health check now (concurrently); breaker state included.

        Health checks are measured (operation "health_check") but do not move the breakers.
        """
        with correlation_scope():
            names = list(self._tiers)
            results = await asyncio.gather(
                *(
                    probe(name, self._tiers[name], self.config.tiers[name].timeout, self._emit)
                    for name in names
                )
            )
        report: dict[TierName, dict[str, Any]] = {}
        for name in TIER_NAMES:
            entry: dict[str, Any] = {"tier": name, "enabled": name in self._tiers}
            if name in names:
                entry.update(results[names.index(name)])
            entry["circuit_breaker"] = self._breakers[name].status()
            report[name] = entry
        return report

    def get_tier_metrics(self) -> dict[TierName, dict[str, Any]]:
        """Per tier: counts, success rate, avg/p50/p95/p99 (ms), top errors, breaker status."""
        snapshot = self.metrics.snapshot() if self.metrics else {}
        return {
            name: {
                **snapshot.get(name, {"tier": name}),
                "enabled": name in self._tiers,
                "circuit_breaker": self._breakers[name].status(),
            }
            for name in TIER_NAMES
        }

    def reset_circuit_breakers(self, tier: TierName | None = None) -> None:
        """Close one tier's breaker, or all of them."""
        for name in [tier] if tier else TIER_NAMES:
            self._breakers[name].reset()

    def breaker(self, tier: TierName) -> CircuitBreaker:
        return self._breakers[tier]

    def _breaker(self, name: TierName) -> CircuitBreaker:
        def announce(change: StateChange) -> None:
            self._emit(BreakerStateEvent(name, change.new.value, change.old.value))

        return CircuitBreaker(
            name,
            failure_threshold=self.config.circuit_breaker_threshold,
            recovery_timeout=self.config.circuit_breaker_timeout,
            success_threshold=self.config.success_threshold,
            clock=self._clock,
            listeners=[announce],
        )

    def _emit(self, event: Event) -> None:
        for hook in self._hooks:
            try:
                hook(event)
            except Exception:  # a hook must never break a call
                log.exception("metrics hook failed", hook=repr(hook))
