"""What both servers run on: the database, the TokenManager, the manager, the key store.

`open_runtime()` builds them from settings and closes them in reverse order; tests pass
their own pieces to `Runtime` directly.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sergas.db.engine import create_engine, database_errors
from sergas.manager import IntegrationConfig, PrometheusMetrics, ZohoIntegrationManager
from sergas.service.keys import ApiKeyStore
from sergas.settings import Settings, get_settings

__all__ = ["Runtime", "open_runtime"]


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    manager: ZohoIntegrationManager
    keys: ApiKeyStore
    prometheus: PrometheusMetrics

    @property
    def scope(self) -> str:
        """The CRM these servers talk to, named as the sweep names it in its tables."""
        return f"{self.settings.api_domain}#{self.settings.zoho_user}"

    async def database_ok(self) -> bool:
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
    key_cache_seconds: float = 5.0,
    prometheus: PrometheusMetrics | None = None,
) -> AsyncIterator[Runtime]:
    """Open the database (upgraded when it is the embedded one), tokens and the manager."""
    from sergas.auth import token_manager
    from sergas.db.migrate import ensure_schema

    settings = settings or get_settings()
    settings.require_client()
    engine = create_engine(settings=settings)
    try:
        await ensure_schema(engine, auto_upgrade=settings.is_embedded_database)
        tokens = token_manager(settings, engine=engine)
        prometheus = prometheus or PrometheusMetrics()
        try:
            manager = ZohoIntegrationManager.from_settings(
                settings, config, tokens=tokens, prometheus=prometheus
            )
            async with manager:
                yield Runtime(
                    settings,
                    engine,
                    manager,
                    ApiKeyStore(engine, cache_seconds=key_cache_seconds),
                    prometheus,
                )
        finally:
            await tokens.aclose()
    finally:
        await engine.dispose()
