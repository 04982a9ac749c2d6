"""`sergas approvals`: the changes agents proposed. list, show, approve (applies it to Zoho
through the manager and records Zoho's answer), reject."""

from __future__ import annotations

import asyncio
import getpass
import json
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from sergas.cli._common import console, print_json
from sergas.cli.db import run_with_database

if TYPE_CHECKING:
    from sergas.access.approvals import ApprovalStore

app = typer.Typer(help="Changes proposed by agents, waiting for a person.", no_args_is_help=True)

_STYLE = {"pending": "yellow", "applied": "green", "failed": "red", "rejected": "dim"}


def _reviewer(by: str | None) -> str:
    if by:
        return by
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _store(engine: AsyncEngine) -> ApprovalStore:
    from sergas.access.approvals import ApprovalStore

    return ApprovalStore(engine)


@app.command(name="list")
def list_approvals(
    status: str = typer.Option(
        "pending", "--status", help="pending, approved, applied, failed, rejected, or all."
    ),
    limit: int = typer.Option(50, "--limit", min=1, max=10_000),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List proposals, newest first (pending ones by default)."""

    async def run(engine: AsyncEngine) -> list[dict[str, Any]]:
        store = _store(engine)
        rows = await store.find(None if status == "all" else status, limit=limit)
        return [a.to_json() for a in rows]

    rows = run_with_database(run)
    if json_out:
        print_json(rows)
        return
    if not rows:
        console.print(f"no {'' if status == 'all' else status + ' '}proposals")
        return
    table = Table(title="Proposed changes", title_justify="left")
    for column in ("id", "proposed", "client", "record", "changes", "reason", "status"):
        table.add_column(column, overflow="fold")
    for a in rows:
        table.add_row(
            str(a["id"]),
            a["created_at"][:19].replace("T", " "),
            a["client_name"],
            a["record_id"],
            _short(a["changes"]),
            a["reason"][:60],
            f"[{_STYLE.get(a['status'], '')}]{a['status']}[/]",
        )
    console.print(table)


@app.command()
def show(
    approval_id: int = typer.Argument(..., help="The proposal's id."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """One proposal: each field's value when proposed, the new value, and any outcome."""

    async def run(engine: AsyncEngine) -> dict[str, Any]:
        return (await _store(engine).get(approval_id)).to_json()

    a = run_with_database(run)
    if json_out:
        print_json(a)
        return
    _print(a)


@app.command()
def approve(
    approval_id: int = typer.Argument(..., help="The proposal's id."),
    note: str | None = typer.Option(None, "--note", help="A comment, kept with the decision."),
    by: str | None = typer.Option(None, "--by", help="Reviewer name (default: your login)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Approve a pending proposal and apply it to Zoho now; Zoho's answer is recorded.
    Exit code 3 when Zoho refused the change (status failed)."""
    from sergas.log import configure_logging_from
    from sergas.runtime import open_runtime
    from sergas.settings import get_settings

    settings = get_settings()
    configure_logging_from(settings)

    async def run() -> dict[str, Any]:
        from sergas.manager import Caller

        reviewer = _reviewer(by)
        async with open_runtime(settings) as rt:
            store = _store(rt.engine)
            approver = Caller(reviewer, channel="approval")  # the change runs with their authority
            done = await store.approve(rt.manager, approval_id, reviewer, note, caller=approver)
            return done.to_json()

    a = asyncio.run(run())
    if json_out:
        print_json(a)
    else:
        _print(a)
    if a["status"] != "applied":
        raise typer.Exit(3)


@app.command()
def reject(
    approval_id: int = typer.Argument(..., help="The proposal's id."),
    note: str | None = typer.Option(None, "--note", help="Why: kept with the decision."),
    by: str | None = typer.Option(None, "--by", help="Reviewer name (default: your login)."),
) -> None:
    """Reject a pending proposal; nothing is sent to Zoho."""

    async def run(engine: AsyncEngine) -> dict[str, Any]:
        store = _store(engine)
        return (await store.reject(approval_id, _reviewer(by), note)).to_json()

    a = run_with_database(run)
    console.print(f"#{a['id']} rejected by {a['decided_by']}", highlight=False)


def _short(changes: dict[str, Any]) -> str:
    return ", ".join(f"{k}={json.dumps(v, default=str)}" for k, v in changes.items())[:80]


def _print(a: dict[str, Any]) -> None:
    style = _STYLE.get(a["status"], "")
    console.print(
        f"[bold]#{a['id']}[/bold] {a['module']} {a['record_id']} — [{style}]{a['status']}[/]",
        highlight=False,
    )
    console.print(
        f"proposed {a['created_at'][:19]} by {a['client_name']}: {a['reason']}", highlight=False
    )
    table = Table(show_header=True)
    for column in ("field", "when proposed", "proposed"):
        table.add_column(column, overflow="fold")
    current = a["current"] or {}
    for field, value in a["changes"].items():
        table.add_row(field, json.dumps(current.get(field), default=str), json.dumps(value))
    console.print(table)
    if a["decided_by"]:
        console.print(
            f"decided {str(a['decided_at'])[:19]} by {a['decided_by']}"
            + (f": {a['note']}" if a["note"] else ""),
            highlight=False,
        )
    if a["outcome"]:
        o = a["outcome"]
        console.print(f"Zoho: {o['code']} {o.get('message') or ''}".rstrip(), highlight=False)
