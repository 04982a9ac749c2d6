"""`sergas serve`: the HTTP service and the dashboard under uvicorn, until SIGINT or SIGTERM.

With no Zoho credentials configured it serves the embedded default, as `sergas sweep` and
`sergas accounts` do: the sandbox's CRM and the database in the data directory, so the
dashboard shows the runs `make demo` made. Its first line says so. The sandbox then runs
in a child process (`sergas.runtime.open_runtime(sandbox_process=True)`), stopped with the
service.

On a signal uvicorn stops accepting connections, lets in-flight requests finish (up to
`--graceful-timeout` seconds), then the app's lifespan closes the manager, the database and the
embedded sandbox.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

import typer

from sergas.cli._common import debug_enabled, err_console


def _log_format(settings: object) -> str:
    """JSON lines for a service, unless SERGAS_LOG_FORMAT chose otherwise."""
    chosen = "log_format" in getattr(settings, "model_fields_set", set())
    return str(getattr(settings, "log_format", "json")) if chosen else "json"


async def preflight(embedded: bool = False) -> None:
    """Fail here, in one line, on what would otherwise fail inside uvicorn's startup:
    missing credentials, bad tier settings, a database not at the current schema."""
    from sergas.manager import IntegrationConfig
    from sergas.runtime import open_database
    from sergas.settings import get_settings

    settings = get_settings()
    if not embedded:
        settings.require_client()
    IntegrationConfig.from_env()
    async with open_database(settings):
        pass


def listen(host: str, port: int, setting: str) -> socket.socket:
    """The server's listening socket, opened here (not by uvicorn) so that a port in use
    or a host that does not resolve is one clear error line, not uvicorn's log lines."""
    from sergas.errors import ConfigError

    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.create_server((host, port), family=family)
        # asyncio turns Nagle off only on sockets it made; without this, a response's body
        # waits ~40 ms behind its headers for the client's delayed ACK. Accepted sockets
        # inherit it.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    except OSError as exc:
        raise ConfigError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; stop what uses it or "
            f"choose another (--host/--port, or {setting}_HOST/_PORT)"
        ) from None


class StartupGuard:
    """The app with its startup failure kept, to be raised once uvicorn has exited: a
    failure in the lifespan (the runtime opened there: the embedded sandbox's process, the
    database) is then the CLI's one error line, where uvicorn would log its traceback.
    With --debug uvicorn logs the traceback as before."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.error: Exception | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def quiet(message: Any) -> None:
            if message.get("type") == "lifespan.startup.failed" and not debug_enabled():
                message = {**message, "message": ""}  # uvicorn logs a non-empty one
            await send(message)

        try:
            await self.app(scope, receive, quiet)
        except Exception as exc:
            self.error = exc
            raise


class _StartupFailedLine(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "Application startup failed. Exiting."


def run_server(app: Any, sock: socket.socket, **options: Any) -> None:
    """uvicorn on an open socket until SIGINT or SIGTERM; a failed startup raises its error."""
    import uvicorn

    guard = StartupGuard(app)
    config = uvicorn.Config(
        guard, lifespan="on", server_header=False, log_level="warning", **options
    )
    line = _StartupFailedLine()
    uvicorn_log = logging.getLogger("uvicorn.error")
    if not debug_enabled():
        uvicorn_log.addFilter(line)
    try:
        with sock:
            uvicorn.Server(config).run(sockets=[sock])
    except SystemExit:  # uvicorn's exit after a failed startup
        if guard.error is None:
            raise
    finally:
        uvicorn_log.removeFilter(line)
    if guard.error is not None:
        raise guard.error


def serve(
    host: str | None = typer.Option(None, "--host", help="Default: SERGAS_SERVICE_HOST."),
    port: int | None = typer.Option(None, "--port", help="Default: SERGAS_SERVICE_PORT."),
    graceful_timeout: float | None = typer.Option(
        None, "--graceful-timeout", help="Seconds in-flight requests get after SIGTERM."
    ),
) -> None:
    """Serve the dashboard (/) and the HTTP API: /v1/accounts, /v1/tiers, /healthz, /readyz,
    /metrics, /docs. Without Zoho credentials: the embedded default."""
    from sergas.db.engine import safe_url
    from sergas.log import configure_logging
    from sergas.runtime import credentials_configured
    from sergas.service import create_app
    from sergas.service.settings import load_service_settings
    from sergas.settings import get_settings

    settings = get_settings()
    overrides = {
        k: v
        for k, v in (("host", host), ("port", port), ("graceful_timeout", graceful_timeout))
        if v is not None
    }
    service = load_service_settings(**overrides)
    configure_logging(_log_format(settings), settings.log_level)
    embedded = not credentials_configured(settings)
    asyncio.run(preflight(embedded))
    sock = listen(service.host, service.port, "SERGAS_SERVICE")
    app = create_app(settings=settings, service=service, embedded=embedded)
    if embedded:
        err_console.print(
            "embedded sandbox: no Zoho credentials configured, so this service runs on the "
            f"offline Zoho CRM sandbox in {settings.data_path / 'sandbox'} with the database "
            f"{safe_url(settings.effective_database_url)}",
            highlight=False,
            soft_wrap=True,
        )
    err_console.print(
        f"Sergas on http://{service.host}:{service.port}: the dashboard at /, the API's docs "
        "at /docs (sign in with a key from `sergas apikeys create`)",
        highlight=False,
        soft_wrap=True,
    )
    run_server(
        app,
        sock,
        access_log=False,  # the service logs each request itself, with its request id
        timeout_graceful_shutdown=int(service.graceful_timeout),
    )
