"""`sergas apikeys`: create (the key is printed once), list, revoke."""

from __future__ import annotations

import sys
from enum import StrEnum

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from sergas.cli._common import console, err_console, print_json, styled
from sergas.cli.db import run_with_database

app = typer.Typer(help="API keys for the HTTP service and the MCP server.", no_args_is_help=True)


class ScopeChoice(StrEnum):
    read = "read"
    write = "write"


@app.command()
def create(
    name: str = typer.Option(..., "--name", help="Who or what uses the key."),
    scope: ScopeChoice = typer.Option(
        ScopeChoice.read,
        "--scope",
        help="read: reads, and proposals to the approval "
        "queue; write: writes too (agents' proposals applied at once).",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Create a key and print it. It is shown this once: only its hash is stored."""
    from sergas.access.keys import ApiKeyStore

    async def run(engine: AsyncEngine) -> tuple[str, dict[str, object]]:
        key, info = await ApiKeyStore(engine).create(name, scope.value)
        return key, info.to_json()

    key, info = run_with_database(run)
    if json_out:
        print_json({**info, "key": key})
        return
    err_console.print(
        styled(
            "API key ",
            (str(info["name"]), "bold"),
            f" ({info['scope']} scope) created. Store it now: it is not shown again.",
        ),
        highlight=False,
    )
    sys.stdout.write(key + "\n")


@app.command(name="list")
def list_keys(
    all_keys: bool = typer.Option(False, "--all", help="Include revoked keys."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List keys (their public ids; never the secret part)."""
    from sergas.access.keys import ApiKeyStore
    from sergas.access.principal import PREFIX

    async def run(engine: AsyncEngine) -> list[dict[str, object]]:
        keys = await ApiKeyStore(engine).list_keys(include_revoked=all_keys)
        return [k.to_json() for k in keys]

    keys = run_with_database(run)
    if json_out:
        print_json(keys)
        return
    table = Table(title="API keys", title_justify="left")
    # The id `revoke` takes, whole at any width: the other columns wrap around it.
    ids = [f"{PREFIX}{k['key_id']}" for k in keys]
    table.add_column("key id", no_wrap=True, min_width=max(map(len, ids), default=6))
    for column in ("name", "scope", "created", "last used", "revoked"):
        table.add_column(column)
    for key_id, k in zip(ids, keys, strict=True):
        table.add_row(
            key_id,
            str(k["name"]),
            str(k["scope"]),
            _day(k["created_at"]),
            _day(k["last_used_at"]),
            _day(k["revoked_at"]),
        )
    console.print(table)


@app.command()
def revoke(
    key_id: str = typer.Argument(..., help="The key's id, as `list` shows it (sgk_<id> or <id>)."),
) -> None:
    """Revoke a key. Servers stop accepting it within SERGAS_SERVICE_API_KEY_CACHE_SECONDS."""
    from sergas.access.keys import ApiKeyStore

    async def run(engine: AsyncEngine) -> dict[str, object]:
        return (await ApiKeyStore(engine).revoke(key_id)).to_json()

    info = run_with_database(run)
    console.print(f"revoked {info['key']} ({info['name']})", highlight=False)


def _day(value: object) -> str:
    return "" if value is None else str(value)[:19].replace("T", " ")
