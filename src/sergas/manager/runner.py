"""One manager operation, start to finish: the caller's permission, then route, then tier by
tier through its breaker and deadline, outcomes to the hooks, on to the next tier after a
tier-health error or an operation the tier cannot do at all (`UnsupportedError`: nothing
was sent, and it does not count against the tier's health).

Kept apart from `ZohoIntegrationManager` (the public API) so the rules of a single call can
be read in one place.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any, NoReturn, TypeVar

from sergas import errors
from sergas.errors import CircuitOpenError, SergasError, UnsupportedError
from sergas.log import correlation_scope, get_logger
from sergas.manager.breaker import CircuitBreaker
from sergas.manager.caller import Caller, Refusal, RefusalAudit
from sergas.manager.config import TIER_ENV, IntegrationConfig, RoutingContext
from sergas.manager.events import CallEvent, CreditsEvent, FailoverEvent, Hook, Outcome
from sergas.manager.routing import TierView, route
from sergas.manager.tiers import Tiers
from sergas.tiers.base import TierName, ZohoTier

__all__ = ["TierRunner"]

T = TypeVar("T")
log = get_logger("sergas.manager")

# Bulk operations run Zoho jobs with deadlines of their own; the tier timeout would cut them.
# Inserts of any number of records run as many chunks as they need.
NO_DEADLINE = frozenset({"bulk_read_accounts", "bulk_update_accounts", "create_records"})
# Zoho's documented credit cost of single calls (one API request each on REST and the SDK).
CREDITS = {
    "get_account": 1,
    "get_accounts": 1,
    "search_accounts": 1,
    "update_account": 1,
    "list_records": 1,
    "search_page": 1,
    "get_related_records": 1,
    "get_notes": 1,
    "get_deleted_records": 1,
    "count_records": 1,
    "add_note": 1,
}


class TierRunner:
    def __init__(
        self,
        tiers: Tiers,
        config: IntegrationConfig,
        breakers: Mapping[TierName, CircuitBreaker],
        emit: Hook,
        audit: RefusalAudit | None = None,
    ) -> None:
        self.tiers = tiers
        self.config = config
        self.breakers = breakers
        self.emit = emit
        self.audit = audit
        self.views = [  # what routing sees, breakers aside
            TierView(name, enabled=name in tiers and cfg.enabled, priority=cfg.priority)
            for name, cfg in config.tiers.items()
        ]

    async def execute(
        self,
        operation: str,
        context: RoutingContext | None,
        call: Callable[[ZohoTier], Awaitable[T]],
        caller: Caller,
        arguments: Callable[[], Mapping[str, Any]] = dict,
    ) -> T:
        """Run `call(tier)` on the routed tiers in turn, under one correlation id, once
        `caller` may run `operation` (else PermissionDeniedError, audited with
        `arguments()`, before anything is routed)."""
        with correlation_scope():
            if not caller.permits(operation):
                await self._refuse(caller, operation, arguments())
            last: SergasError | None = None
            previous: TierName | None = None
            for name in self.order(operation, context):
                if previous is not None and last is not None:
                    self._failover(operation, previous, name, last)
                try:
                    return await self._on_tier(name, operation, call)
                except CircuitOpenError as exc:
                    last = exc  # rejected without being tried: the next tier may take it
                except SergasError as exc:
                    if not (exc.tier_health or isinstance(exc, UnsupportedError)):
                        raise
                    last = exc
                previous = name
            if last is None:
                raise self._nothing_to_try(operation)
            raise last

    async def _refuse(
        self, caller: Caller, operation: str, arguments: Mapping[str, Any]
    ) -> NoReturn:
        error = caller.refusal(operation)
        log.warning(
            "permission denied",
            operation=operation,
            caller=caller.name,
            key_id=caller.key_id,
            channel=caller.channel,
        )
        if self.audit is not None:
            try:
                await self.audit(Refusal(caller, operation, error, arguments))
            except Exception:  # the refusal stands whatever becomes of its audit row
                log.exception("audit of a refusal failed", operation=operation)
        raise error

    def order(self, operation: str, context: RoutingContext | None) -> list[TierName]:
        views = self.views
        failover = self.config.enable_failover
        if failover and any(self.breakers[v.name].is_open() for v in views):
            views = [replace(v, open=self.breakers[v.name].is_open()) for v in views]
        tiers = route(operation, context, views)
        # Without failover only the first choice is tried; if its breaker is open, the call
        # is rejected there rather than quietly sent elsewhere.
        return tiers if failover else tiers[:1]

    async def _on_tier(
        self, name: TierName, operation: str, call: Callable[[ZohoTier], Awaitable[T]]
    ) -> T:
        tier, breaker = self.tiers.get(name), self.breakers[name]  # built on first use
        cfg = self.config.tiers[name]
        timeout = None if operation in NO_DEADLINE else cfg.timeout
        for attempt in range(cfg.max_retries + 1):
            try:
                ticket = breaker.acquire()
            except CircuitOpenError:
                self.emit(CallEvent(name, operation, "rejected", 0.0, "CIRCUIT_OPEN"))
                raise
            start = time.perf_counter()
            try:
                async with asyncio.timeout(timeout):
                    result = await call(tier)
            except TimeoutError:
                exc: SergasError = errors.TimeoutError(
                    f"tier {name}: {operation} took longer than {timeout}s",
                    details={"tier": name, "timeout": timeout},
                )
            except SergasError as caught:
                exc = caught
            except Exception as caught:  # a tier broke its contract: report, do not judge it
                breaker.release(ticket)
                code = type(caught).__name__
                self.emit(CallEvent(name, operation, "error", _since(start), code))
                raise
            except BaseException:  # cancelled
                breaker.release(ticket)
                raise
            else:
                breaker.record_success(ticket)
                self.emit(CallEvent(name, operation, "success", _since(start)))
                if operation in CREDITS and name != "mcp":
                    self.emit(CreditsEvent(name, operation, CREDITS[operation]))
                return result
            breaker.record_failure(ticket, exc)
            outcome: Outcome = "failure" if exc.tier_health else "error"
            self.emit(CallEvent(name, operation, outcome, _since(start), exc.code))
            if not (exc.tier_health and exc.retryable and attempt < cfg.max_retries):
                raise exc
            log.info("retrying on the same tier", tier=name, operation=operation, code=exc.code)
        raise AssertionError("unreachable")  # pragma: no cover

    def _failover(
        self, operation: str, source: TierName, target: TierName, exc: SergasError
    ) -> None:
        log.warning(
            "failing over",
            operation=operation,
            from_tier=source,
            to_tier=target,
            code=exc.code,
            error=exc.message,
        )
        self.emit(FailoverEvent(operation, source, target, exc.code))

    def _nothing_to_try(self, operation: str) -> SergasError:
        open_tiers = [n for n in self.tiers if self.breakers[n].is_open()]
        if open_tiers:
            return CircuitOpenError(
                f"{operation}: every enabled tier's circuit is open ({', '.join(open_tiers)})",
                details={"tiers": open_tiers},
            )
        unconfigured = self.tiers.unconfigured
        if unconfigured:
            reasons = "; ".join(f"{name}: {why}" for name, why in unconfigured.items())
            return errors.ConfigError(
                f"{operation}: no tier can be used: {reasons}",
                details={"tiers": list(unconfigured), "reasons": dict(unconfigured)},
            )
        return errors.ConfigError(
            f"{operation}: no tier is enabled; set ENABLE_TIER1_MCP, ENABLE_TIER2_SDK or "
            "ENABLE_TIER3_REST",
            details={"settings": [f"ENABLE_{v}" for v in TIER_ENV.values()]},
        )


def _since(start: float) -> float:
    return time.perf_counter() - start
