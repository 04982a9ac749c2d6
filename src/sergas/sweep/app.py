"""The sweep as a program: where it runs (real Zoho or the embedded sandbox), the database,
the manager, and the summary of what it did.

With no Zoho credentials configured, the sandbox is started in this process with its CRM
kept in a state file under the data directory, so each run sees the previous run's writes.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sergas.auth.factory import token_manager
from sergas.db.engine import create_engine, safe_url
from sergas.db.migrate import ensure_schema
from sergas.errors import SergasError
from sergas.manager import RoutingContext, ZohoIntegrationManager
from sergas.manager.config import parse_tier_name
from sergas.query import Criteria
from sergas.settings import Settings, load_settings
from sergas.sweep.metrics import SweepMetrics
from sergas.sweep.reading import Gateway
from sergas.sweep.runner import Progress, SweepReport, run_sweep
from sergas.sweep.settings import SweepSettings
from sergas.sweep.store import SweepStore
from sergas.tiers.base import BulkResult, Record, TierName

__all__ = ["Target", "credentials_configured", "open_target", "summary", "sweep"]


def credentials_configured(settings: Settings) -> bool:
    """Any of ZOHO_CLIENT_ID / _SECRET / _REFRESH_TOKEN set means "use Zoho" (an incomplete
    set then fails with a message naming what is missing, rather than silently going
    embedded)."""
    return any(
        v is not None
        for v in (settings.zoho_client_id, settings.zoho_client_secret, settings.zoho_refresh_token)
    )


@dataclass
class Target:
    """The CRM a sweep talks to, and the settings that reach it."""

    settings: Settings
    scope: str  # names the CRM in the sweep tables (runs and last scores)
    embedded: bool
    description: str
    stats: Callable[[], dict[str, Any]] | None = None  # the embedded sandbox's /__sandbox/stats
    notes: list[str] = field(default_factory=list)


@contextlib.asynccontextmanager
async def open_target(settings: Settings, sweep_settings: SweepSettings) -> AsyncIterator[Target]:
    if credentials_configured(settings):
        settings.require_client()
        yield Target(
            settings,
            scope=f"{settings.api_domain}#{settings.zoho_user}",
            embedded=False,
            description=f"Zoho CRM at {settings.api_domain}",
        )
        return
    from sergas.sandbox.config import SandboxConfig
    from sergas.sandbox.server import serve_sandbox

    state_file = settings.data_path / "sandbox" / "crm.sqlite3"
    config = SandboxConfig(accounts=sweep_settings.embedded_accounts, state_file=state_file)
    with serve_sandbox(config) as running:
        env = running.env
        embedded = load_settings(
            zoho_client_id=env["ZOHO_CLIENT_ID"],
            zoho_client_secret=env["ZOHO_CLIENT_SECRET"],
            zoho_refresh_token=env["ZOHO_REFRESH_TOKEN"],
            zoho_api_domain=env["ZOHO_API_DOMAIN"],
            zoho_accounts_url=env["ZOHO_ACCOUNTS_URL"],
            zoho_file_upload_url=env["ZOHO_FILE_UPLOAD_URL"],
            zoho_mcp_url=env["ZOHO_MCP_URL"],
        )
        origin = "loaded from" if running.sandbox.seeded_from_file else "seeded into"
        yield Target(
            embedded,
            scope=f"embedded:{state_file}",
            embedded=True,
            description=(
                f"embedded sandbox: no Zoho credentials configured, so this sweep runs on the "
                f"offline Zoho CRM sandbox ({running.sandbox.store.count('Accounts'):,} "
                f"accounts {origin} {state_file}) with the database "
                f"{safe_url(settings.effective_database_url)}"
            ),
            stats=running.sandbox.stats,
        )


class _Preferring:
    """The manager, asked to try one tier first on every bulk call (failover still applies)."""

    def __init__(self, manager: ZohoIntegrationManager, tier: TierName) -> None:
        self.manager = manager
        self.tier: TierName = tier

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
    """The gateway the sweep uses: the manager itself for "auto", else preferring `tier`."""
    if tier == "auto":
        return manager
    return _Preferring(manager, parse_tier_name(tier))


def default_out(settings: Settings, sweep_settings: SweepSettings, now: datetime) -> Path:
    if sweep_settings.out is not None:
        return sweep_settings.out
    return settings.data_path / "briefs" / now.strftime("%Y-%m-%dT%H%M%SZ")


async def sweep(
    target: Target,
    settings: Settings,
    sweep_settings: SweepSettings,
    *,
    dry_run: bool = False,
    restart: bool = False,
    out: Path | None = None,
    progress: Progress | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> dict[str, Any]:
    """Run the sweep against `target`, using `settings`' database; return the summary."""
    engine = create_engine(settings=settings)
    try:
        await ensure_schema(engine, auto_upgrade=settings.is_embedded_database)
        metrics = SweepMetrics()
        before = target.stats() if target.stats else None
        tokens = token_manager(target.settings, engine=engine) if target.embedded else None
        try:
            manager = ZohoIntegrationManager.from_settings(
                target.settings, tokens=tokens, hooks=[metrics]
            )
            async with manager:
                report = await run_sweep(
                    routed(manager, sweep_settings.tier),
                    SweepStore(engine),
                    target.scope,
                    sweep_settings,
                    clock=clock,
                    dry_run=dry_run,
                    restart=restart,
                    out=out or default_out(settings, sweep_settings, clock()),
                    progress=progress,
                )
            after = target.stats() if target.stats else None
        finally:
            if tokens is not None:
                # The embedded sandbox listens on a new port each run and tokens are kept
                # per Accounts URL: drop this run's row instead of leaving one per run.
                with contextlib.suppress(SergasError):
                    await tokens.store.delete(tokens.key())
                await tokens.aclose()
    finally:
        await engine.dispose()
    return summary(report, target, metrics.snapshot(), before, after)


def summary(
    report: SweepReport,
    target: Target,
    metrics: dict[str, Any],
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> dict[str, Any]:
    """The summary as data (what --json prints and the table shows)."""
    credits: dict[str, Any] = {"source": "manager", "used": metrics["credits_counted"]}
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
    }
