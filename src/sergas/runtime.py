"""The gateway, opened from settings and closed once: the one place Sergas is assembled.

```
open_runtime()
  target     Zoho (ZOHO_* credentials set), or with `embedded=True` and none set, the
             offline sandbox, its CRM in <data dir>/sandbox: served by a thread of this
             process, or with `sandbox_process=True` by a child process of its own
  database   the engine on SERGAS_DATABASE_URL (or the embedded SQLite file); schema at
             head, upgraded in place only for the embedded database
  tokens     one TokenManager, shared by every tier
  org        the org's limits in front of every call (sergas.org): this process's own, or
             shared with every process and host through Redis when SERGAS_REDIS_URL is set,
             and then the tiers' circuit breakers too (sergas.org.breakers)
  tiers      each built on its first call (`sergas.manager.tiers.Tiers`)
  manager    ZohoIntegrationManager over them, with the caller's hooks and Prometheus; calls
             that name no caller run as `caller`; refused calls go to the audit table
```

Closing runs in reverse: the manager (the tiers it built), the org's limiter (its Redis
client), the embedded sandbox's token row, the TokenManager, the engine, the sandbox. The
CLI, the HTTP service, the MCP server and the sweep all open it here; whatever they all need
next is opened here too and becomes a field of `Runtime`. The job queue sits a layer above
(it runs the sweep): `sergas.jobs.queue.open_queue()` opens it on the database opened here.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sergas.settings import Settings, get_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from sergas.auth.manager import TokenManager
    from sergas.manager import (
        Caller,
        Hook,
        IntegrationConfig,
        PrometheusMetrics,
        SyncZohoIntegrationManager,
        ZohoIntegrationManager,
    )
    from sergas.org.limiter import OrgLimiter
    from sergas.sandbox.server import SandboxProcess

__all__ = [
    "Runtime",
    "Target",
    "credentials_configured",
    "open_database",
    "open_runtime",
    "open_sync_manager",
    "scope_for",
    "zoho_scope",
]


def credentials_configured(settings: Settings) -> bool:
    """Any of ZOHO_CLIENT_ID / _SECRET / _REFRESH_TOKEN set means "use Zoho" (an incomplete
    set then fails with a message naming what is missing, rather than silently going
    embedded)."""
    return any(
        v is not None
        for v in (settings.zoho_client_id, settings.zoho_client_secret, settings.zoho_refresh_token)
    )


def zoho_scope(settings: Settings) -> str:
    """How Sergas's tables name the Zoho CRM these settings reach (its sweep runs, last
    scores, lease, and the queue's sweep lock)."""
    return f"{settings.api_domain}#{settings.zoho_user}"


def scope_for(settings: Settings, *, embedded: bool = True) -> str:
    """The scope `open_runtime()` would give the target of these settings, without opening
    it (for commands that only read what was stored under it: `sergas sweep runs`)."""
    if embedded and not credentials_configured(settings):
        return f"embedded:{_embedded_state_file(settings)}"
    return zoho_scope(settings)


def _embedded_state_file(settings: Settings) -> Path:
    return settings.data_path / "sandbox" / "crm.sqlite3"


@dataclass(frozen=True)
class Target:
    """The CRM the gateway talks to, and the settings that reach it."""

    settings: Settings
    scope: str  # names this CRM in Sergas's tables (the sweep's runs and last scores)
    embedded: bool
    description: str  # "Zoho CRM at …", or the embedded sandbox, its size and its file
    state_file: Path | None = None  # the embedded sandbox's CRM
    stats: Callable[[], dict[str, Any]] | None = None  # the embedded sandbox's /__sandbox/stats
    # Why the CRM is gone, if it is: the embedded sandbox's child process ended.
    down: Callable[[], str | None] | None = None


@dataclass(frozen=True)
class Runtime:
    """What `open_runtime()` opened; valid until its block ends."""

    settings: Settings  # the process's: database, data directory
    target: Target
    config: IntegrationConfig
    engine: AsyncEngine
    tokens: TokenManager
    manager: ZohoIntegrationManager
    prometheus: PrometheusMetrics
    org: OrgLimiter

    @property
    def scope(self) -> str:
        return self.target.scope

    async def database_ok(self) -> bool:
        """Whether the database answers a trivial query now."""
        from sqlalchemy import text

        from sergas.db.engine import database_errors

        try:
            with database_errors(self.engine.url):
                async with self.engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True


