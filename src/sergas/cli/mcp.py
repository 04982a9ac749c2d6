"""`sergas mcp`: the MCP server for agents, on stdio (one client, the parent process) or
streamable HTTP (clients with API keys at http://HOST:PORT/mcp)."""

from __future__ import annotations

import asyncio
from enum import StrEnum

import typer

from sergas.cli._common import err_console


class Transport(StrEnum):
    stdio = "stdio"
    http = "http"


def mcp(
    transport: Transport = typer.Option(Transport.stdio, "--transport", help="stdio or http."),
    host: str | None = typer.Option(None, "--host", help="http: default SERGAS_MCP_HOST."),
    port: int | None = typer.Option(None, "--port", help="http: default SERGAS_MCP_PORT."),
) -> None:
    """Serve MCP tools to agents: accounts, the sweep's findings, proposed changes.

    Every tool call is audited; proposed changes wait in the approval queue unless the
    client's key has write scope. On stdio the client is the key in SERGAS_MCP_API_KEY,
    or a read-only local client without one."""
    from sergas.agents.settings import load_agent_settings
    from sergas.agents.transport import create_mcp_app, run_stdio
    from sergas.cli.serve import listen, preflight, run_server
    from sergas.log import configure_logging
    from sergas.settings import get_settings

    settings = get_settings()
    overrides = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    agent = load_agent_settings(**overrides)
    # stdout carries the protocol on stdio: logs go to stderr (structlog's default here).
    fmt = settings.log_format if "log_format" in settings.model_fields_set else "json"
    configure_logging(fmt, settings.log_level)
    asyncio.run(preflight())
    if transport is Transport.stdio:
        asyncio.run(run_stdio(settings=settings, agent=agent))
        return
    sock = listen(agent.host, agent.port, "SERGAS_MCP")
    err_console.print(f"Sergas MCP server on http://{agent.host}:{agent.port}/mcp", highlight=False)
    app = create_mcp_app(settings=settings, agent=agent)
    run_server(app, sock, timeout_graceful_shutdown=10)
