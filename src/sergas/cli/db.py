"""`sergas db`: migrations of the token database, and a health check."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from sergas.cli._common import console, print_json, styled
from sergas.errors import SergasError

app = typer.Typer(help="The token database: migrations and a health check.", no_args_is_help=True)
T = TypeVar("T")


def run_with_engine(func: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Run `func(engine)` on the configured database, disposing the engine afterwards."""
    from sergas.db import create_engine
    from sergas.log import configure_logging
    from sergas.settings import get_settings

    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)

    async def main() -> T:
        engine = create_engine(settings=settings)
        try:
            return await func(engine)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def run_with_database(func: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Run `func(engine)` on the configured database once its schema is at head (see
    `sergas.runtime.open_database`), disposing the engine afterwards."""
    from sergas.log import configure_logging_from
    from sergas.runtime import open_database
    from sergas.settings import get_settings

    settings = get_settings()
    configure_logging_from(settings)

    async def main() -> T:
        async with open_database(settings) as engine:
            return await func(engine)

    return asyncio.run(main())


@app.command()
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from sergas.db import current
    from sergas.db import upgrade as do_upgrade

    async def run(engine: AsyncEngine) -> str | None:
        await do_upgrade(engine, revision)
        return await current(engine)

    console.print(f"database at revision {run_with_engine(run) or '(none)'}")


@app.command()
def downgrade(revision: str = typer.Argument("-1", help="Target revision, or 'base'.")) -> None:
    """Revert migrations down to REVISION (default: one step)."""
    from sergas.db import current
    from sergas.db import downgrade as do_downgrade

    async def run(engine: AsyncEngine) -> str | None:
        await do_downgrade(engine, revision)
        return await current(engine)

    console.print(f"database at revision {run_with_engine(run) or '(none)'}")


@app.command()
def current() -> None:
    """Print the database's revision and the newest one shipped."""
    from sergas.db import current as get_current
    from sergas.db import head

    rev = run_with_engine(get_current)
    state = "at head" if rev == head() else f"head is {head()}"
    console.print(f"{rev or '(none)'} ({state})")


@app.command()
def reset(yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation.")) -> None:
    """Drop every Sergas table and recreate them. Deletes all stored tokens."""
    from sergas.db import reset as do_reset

    if not yes:
        typer.confirm("This deletes every stored token. Continue?", abort=True)
    run_with_engine(do_reset)
    console.print("database reset: empty schema at head")


@app.command()
def check(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Connection, schema at head, token present and its time to expiry. Exit 1 if any fails."""
    report = run_with_engine(database_report)
    if json_out:
        print_json(report)
    else:
        table = Table("check", "status", "detail", title="sergas db check")
        for item in report["checks"]:
            mark = styled(("ok", "green") if item["ok"] else ("FAIL", "red"))
            table.add_row(item["name"], mark, item["detail"])
        console.print(table)
    if not report["ok"]:
        raise typer.Exit(1)


async def database_report(engine: AsyncEngine) -> dict[str, Any]:
    """The facts `sergas db check` shows; never a token."""
    from sergas.db import safe_url, schema_status

    checks: list[dict[str, Any]] = []
    report: dict[str, Any] = {"database": safe_url(engine.url), "checks": checks}

    def add(name: str, ok: bool, detail: str) -> None:
        checks.append({"name": name, "ok": ok, "detail": detail})

    try:
        status = await schema_status(engine)
    except SergasError as exc:
        add("connection", False, str(exc))
        report["ok"] = False
        return report
    add("connection", True, f"{report['database']} ({engine.dialect.name})")
    report.update(revision=status.current, head=status.head)
    schema_detail = f"revision {status.current or '(none)'}, head {status.head}"
    if not status.at_head:
        schema_detail += "; run `sergas db upgrade`"
    add("schema", status.at_head, schema_detail)
    if status.at_head:
        report["token"] = await _token_check(engine, add)
    report["ok"] = all(c["ok"] for c in checks)
    return report


async def _token_check(engine: AsyncEngine, add: Callable[[str, bool, str], None]) -> Any:
    from sergas.auth.sql_store import SqlTokenStore
    from sergas.auth.store import TokenKey
    from sergas.crypto import load_cipher
    from sergas.settings import get_settings

    settings = get_settings()
    try:
        store = SqlTokenStore(engine, load_cipher(settings))
        if not settings.zoho_client_id:
            keys = await store.keys()
            add("token", bool(keys), f"{len(keys)} stored; set ZOHO_CLIENT_ID to check one")
            return {"stored": len(keys)}
        key = TokenKey(settings.accounts_url, settings.zoho_client_id, settings.zoho_user)
        token = await store.get(key)
    except SergasError as exc:
        add("token", False, str(exc))
        return None
    if token is None:
        add(
            "token",
            False,
            f"none stored for {key}: run `sergas auth login` or `sergas auth status`",
        )
        return {"key": str(key), "present": False}
    left = token.valid_for(datetime.now(UTC)).total_seconds()
    if token.access_token and left > 0:
        detail = f"{key}: access token expires in {_duration(left)}"
    else:
        detail = f"{key}: refresh token stored; access token refreshed on next use"
    add("token", True, detail)
    return {
        "key": str(key),
        "present": True,
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        "expires_in_seconds": round(left) if token.access_token else None,
        "generation": token.generation,
    }


def _duration(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s // 3600} h {s % 3600 // 60} min" if s >= 3600 else f"{s // 60} min {s % 60} s"
