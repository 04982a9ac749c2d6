"""Helpers for the service and agent tests: a runtime over a served sandbox, the app in
process with its lifespan, a server on a loopback port, API keys."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx2
import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine
from tests.helpers import wait_until

from sergas.access.keys import ApiKeyStore
from sergas.auth import TokenManager
from sergas.manager import IntegrationConfig, PrometheusMetrics, ZohoIntegrationManager
from sergas.manager.tiers import Tiers
from sergas.org import open_org
from sergas.runtime import Runtime, Target
from sergas.settings import Settings
from sergas.tiers.base import TierName


@contextlib.asynccontextmanager
async def make_runtime(
    settings: Settings, tokens: TokenManager, engine: AsyncEngine, *tiers: TierName
) -> AsyncIterator[Runtime]:
    """A runtime over the test's engine and tokens and the given tiers (REST only by
    default), as `open_runtime()` would assemble it."""
    enabled = set(tiers or ("rest",))
    config = IntegrationConfig.from_env(
        ENABLE_TIER1_MCP="mcp" in enabled,
        ENABLE_TIER2_SDK="sdk" in enabled,
        ENABLE_TIER3_REST="rest" in enabled,
    )
    prometheus = PrometheusMetrics()
    target = Target(
        settings, f"{settings.api_domain}#{settings.zoho_user}", False, "the test sandbox"
    )
    tier_set = Tiers.from_settings(config.enabled_tiers, settings, tokens)
    async with (
        open_org(settings, tokens.user) as org,
        ZohoIntegrationManager(tier_set, config, prometheus=prometheus) as manager,
    ):
        yield Runtime(settings, target, config, engine, tokens, manager, prometheus, org)


@dataclass
class Keys:
    read: str
    write: str

    @staticmethod
    def bearer(key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}


async def make_keys(store: ApiKeyStore) -> Keys:
    read, _ = await store.create("reader", "read")
    write, _ = await store.create("writer", "write")
    return Keys(read, write)


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextlib.contextmanager
def serve_on_loopback(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on a free loopback port (in a thread of its own, with
    its own event loop) until the block ends; yields the base URL."""
    sock = _free_socket()
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=5)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()

    def started() -> bool:
        assert thread.is_alive() or server.started, "the server thread ended before it started"
        return server.started

    try:
        wait_until(started, what="uvicorn to start", timeout=30)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


def wait_for(url: str, timeout: float = 60.0) -> None:
    """Until `url` answers with anything but a server error."""

    def answers() -> bool:
        try:
            return httpx2.get(url, timeout=1).status_code < 500
        except httpx2.TransportError:
            return False

    wait_until(answers, what=f"{url} to answer", timeout=timeout)


@contextlib.contextmanager
def captured_logs() -> Iterator[list[dict[str, Any]]]:
    """Like structlog's capture_logs(), but with the context variables merged in (the
    request id and the client are bound there)."""
    import structlog
    from structlog.testing import LogCapture

    capture = LogCapture()
    previous = structlog.get_config()
    structlog.configure(processors=[structlog.contextvars.merge_contextvars, capture])
    try:
        yield capture.entries
    finally:
        structlog.configure(**previous)