@contextlib.asynccontextmanager
async def open_runtime(
    settings: Settings | None = None,
    config: IntegrationConfig | None = None,
    *,
    embedded: bool = False,
    hooks: Iterable[Hook] = (),
    prometheus: PrometheusMetrics | None = None,
    caller: Caller | None = None,
    sandbox_process: bool = False,
) -> AsyncIterator[Runtime]:
    """Open the gateway (see the module docstring); close it, in reverse, when the block ends.

    `settings` default to the process's, `config` to `IntegrationConfig.from_env()`.
    Without Zoho credentials this raises ConfigError naming them, unless `embedded`: then
    it runs on the embedded sandbox (seeded with SERGAS_SWEEP_EMBEDDED_ACCOUNTS accounts
    the first time). `hooks` see every manager event; `prometheus` is where the manager's
    series go (default: the process-wide registry). `caller` is who the manager's calls are
    made for when a call names no one (default: this program, with full access); every
    refused call is recorded in the audit table (`sergas.access.audit`).

    `sandbox_process` serves the embedded sandbox in a child process instead of a thread:
    for a server that runs for hours (`sergas serve`), whose requests would otherwise take
    turns for this process's GIL with the sandbox's searches of thousands of records. A
    short command keeps the thread: a process would add its start to every run.
    """
    from sergas.access.audit import AuditLog
    from sergas.auth.factory import token_manager
    from sergas.manager import IntegrationConfig, ZohoIntegrationManager, prometheus_metrics
    from sergas.manager.caller import PROGRAM
    from sergas.manager.manager import TIER_NAMES
    from sergas.manager.tiers import Tiers
    from sergas.org import open_org
    from sergas.org.breakers import Breaker, share_breakers
    from sergas.org.metrics import expose_org

    settings = settings or get_settings()
    config = config or IntegrationConfig.from_env()
    prometheus = prometheus or prometheus_metrics()
    async with contextlib.AsyncExitStack() as stack:
        target = stack.enter_context(_open_target(settings, embedded, sandbox_process))
        engine = await stack.enter_async_context(open_database(settings))
        tokens = token_manager(target.settings, engine=engine)
        stack.push_async_callback(tokens.aclose)
        if target.embedded:
            stack.push_async_callback(_forget_token, tokens, engine)
        org = await stack.enter_async_context(open_org(target.settings, tokens.user))
        stack.enter_context(expose_org(prometheus.registry, org))
        tiers = Tiers.from_settings(config.enabled_tiers, target.settings, tokens)
        manager = ZohoIntegrationManager(
            tiers,
            config,
            hooks=hooks,
            prometheus=prometheus,
            caller=caller or PROGRAM,
            audit=AuditLog(engine).record_refusal,
        )
        stack.push_async_callback(manager.aclose)
        client = org.shared.client if org.shared is not None else None
        breakers: dict[str, Breaker] = {name: manager.breaker(name) for name in TIER_NAMES}
        await stack.enter_async_context(share_breakers(client, org.org, breakers))
        yield Runtime(settings, target, config, engine, tokens, manager, prometheus, org)


@contextlib.asynccontextmanager
async def open_database(settings: Settings | None = None) -> AsyncIterator[AsyncEngine]:
    """The engine on the configured database, its schema at head (brought there in place
    only for the embedded SQLite file; a configured one raises DatabaseError naming
    `sergas db upgrade`); disposed when the block ends. What `open_runtime()` opens after
    the target, and all that the commands needing only the database (API keys, approvals)
    open."""
    from sergas.db.engine import create_engine
    from sergas.db.migrate import ensure_schema

    settings = settings or get_settings()
    engine = create_engine(settings=settings)
    try:
        await ensure_schema(engine, auto_upgrade=settings.is_embedded_database)
        yield engine
    finally:
        await engine.dispose()


