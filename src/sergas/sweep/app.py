"""The sweep as a program: the runtime it runs on, the gateway it reads and writes through,
and the summary of what it did.

`open_sweep()` opens the runtime (`sergas.runtime.open_runtime`) with the sweep's metrics
hook; with no Zoho credentials configured the runtime runs it on the embedded sandbox, its
CRM kept in a state file under the data directory, so each run sees the previous run's
writes.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sergas.db.engine import safe_url
from sergas.manager import RoutingContext, ZohoIntegrationManager
from sergas.manager.config import parse_tier_name
from sergas.manager.routing import BULK_RECORD_COUNT
from sergas.org import background
from sergas.query import Criteria
from sergas.runtime import Runtime, Target, open_runtime
from sergas.settings import Settings
from sergas.sweep.metrics import SweepMetrics
from sergas.sweep.reading import Gateway
from sergas.sweep.runner import Progress, RunControl, SweepReport, run_sweep
from sergas.sweep.settings import SweepSettings
from sergas.sweep.store import SweepStore
from sergas.tiers.base import BulkResult, Record, TierName

__all__ = ["Sweep", "open_sweep", "routed", "summary"]


@dataclass(frozen=True)
class Sweep:
    """A sweep ready to run: its runtime, its settings and its metrics hook."""

    runtime: Runtime
    settings: SweepSettings
    metrics: SweepMetrics

    @property
    def description(self) -> str:
        """Where it runs, as the first line of `sergas sweep` says it."""
        target = self.runtime.target
        if not target.embedded:
            return target.description
        database = safe_url(self.runtime.settings.effective_database_url)
        return (
            f"embedded sandbox: no Zoho credentials configured, so this sweep runs on "
            f"{target.description} with the database {database}"
        )

    async def run(
        self,
        *,
        dry_run: bool = False,
        restart: bool = False,
        out: Path | None = None,
        progress: Progress | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        control: RunControl | None = None,
    ) -> dict[str, Any]:
        """Run the sweep; return the summary. `control`: who holds the lease and writes
        the batches (default: this process, see `RunControl`)."""
        target = self.runtime.target
        before = target.stats() if target.stats else None
        # Background work for the org's limits: refused once the credit reserve is reached.
        with background("sweep"):
            report = await self._run(dry_run, restart, out, progress, clock, control)
        after = target.stats() if target.stats else None
        result = summary(report, target, self.metrics.snapshot(), before, after)
        if report.run_id is not None and report.finished and report.merged_into is None:
            extra = {k: result[k] for k in ("credits", "http_requests", "tiers", "target")}
            await SweepStore(self.runtime.engine).annotate(report.run_id, extra)
        return result

    async def _run(
        self,
        dry_run: bool,
        restart: bool,
        out: Path | None,
        progress: Progress | None,
        clock: Callable[[], datetime],
        control: RunControl | None,
    ) -> SweepReport:
        runtime = self.runtime
        chosen = out or self.settings.out
        return await run_sweep(
            routed(runtime.manager, self.settings.tier),
            SweepStore(runtime.engine),
            runtime.scope,
            self.settings,
            clock=clock,
            dry_run=dry_run,
            restart=restart,
            out=chosen or default_out(runtime.settings, self.settings, clock()),
            progress=progress,
            control=control,
            # A folder asked for is always written; the dated default only when it says
            # something new.
            reuse_briefs=chosen is None and not dry_run,
        )


@contextlib.asynccontextmanager
async def open_sweep(settings: Settings, sweep_settings: SweepSettings) -> AsyncIterator[Sweep]:
    """The runtime for a sweep (Zoho, or the embedded sandbox without credentials)."""
    metrics = SweepMetrics()
    async with open_runtime(settings, embedded=True, hooks=[metrics]) as runtime:
        yield Sweep(runtime, sweep_settings, metrics)


class _Preferring:
    """The manager, asked to try one tier first on every bulk call (failover still applies);
    with no tier, the manager's routing for bulk calls."""

    def __init__(self, manager: ZohoIntegrationManager, tier: TierName | None) -> None:
        self.manager = manager
        self.tier: TierName | None = tier

    async def bulk_read_accounts(
        self,
        *,
        criteria: Criteria | None = None,
        fields: Sequence[str] | None = None,
        module: str = "Accounts",
    ) -> list[Record]:
        context = RoutingContext(operation_type="bulk_read_accounts", preferred_tier=self.tier)
        return await self.manager.bulk_read_accounts(
            criteria=criteria, fields=fields, module=module, context=context
        )

    def iter_accounts(
        self,
        *,
        criteria: Criteria | None = None,
        fields: Sequence[str] | None = None,
        module: str = "Accounts",
    ) -> AsyncIterator[Record]:
        # A whole module, page after page: routed as the bulk read it is.
        context = RoutingContext(
            operation_type="iter_accounts",
            record_count=BULK_RECORD_COUNT,
            preferred_tier=self.tier,
        )
        return self.manager.iter_accounts(
            criteria=criteria, fields=fields, module=module, context=context
        )

    async def bulk_update_accounts(
        self, records: Sequence[Mapping[str, Any]], *, module: str = "Accounts"
    ) -> BulkResult:
        context = RoutingContext(
            operation_type="bulk_update_accounts",
            record_count=len(records),
            preferred_tier=self.tier,
        )
        return await self.manager.bulk_update_accounts(records, module=module, context=context)


def routed(manager: ZohoIntegrationManager, tier: str) -> Gateway:
    """The gateway the sweep uses: the manager's routing for bulk calls for "auto", else
    preferring `tier`."""
    return _Preferring(manager, None if tier == "auto" else parse_tier_name(tier))


def default_out(settings: Settings, sweep_settings: SweepSettings, now: datetime) -> Path:
    if sweep_settings.out is not None:
        return sweep_settings.out
    return settings.data_path / "briefs" / now.strftime("%Y-%m-%dT%H%M%SZ")


def summary(
    report: SweepReport,
    target: Target,
    metrics: dict[str, Any],
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> dict[str, Any]:
    """The summary as data (what --json prints and the table shows).

    Credits are counted by the sandbox when the sweep runs on it. Against a real endpoint
    they are "unknown" (`used` is None): bulk jobs, most of a sweep's cost, are not seen by
    the manager's per-call count, and a partial count would read as the whole."""
    credits: dict[str, Any] = {"source": "unknown", "used": None}
    http_calls = None
    if before is not None and after is not None:
        used = after["credits"]["total_used"] - before["credits"]["total_used"]
        credits = {"source": "sandbox", "used": used}
        http_calls = after["total_calls"] - before["total_calls"]
    return {
        "target": "embedded sandbox" if target.embedded else target.settings.api_domain,
        "embedded": target.embedded,
        "run_id": report.run_id,
        "dry_run": report.dry_run,
        "resumed": report.resumed,
        "finished": report.finished,
        "merged_into": report.merged_into,
        "checked_at": report.checked_at.isoformat(),
        "accounts": report.counts(),
        "not_written": report.not_written(),
        "tiers": metrics["tiers"],
        "http_requests": http_calls,
        "credits": credits,
        "failovers": metrics["failovers"],
        "breaker_events": metrics["breaker_events"],
        "duration_s": round(report.duration_s, 2),
        "briefs": str(report.briefs.path) if report.briefs else None,
        "briefs_reused": report.briefs_reused,
    }
