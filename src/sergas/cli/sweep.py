"""`sergas sweep`: score every account, write back what changed, brief every owner; and
`sergas sweep runs` / `sergas sweep diff`, the runs it remembers (`sergas.cli.sweep_runs`).

Exit codes: 0 every changed account written; 1 an error (one line); 3 the sweep finished but
some accounts could not be written (listed in the summary and the briefs), or a batch could
not be confirmed (run `sergas sweep` again to resume).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichBars
from rich.table import Table

from sergas.cli._common import console, err_console, print_json

EXIT_NOT_ALL_WRITTEN = 3
_LABELS = {"read": "read   (modules)", "score": "score  (accounts)", "write": "write  (records)"}


class BarsProgress:
    """The sweep's phases as rich progress bars (on stderr, so --json stays clean)."""

    def __init__(self, bars: RichBars) -> None:
        self.bars = bars
        self.tasks: dict[str, Any] = {}

    def start(self, phase: str, total: int) -> None:
        self.tasks[phase] = self.bars.add_task(_LABELS.get(phase, phase), total=total)

    def advance(self, phase: str, amount: int = 1) -> None:
        if phase in self.tasks and amount:
            self.bars.advance(self.tasks[phase], amount)

    def note(self, text: str) -> None:
        self.bars.console.print(text, style="yellow", highlight=False)


class QuietProgress(BarsProgress):
    def __init__(self, out: Console) -> None:
        self.out = out

    def start(self, phase: str, total: int) -> None:
        pass

    def advance(self, phase: str, amount: int = 1) -> None:
        pass

    def note(self, text: str) -> None:
        self.out.print(text, style="yellow", highlight=False)


app = typer.Typer(
    help="The account health sweep, and the runs it remembers.",
    invoke_without_command=True,
)


@app.callback()
def sweep(
    ctx: typer.Context,
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Score and brief, but write nothing to Zoho or the database."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Folder for the briefs (default: <data dir>/briefs/<time>)."
    ),
    restart: bool = typer.Option(
        False, "--restart", help="Abandon an unfinished run instead of resuming it."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Score every active account, write back changed scores, and write per-owner briefs
    (`sergas sweep runs` and `sergas sweep diff` show the runs before this one)."""
    if ctx.invoked_subcommand is not None:
        return
    from sergas.log import configure_logging
    from sergas.settings import get_settings
    from sergas.sweep.app import open_sweep
    from sergas.sweep.settings import load_sweep_settings

    settings = get_settings()
    sweep_settings = load_sweep_settings()
    # At the default level, failovers and retries are summed up in the summary, not logged.
    level = "ERROR" if settings.log_level == "INFO" else settings.log_level
    configure_logging(settings.log_format, level)

    async def main() -> dict[str, Any]:
        async with open_sweep(settings, sweep_settings) as job:
            # The first line says where the sweep runs (stderr with --json: stdout is data).
            (err_console if as_json else console).print(
                ("dry run on the " if dry_run else "") + job.description,
                style="bold",
                highlight=False,
                soft_wrap=True,
            )
            if as_json:
                return await job.run(
                    dry_run=dry_run, restart=restart, out=out, progress=QuietProgress(err_console)
                )
            columns = (
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
            )
            with RichBars(*columns, console=err_console, transient=False) as bars:
                return await job.run(
                    dry_run=dry_run, restart=restart, out=out, progress=BarsProgress(bars)
                )

    result = asyncio.run(main())
    if as_json:
        print_json(result)
    else:
        console.print(render(result))
        if result["briefs"]:
            note = " (nothing changed since the previous run: no new folder)"
            text = f"briefs: {result['briefs']}{note if result.get('briefs_reused') else ''}"
            console.print(text, highlight=False, soft_wrap=True)
    if result["accounts"]["not_written"]:
        raise typer.Exit(EXIT_NOT_ALL_WRITTEN)


def credits_text(credits: dict[str, Any] | None) -> str:
    """Zoho credits a run spent, or plainly "unknown" when nothing counted them."""
    from sergas.sweep.history import credits_text as text

    return text((credits or {}).get("used"))


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f} ms"


def render(result: dict[str, Any]) -> Table:
    """The final summary table."""
    acc = result["accounts"]
    title = "Sweep summary" + (" (dry run)" if result["dry_run"] else "")
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    run = result["run_id"] or "–"
    if result["resumed"]:
        run += " (resumed)"
    if not result["finished"]:
        run += " — unfinished: run `sergas sweep` again to resume"
    table.add_row("target", result["target"])
    table.add_row("run", run)
    table.add_row("accounts scanned", f"{acc['scanned']:,} ({acc['scored']:,} active, scored)")
    changed = f"{acc['changed']:,} changed, {acc['unchanged']:,} unchanged"
    table.add_row("accounts changed", changed)
    if not result["dry_run"]:
        written = f"{acc['written']:,} written"
        if acc["confirmed_on_read_back"]:
            written += f" ({acc['confirmed_on_read_back']:,} found already written, not resent)"
        written += f", {acc['not_written']:,} not written"
        table.add_row("write-back", written)
    st = acc["statuses"]
    table.add_row(
        "status", f"{st['Healthy']:,} Healthy · {st['Watch']:,} Watch · {st['At Risk']:,} At Risk"
    )
    tiers = result["tiers"]
    calls = ", ".join(f"{t}: {v['calls']}" for t, v in tiers.items()) or "none"
    if result["http_requests"] is not None:
        calls += f" ({result['http_requests']:,} HTTP requests)"
    table.add_row("calls per tier", calls)
    p95 = ", ".join(f"{t}: {_ms(v['p95_ms'])}" for t, v in tiers.items())
    table.add_row("p95 latency", p95 or "–")
    table.add_row("credits spent", credits_text(result["credits"]))
    events = [f"{e['tier']} {e['from']}→{e['to']}" for e in result["breaker_events"]]
    events += [f"failover {f['from']}→{f['to']} ({f['code']})" for f in result["failovers"]]
    table.add_row("breaker events", "; ".join(events) if events else "none")
    table.add_row("duration", f"{result['duration_s']:.1f} s")
    for row in result["not_written"][:10]:
        text = f"{row['name']} ({row['owner']}): {row['code']} {row['message']}"
        table.add_row("not written", text)
    if len(result["not_written"]) > 10:
        table.add_row("", f"… and {len(result['not_written']) - 10} more (see the briefs)")
    return table


def _register() -> None:
    from sergas.cli import sweep_runs

    app.command(name="runs")(sweep_runs.runs)
    app.command(name="diff")(sweep_runs.diff)


_register()