def open_sync_manager(
    settings: Settings | None = None,
    config: IntegrationConfig | None = None,
    *,
    embedded: bool = False,
    hooks: Iterable[Hook] = (),
    caller: Caller | None = None,
) -> SyncZohoIntegrationManager:
    """The manager of a runtime opened as `open_runtime()` does, blocking: for scripts and
    worker processes without an event loop. Closing it closes the runtime."""
    from sergas.manager import SyncZohoIntegrationManager

    @contextlib.asynccontextmanager
    async def opened() -> AsyncIterator[ZohoIntegrationManager]:
        async with open_runtime(
            settings, config, embedded=embedded, hooks=hooks, caller=caller
        ) as runtime:
            yield runtime.manager

    return SyncZohoIntegrationManager(opened)


@contextlib.contextmanager
def _open_target(settings: Settings, embedded: bool, sandbox_process: bool) -> Iterator[Target]:
    if not embedded or credentials_configured(settings):
        settings.require_client()
        yield Target(
            settings,
            scope=zoho_scope(settings),
            embedded=False,
            description=f"Zoho CRM at {settings.api_domain}",
        )
        return
    from pydantic import SecretStr

    from sergas.sandbox.config import SandboxConfig
    from sergas.sandbox.server import (
        RunningSandbox,
        serve_sandbox,
        serve_sandbox_process,
    )

    state_file = _embedded_state_file(settings)
    config = SandboxConfig(accounts=settings.embedded_accounts, state_file=state_file)
    served: contextlib.AbstractContextManager[RunningSandbox | SandboxProcess] = (
        serve_sandbox_process(config) if sandbox_process else serve_sandbox(config)
    )
    with served as running:
        env = running.env
        reaching = settings.model_copy(
            update={
                "zoho_client_id": env["ZOHO_CLIENT_ID"],
                "zoho_client_secret": SecretStr(env["ZOHO_CLIENT_SECRET"]),
                "zoho_refresh_token": SecretStr(env["ZOHO_REFRESH_TOKEN"]),
                "zoho_api_domain": env["ZOHO_API_DOMAIN"],
                "zoho_accounts_url": env["ZOHO_ACCOUNTS_URL"],
                "zoho_file_upload_url": env["ZOHO_FILE_UPLOAD_URL"],
                "zoho_mcp_url": env["ZOHO_MCP_URL"],
            }
        )
        origin = "loaded from" if running.seeded_from_file else "seeded into"
        count = running.accounts
        yield Target(
            reaching,
            scope=scope_for(settings),
            embedded=True,
            description=(
                f"the offline Zoho CRM sandbox ({count:,} accounts {origin} {state_file})"
            ),
            state_file=state_file,
            # In process, read directly; in a child, over HTTP (/__sandbox/stats).
            stats=running.sandbox.stats if isinstance(running, RunningSandbox) else running.stats,
            down=None if isinstance(running, RunningSandbox) else _why_down(running),
        )


def _why_down(running: SandboxProcess) -> Callable[[], str | None]:
    def down() -> str | None:
        ended = running.ended()
        if ended is None:
            return None
        return (
            f"the embedded sandbox's process (pid {running.pid}) {ended}: its CRM is gone "
            "until this process restarts"
        )

    return down


async def _forget_token(tokens: TokenManager, engine: AsyncEngine) -> None:
    """The embedded sandbox listens on a new port each run, and tokens are kept per Accounts
    URL: drop this run's row, and its refresh audit, rather than leave them behind. The
    audit matters: every embedded run refreshes the sandbox's one fixed refresh token, and
    the guard against Zoho's 10-refreshes-in-10-minutes limit counts that token's audit
    rows, so kept rows would refuse the eleventh `sergas accounts` command in ten minutes."""
    from sqlalchemy import delete

    from sergas.db.engine import database_errors
    from sergas.db.tables import token_refresh_audit
    from sergas.errors import SergasError

    key = tokens.key()
    with contextlib.suppress(SergasError):
        await tokens.store.delete(key)
        with database_errors(engine.url):
            async with engine.begin() as conn:
                await conn.execute(
                    delete(token_refresh_audit).where(
                        token_refresh_audit.c.accounts_url == key.accounts_url
                    )
                )
