"""`sergas sweep runs` and `sergas sweep diff`: the runs the sweep remembers, from the
database alone (nothing is sent to Zoho). Runs are those of the CRM the settings name (the
embedded sandbox without Zoho credentials), as `sergas sweep` would run on it.

Account and owner names come from Zoho: they are printed as text, never as markup.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import typer
from rich.table import Table
from rich.text import Text
from sqlalchemy.ext.asyncio import AsyncEngine

from sergas.cli._common import console, print_json
from sergas.cli.db import run_with_database

_STYLE = {"Healthy": "green", "Watch": "yellow", "At Risk": "red"}


def _scope(all_scopes: bool) -> str | None:
    from sergas.runtime import scope_for
    from sergas.settings import get_settings

    return None if all_scopes else scope_for(get_settings())


def _when(value: datetime | str | None) -> str:
    if value is None:
        return "–"
    text = value.isoformat() if isinstance(value, datetime) else value
    return text[:16].replace("T", " ")


def runs(
    limit: int = typer.Option(20, "--limit", min=1, max=10_000, help="Newest runs shown."),
    all_scopes: bool = typer.Option(
        False, "--all-scopes", help="Runs against every CRM, not only the configured one."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The sweep's runs, newest first: when, counts by status, changed, written, credits."""
    from sergas.sweep.history import SweepHistory

    scope = _scope(all_scopes)

    async def run(engine: AsyncEngine) -> list[dict[str, Any]]:
        return [r.to_json() for r in await SweepHistory(engine).runs(scope, limit=limit)]

    rows = run_with_database(run)
    if json_out:
        print_json(rows)
        return
    if not rows:
        console.print("no sweep has run on this CRM yet: `sergas sweep` runs one")
        return
    console.print(render_runs(rows))


def render_runs(rows: list[dict[str, Any]]) -> Table:
    from sergas.cli.sweep import credits_text

    table = Table(title="Sweep runs", title_justify="left")
    for name in ("run", "checked (UTC)", "state", "Healthy", "Watch", "At Risk"):
        table.add_column(name, justify="right" if name in _STYLE else "left")
    for name in ("changed", "written", "credits", "briefs"):
        table.add_column(name, justify="left" if name == "briefs" else "right")
    for r in rows:
        done = r["state"] == "done"
        st = r["statuses"]
        credits = credits_text({"used": r["credits"]}) if done else "–"
        briefs = "–" if not done else ("same as before" if r["briefs_reused"] else "new")
        table.add_row(
            r["id"][:8],
            _when(r["checked_at"]),
            r["state"],
            *(f"{st[s]:,}" if done else "–" for s in _STYLE),
            f"{r['changed']:,}",
            "–" if r["written"] is None else f"{r['written']:,}",
            credits.split(" (")[0],
            briefs,
        )
    return table


def diff(
    run_a: str | None = typer.Argument(
        None, help="The earlier run (id or prefix). Default: the run before RUN_B."
    ),
    run_b: str | None = typer.Argument(
        None, help="The later run (id or prefix). Default: the newest finished run."
    ),
    limit: int = typer.Option(100, "--limit", min=1, help="Accounts shown (--json: all)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Accounts whose status changed between two runs (default: the newest two)."""
    from sergas.errors import NotFoundError
    from sergas.runtime import scope_for
    from sergas.settings import get_settings
    from sergas.sweep.history import RunEntry, SweepHistory

    scope = scope_for(get_settings())

    async def run(engine: AsyncEngine) -> dict[str, Any]:
        history = SweepHistory(engine)
        after = await history.find(scope, run_b) if run_b else await history.latest(scope)
        before: RunEntry | None = None
        if run_a:
            before = await history.find(scope, run_a)
        elif after is not None:
            before = await history.before(after)
        if after is None or before is None:
            raise NotFoundError(
                "fewer than two finished sweep runs to compare: `sergas sweep runs` lists them",
                code="NOTHING_TO_COMPARE",
            )
        return (await history.diff(before, after)).to_json()

    result = run_with_database(run)
    if json_out:
        print_json(result)
        return
    before, after, changes = result["before"], result["after"], result["changes"]
    console.print(
        f"{before['id'][:8]} ({_when(before['checked_at'])}) → "
        f"{after['id'][:8]} ({_when(after['checked_at'])}): "
        f"{len(changes):,} accounts changed status",
        highlight=False,
    )
    if not changes:
        return
    table = Table(show_header=True)
    for name in ("account", "owner", "before", "after"):
        table.add_column(name, overflow="fold")
    for c in changes[:limit]:
        table.add_row(Text(c["name"]), Text(c["owner"]), _cell(c["before"]), _cell(c["after"]))
    console.print(table)
    if len(changes) > limit:
        console.print(f"… and {len(changes) - limit:,} more (--limit, or --json for all)")


def _cell(point: dict[str, Any] | None) -> Text:
    if point is None:
        return Text("not scored", style="dim")
    return Text(f"{point['status']} ({point['score']})", style=_STYLE.get(point["status"], ""))
