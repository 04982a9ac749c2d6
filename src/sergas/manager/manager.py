"""ZohoIntegrationManager: one async API over the three tiers, routed, guarded and measured.

For each operation: bind a correlation id → the caller's permission (`caller.Caller`: a
refusal is raised and audited before anything is routed) → `route()` picks the tier order →
for each tier:
its breaker admits the call (or rejects it at once) → the call runs under the tier's deadline
→ the outcome goes to the breaker and, as a `CallEvent`, to the hooks (metrics, Prometheus).
A tier-health error moves on to the next tier (`FailoverEvent`) when failover is enabled;
any other error (NotFound, InvalidData, …) is raised at once, from the tier that answered.

The tiers know nothing of this: they are plain `ZohoTier`s, handed in (`tiers.Tiers`
builds each on its first call). `runner.TierRunner` holds the rules of one call; this
module is the public API around it. The database, the tokens and the tiers' settings are
opened by `sergas.runtime`, which builds the manager.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, TypeVar

from sergas.errors import SergasError
from sergas.log import correlation_scope, get_logger
from sergas.manager.breaker import CircuitBreaker, StateChange
from sergas.manager.caller import PROGRAM, Caller, RefusalAudit
from sergas.manager.config import IntegrationConfig, RoutingContext
from sergas.manager.events import BreakerStateEvent, CallEvent, Event, Hook
from sergas.manager.health import probe
from sergas.manager.metrics import MetricsCollector
from sergas.manager.prometheus import prometheus_metrics
from sergas.manager.runner import TierRunner
from sergas.manager.tiers import Tiers
from sergas.query import CoqlQuery, Criteria
from sergas.tiers.base import (
    BulkResult,
    DeletedType,
    ReadStrategy,
    Record,
    RecordPage,
    RecordResult,
    TierName,
    ZohoTier,
)

__all__ = ["ZohoIntegrationManager"]

log = get_logger("sergas.manager")

TIER_NAMES: tuple[TierName, ...] = ("mcp", "sdk", "rest")
T = TypeVar("T")


class ZohoIntegrationManager:
    """Routes each call to a tier, fails over on tier-health errors, and keeps the score.

    `tiers`: built tiers by name, or a `Tiers` that builds each on first use (a tier missing
    here is treated as disabled). `sergas.open_runtime()` builds one from settings; close it
    with `aclose()` or `async with` (it closes the tiers it was handed).

    Every operation takes `caller=` (`sergas.manager.caller.Caller`): who the call is made
    for, checked before routing; a call without one runs as `caller` given here (default:
    the program itself, full access). `audit` receives every refusal.
    """

    def __init__(
        self,
        tiers: Mapping[TierName, ZohoTier] | Tiers,
        config: IntegrationConfig | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        hooks: Iterable[Hook] = (),
        prometheus: Hook | None = None,
        caller: Caller = PROGRAM,
        audit: RefusalAudit | None = None,
    ) -> None:
        self.config = config or IntegrationConfig()
        self.caller = caller
        self.tiers = Tiers.of(tiers)  # `tiers.built()`: the ones called (or checked) so far
        self._clock = clock
        self.metrics: MetricsCollector | None = None
        self._hooks: list[Hook] = []
        if self.config.enable_metrics:
            self.metrics = MetricsCollector(TIER_NAMES)
            self._hooks += [self.metrics, prometheus or prometheus_metrics()]
        self._hooks += list(hooks)
        self._breakers = {name: self._breaker(name) for name in TIER_NAMES}
        self._runner = TierRunner(self.tiers, self.config, self._breakers, self._emit, audit)
        for name in TIER_NAMES:
            self._emit(BreakerStateEvent(name, "closed"))

    async def aclose(self) -> None:
        """Close every tier built so far."""
        await self.tiers.aclose()

    async def __aenter__(self) -> ZohoIntegrationManager:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # Operations: each is one routed, guarded call, for `caller`.

    async def _execute(
        self,
        operation: str,
        context: RoutingContext | None,
        call: Callable[[ZohoTier], Awaitable[T]],
        caller: Caller | None,
        arguments: Callable[[], Mapping[str, Any]] = dict,
    ) -> T:
        return await self._runner.execute(
            operation, context, call, caller or self.caller, arguments
        )

    async def get_account(
        self,
        record_id: str,
        *,
        fields: Sequence[str] | None = None,
        module: str = "Accounts",
        context: RoutingContext | None = None,
        caller: Caller | None = None,
    ) -> Record:
        return await self._execute(
            "get_account",
            context,
            lambda t: t.get_account(record_id, fields=fields, module=module),
            caller,
            lambda: {"module": module, "record_id": record_id},
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
        caller: Caller | None = None,
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
            caller,
            lambda: {"module": module, "page": page, "limit": limit},
        )

    async def update_account(
        self,
        record_id: str,
        data: Mapping[str, Any],
        *,
        module: str = "Accounts",
        context: RoutingContext | None = None,
        caller: Caller | None = None,
    ) -> RecordResult:
        return await self._execute(
            "update_account",
            context,
            lambda t: t.update_account(record_id, data, module=module),
            caller,
            lambda: {"module": module, "record_id": record_id, "fields": sorted(data)},
        )

    async def bulk_read_accounts(
        self,
        *,
        criteria: Criteria | None = None,
        fields: Sequence[str] | None = None,
        module: str = "Accounts",
        context: RoutingContext | None = None,
        strategy: ReadStrategy = "auto",
        caller: Caller | None = None,
    ) -> list[Record]:
        """`strategy` "coql" or "bulk" forces the tier's way of reading (see the tiers)."""
        forced = {} if strategy == "auto" else {"strategy": strategy}
        return await self._execute(
            "bulk_read_accounts",
            context,
            lambda t: t.bulk_read_accounts(
                criteria=criteria, fields=fields, module=module, **forced
            ),
            caller,
            lambda: {"module": module},
        )

    async def iter_accounts(
        self,
        *,
        criteria: Criteria | None = None,
        fields: Sequence[str] | None = None,
        module: str = "Accounts",
        context: RoutingContext | None = None,
        caller: Caller | None = None,
    ) -> AsyncIterator[Record]:
        """Every matching record through one tier's `iter_accounts` (page tokens past 2,000).

        The first page is one routed call (breaker, failover, metrics); the tier that served
        it serves the rest, and a later failure is raised: yielded records cannot be re-sent.
        """

        async def first(tier: ZohoTier) -> tuple[AsyncIterator[Record], Record | None]:
            pages = tier.iter_accounts(criteria=criteria, fields=fields, module=module)
            return pages, await anext(aiter(pages), None)

        pages, record = await self._execute(
            "iter_accounts", context, first, caller, lambda: {"module": module}
        )
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
        caller: Caller | None = None,
    ) -> BulkResult:
        ctx = context or RoutingContext(
            operation_type="bulk_update_accounts", record_count=len(records)
        )
        return await self._execute(
            "bulk_update_accounts",
            ctx,
            lambda t: t.bulk_update_accounts(records, module=module),
            caller,
            lambda: {
                "module": module,
                "records": len(records),
                "ids": [str(r.get("id")) for r in records[:20]],
            },
        )

    async def search_accounts(
        self,
        criteria: Criteria,
        *,
        limit: int = 200,
        fields: Sequence[str] | None = None,
        module: str = "Accounts",
        context: RoutingContext | None = None,
        caller: Caller | None = None,
    ) -> list[Record]:
        return await self._execute(
            "search_accounts",
            context,
            lambda t: t.search_accounts(criteria, limit=limit, fields=fields, module=module),
            caller,
            lambda: {"module": module, "criteria": criteria.to_search()},
        )

    async def coql(
        self,
        query: str | CoqlQuery,
        *,
        context: RoutingContext | None = None,
        caller: Caller | None = None,
    ) -> list[Record]:
        return await self._execute(
            "coql",
            context,
            lambda t: t.coql(query),
            caller,
            lambda: {"query": query.render() if isinstance(query, CoqlQuery) else query},
        )

    async def describe_fields(
        self,
        module: str = "Accounts",
        *,
        context: RoutingContext | None = None,
        caller: Caller | None = None,
    ) -> list[dict[str, Any]]:
        """The module's fields from Zoho's metadata: names, types, picklist values."""
        return await self._execute(
            "describe_fields",
            context,
            lambda t: t.describe_fields(module),
            caller,
            lambda: {"module": module},
        )

    # Pages with Zoho's paging signal, a record's related records and notes, deletions,
    # counts, users, inserts.

    async def list_records(
        self,
        *,
        module: str = "Accounts",
        fields: Sequence[str] | None = None,
        page: int = 1,
        per_page: int = 200,
        page_token: str | None = None,
        sort_by: str | None = None,
        sort_order: Literal["asc", "desc"] | None = None,
        context: RoutingContext | None = None,
        caller: Caller | None = None,
    ) -> RecordPage:
        """One page of the module's records; `more` says whether another follows, and
        `next_page_token` (past 2,000 records) is what to pass back as `page_token`."""
        return await self._execute(
            "list_records",
            context,
            lambda t: t.list_records(
                module=module,
                fields=fields,
                page=page,
                per_page=per_page,
                page_token=page_token,
                sort_by=sort_by,
                sort_order=sort_order,
            ),
            caller,
            lambda: {"module": module, "page": page, "per_page": per_page},
        )

    async def search_page(
        self,
        criteria: Criteria,
        *,
        module: str = "Accounts",
        fields: Sequence[str] | None = None,
        page: int = 1,
        per_page: int = 200,
        context: RoutingContext | None = None,
        caller: Caller | None = None,
    ) -> RecordPage:
        """One page of Zoho's search API (at most 2,000 matches in all), with `more`."""
        return await self._execute(
            "search_page",
            context,
            lambda t: t.search_page(
                criteria, module=module, fields=fields, page=page, per_page=per_page
            ),
            caller,
            lambda: {"module": module, "criteria": criteria.to_search(), "page": page},
        )

    async def get_related_records(
        self,
        record_id: str,
        related_list: str,
        *,
        module: str = "Accounts",
        fields: Sequence[str] | None = None,
        page: int = 1,
        per_page: int = 200,
        context: RoutingContext | None = None,
        caller: Caller | None = None,
    ) -> RecordPage:
        """A page of the record's related list: "Contacts", "Deals", "Notes", "Tasks",
        "Calls" or "Events" (another raises InvalidDataError naming them)."""
        return await self._execute(
            "get_related_records",
            context,
            lambda t: t.get_related_records(
                record_id,
                related_list,
                module=module,
                fields=fields,
                page=page,
                per_page=per_page,
            ),
            caller,
            lambda: {"module": module, "record_id": record_id, "related_list": related_list},
        )

    async def get_notes(
        self,
        record_id: str,
        *,
        module: str = "Accounts",
        page: int = 1,
        per_page: int = 200,
        context: RoutingContext | None = None,
        caller: Caller | None = None,
    ) -> RecordPage:
        """A page of the notes on the record, newest first."""
        return await self._execute(
            "get_notes",
            context,
            lambda t: t.get_notes(record_id, module=module, page=page, per_page=per_page),
            caller,
            lambda: {"module": module, "record_id": record_id},
        )

    async def get_deleted_records(
        self,
        *,
        module: str = "Accounts",
        since: datetime | None = None,
        type: DeletedType = "all",
        page: int = 1,
        per_page: int = 200,
        context: RoutingContext | None = None,
        caller: Caller | None = None,
    ) -> RecordPage:
        """A page of the module's deleted records, latest first: `recycle` (still in the
        recycle bin), `permanent`, or `all`; only those deleted after `since` when given."""
        return await self._execute(
            "get_deleted_records",
            context,
            lambda t: t.get_deleted_records(
                module=module, since=since, type=type, page=page, per_page=per_page
            ),
            caller,
            lambda: {"module": module, "type": type},
        )

    async def count_records(
        self,
        *,
        module: str = "Accounts",
        criteria: Criteria | None = None,
        context: RoutingContext | None = None,
        caller: Caller | None = None,
    ) -> int:
        """How many records the module has, or how many match `criteria`."""
        return await self._execute(
            "count_records",
            context,
            lambda t: t.count_records(module=module, criteria=criteria),
            caller,
            lambda: {"module": module},
        )

    async def find_users(
        self,
        query: str,
        *,
        context: RoutingContext | None = None,
        caller: Caller | None = None,
    ) -> list[dict[str, Any]]:
        """Users whose email is `query` (exact, case-insensitive) or whose name contains it
        (case-insensitive), as Zoho gives them (id, full_name, email, status, …); [] when
        none match. Served from the tier's copy of the users (revalidated with
        If-Modified-Since once it is older than five minutes); the MCP tier has no users
        call, so the call moves on to another tier."""
        return await self._execute(
            "find_users", context, lambda t: t.find_users(query), caller, dict
        )

    async def add_note(
        self,
        record_id: str,
        *,
        content: str,
        title: str | None = None,
        module: str = "Accounts",
        context: RoutingContext | None = None,
        caller: Caller | None = None,
    ) -> RecordResult:
        """A note on the record; the new note's id in `.id`. A refused note raises."""
        return await self._execute(
            "add_note",
            context,
            lambda t: t.add_note(record_id, content=content, title=title, module=module),
            caller,
            lambda: {"module": module, "record_id": record_id},
        )

    async def create_records(
        self,
        records: Sequence[Mapping[str, Any]],
        *,
        module: str = "Accounts",
        context: RoutingContext | None = None,
        caller: Caller | None = None,
    ) -> BulkResult:
        """Insert records: one outcome per input, in input order (the new id in `.id`). The
        MCP tier cannot create, so the call moves on to another tier."""
        ctx = context or RoutingContext(operation_type="create_records", record_count=len(records))
        return await self._execute(
            "create_records",
            ctx,
            lambda t: t.create_records(records, module=module),
            caller,
            lambda: {"module": module, "records": len(records)},
        )

    # Health, metrics, breakers.

    def routed(
        self, operation: str = "get_account", context: RoutingContext | None = None
    ) -> list[TierName]:
        """The tiers a call of `operation` would be tried on now, first choice first: the
        routed tiers whose breakers admit calls (only the first choice without failover)."""
        return [
            n for n in self._runner.order(operation, context) if not self._breakers[n].is_open()
        ]

    async def get_tier_health(self) -> dict[TierName, dict[str, Any]]:
        """Run every tier's health check now (concurrently), building the tiers not built
        yet; breaker state included. A tier that cannot be built is reported unhealthy; a
        tier switched on that the settings cannot serve is reported `configured: False`,
        unhealthy, with the reason as its `detail`, and not checked.

        Health checks are measured (operation "health_check") but do not move the breakers.
        """
        with correlation_scope():
            names = list(self.tiers)
            results = await asyncio.gather(*(self._probe(name) for name in names))
        report: dict[TierName, dict[str, Any]] = {}
        for name in TIER_NAMES:
            entry = self._presence(name)
            if name in names:
                entry.update(results[names.index(name)])
            elif not entry["configured"]:
                entry.update(healthy=False, latency_ms=0.0, detail=self.tiers.unconfigured[name])
            entry["circuit_breaker"] = self._breakers[name].status()
            report[name] = entry
        return report

    def _presence(self, name: TierName) -> dict[str, Any]:
        """Whether a tier is switched on (`enabled`) and can work with the settings."""
        unconfigured = name in self.tiers.unconfigured
        return {
            "tier": name,
            "enabled": name in self.tiers or unconfigured,
            "configured": not unconfigured,
        }

    async def _probe(self, name: TierName) -> dict[str, Any]:
        try:
            tier = self.tiers.get(name)
        except SergasError as exc:
            self._emit(CallEvent(name, "health_check", "failure", 0.0, exc.code))
            return {"healthy": False, "latency_ms": 0.0, "detail": exc.message}
        return await probe(name, tier, self.config.tiers[name].timeout, self._emit)

    def get_tier_metrics(self) -> dict[TierName, dict[str, Any]]:
        """Per tier: counts, success rate, avg/p50/p95/p99 (ms), top errors, breaker status."""
        snapshot = self.metrics.snapshot() if self.metrics else {}
        return {
            name: {
                **snapshot.get(name, {"tier": name}),
                **self._presence(name),
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
