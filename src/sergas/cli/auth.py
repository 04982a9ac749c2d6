"""`sergas auth`: log in with a self-client grant code, show the token's status, revoke it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from sergas.cli._common import console, print_json
from sergas.cli.db import run_with_engine

app = typer.Typer(help="Zoho OAuth: log in, token status, revoke.", no_args_is_help=True)

USER = typer.Option(None, "--user", help="The Zoho user the token belongs to (default ZOHO_USER).")


async def _manager_ready(engine: AsyncEngine) -> Any:
    """A TokenManager on `engine`, after making sure the schema is at head."""
    from sergas.auth import token_manager
    from sergas.db.migrate import ensure_schema
    from sergas.settings import get_settings

    settings = get_settings()
    settings.require_client()
    await ensure_schema(engine, auto_upgrade=settings.is_embedded_database)
    return token_manager(settings, engine=engine)


@app.command()
def login(
    code: str = typer.Option(..., "--code", help="A grant code from Zoho's API console."),
    user: str | None = USER,
) -> None:
    """Exchange a self-client grant code for a refresh token and store it (encrypted)."""

    async def run(engine: AsyncEngine) -> tuple[str, float]:
        manager = await _manager_ready(engine)
        try:
            stored = await manager.login(code, user)
        finally:
            await manager.aclose()
        return str(stored.key), stored.valid_for(manager.clock.now()).total_seconds()

    key, left = run_with_engine(run)
    console.print(
        f"stored a new refresh token for {key}; access token valid for {left / 60:.0f} min"
    )


@app.command()
def status(
    user: str | None = USER,
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """A valid access token's time to expiry (refreshing if needed) and the last refreshes."""

    async def run(engine: AsyncEngine) -> dict[str, Any]:
        manager = await _manager_ready(engine)
        try:
            token = await manager.get_token(user)
            state = await manager.status(user)
        finally:
            await manager.aclose()
        left = (token.expires_at - datetime.now(UTC)).total_seconds()
        return {
            "key": str(state.key),
            "user": state.key.user,
            "client_id": state.key.client_id,
            "accounts_url": state.key.accounts_url,
            "api_domain": token.api_domain,
            "expires_at": token.expires_at.isoformat(),
            "expires_in_seconds": round(left),
            "generation": token.generation,
            "recent_refreshes": [
                {
                    "at": a.at.isoformat(),
                    "host": a.host,
                    "pid": a.pid,
                    "reason": a.reason,
                    "outcome": a.outcome.value,
                    "latency_ms": round(a.latency_ms, 1) if a.latency_ms is not None else None,
                    "error_code": a.error_code,
                }
                for a in state.recent
            ],
        }

    report = run_with_engine(run)
    if json_out:
        print_json(report)
        return
    left = report["expires_in_seconds"]
    console.print(str(report["key"]), style="bold")
    console.print(
        f"access token valid for {left // 60} min {left % 60} s (until {report['expires_at']}), "
        f"generation {report['generation']}, API domain {report['api_domain']}"
    )
    table = Table(
        "at", "host", "pid", "reason", "outcome", "latency", "error", title="last refreshes"
    )
    for a in report["recent_refreshes"]:
        latency = f"{a['latency_ms']} ms" if a["latency_ms"] is not None else ""
        table.add_row(
            a["at"][:19].replace("T", " "),
            a["host"],
            str(a["pid"]),
            a["reason"],
            a["outcome"],
            latency,
            a["error_code"] or "",
        )
    console.print(table)


@app.command()
def revoke(
    user: str | None = USER,
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
) -> None:
    """Revoke the refresh token at Zoho and delete it from the database."""
    if not yes:
        typer.confirm("Revoke the stored Zoho refresh token?", abort=True)

    async def run(engine: AsyncEngine) -> bool:
        manager = await _manager_ready(engine)
        try:
            return bool(await manager.revoke(user))
        finally:
            await manager.aclose()

    if run_with_engine(run):
        console.print("refresh token revoked at Zoho and deleted")
    else:
        console.print("no token stored; nothing to revoke")
