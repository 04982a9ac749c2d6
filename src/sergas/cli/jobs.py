"""`sergas worker` and `sergas jobs …`: run queued jobs, and queue, list, show, cancel them.

Both need PostgreSQL (SERGAS_DATABASE_URL): the queue lives in Sergas's database. On the
embedded SQLite default they stop with one line saying so; `sergas sweep` needs no queue.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import typer
from rich.table import Table
from rich.text import Text

from sergas.cli._common import console, err_console, print_json

T = TypeVar("T")

app = typer.Typer(
    help="Queued jobs (needs PostgreSQL): sweeps, applying approved changes.",
    no_args_is_help=True,
)


def worker(
    concurrency: int | None = typer.Option(
        None,
        "--concurrency",
        "-c",
        min=1,
        max=64,
        help="Jobs run at once (default SERGAS_JOBS_CONCURRENCY).",
    ),
) -> None:
    """Run queued jobs until SIGTERM or Ctrl-C (then finish the current write batches)."""
    from sergas.jobs.queue import require_postgres
    from sergas.jobs.settings import load_jobs_settings
    from sergas.jobs.worker import run_worker
    from sergas.log import configure_logging
    from sergas.settings import get_settings
    from sergas.sweep.settings import load_sweep_settings

    settings = get_settings()
    require_postgres(settings)
    jobs = load_jobs_settings()
    sweep = load_sweep_settings()
    configure_logging(settings.log_format, settings.log_level)
    # Procrastinate logs through the standard library: its warnings and errors, on stderr.
    logging.basicConfig(
        stream=sys.stderr, level=logging.WARNING, format="%(asctime)s %(name)s %(message)s"
    )

    def ready(name: str) -> None:
        schedule = "none"
        if jobs.sweep_schedule:
            schedule = f"{jobs.sweep_schedule} ({jobs.sweep_schedule_timezone})"
        err_console.print(
            Text(
                f"worker {name} ready: {concurrency or jobs.concurrency} jobs at a time; "
                f"sweep schedule: {schedule}"
            )
        )

    def stopping() -> None:
        err_console.print("stopping: finishing the current write batches, then exiting")

    asyncio.run(
        run_worker(settings, sweep, jobs, concurrency=concurrency, ready=ready, stopping=stopping)
    )
    err_console.print("worker stopped")


def _with_queue(work: Callable[[Any], Awaitable[T]]) -> T:
    from sergas.jobs.queue import open_queue

    async def main() -> T:
        async with open_queue() as queue:
            return await work(queue)

    return asyncio.run(main())


@app.command("enqueue")
def enqueue(
    task: str = typer.Argument(..., help="sweep, or approvals (apply approved changes)."),
    as_json: bool = typer.Option(False, "--json", help="Print the job as JSON."),
) -> None:
    """Queue a job; prints its id. A second sweep of the same CRM is refused."""
    from sergas.runtime import zoho_scope
    from sergas.settings import get_settings

    scope = zoho_scope(get_settings())
    job = _with_queue(lambda q: q.enqueue(task, scope))
    if as_json:
        print_json(job)
    else:
        console.print(Text(f"queued job {job['id']} ({job['task']})"))


@app.command("list")
def list_jobs(
    limit: int = typer.Option(20, "--limit", min=1, max=1000, help="Newest jobs to show."),
    shards: bool = typer.Option(False, "--shards", help="Include sweeps' shard jobs."),
    as_json: bool = typer.Option(False, "--json", help="Print the jobs as JSON."),
) -> None:
    """The newest jobs first."""
    jobs = _with_queue(lambda q: q.recent(limit=limit, shards=shards))
    if as_json:
        print_json(jobs)
        return
    table = Table(title="Jobs", title_justify="left")
    for column in ("id", "task", "status", "attempts", "worker", "queued", "finished"):
        table.add_column(column)
    for job in jobs:
        table.add_row(
            *(
                Text(str(v))
                for v in (
                    job["id"],
                    job["task"] + (" (scheduled)" if job["scheduled"] else ""),
                    job["status"],
                    job["attempts"],
                    job["worker"] or "–",
                    _time(job["queued_at"]),
                    _time(job["finished_at"]),
                )
            )
        )
    console.print(table)


@app.command("show")
def show(
    job_id: int = typer.Argument(..., help="The job's id."),
    as_json: bool = typer.Option(False, "--json", help="Print the job as JSON."),
) -> None:
    """One job: status, attempts, worker, times, and its result (a sweep's summary)."""
    job = _with_queue(lambda q: q.show(job_id))
    if as_json:
        print_json(job)
        return
    console.print(render(job))


@app.command("cancel")
def cancel(
    job_id: int = typer.Argument(..., help="The job's id."),
    as_json: bool = typer.Option(False, "--json", help="Print the job as JSON."),
) -> None:
    """Cancel a queued job, or stop a running one (a sweep's shards with it; its run
    stays unfinished and the next sweep resumes it)."""
    job = _with_queue(lambda q: q.cancel(job_id))
    if as_json:
        print_json(job)
        return
    what = "cancelled" if job["status"] == "cancelled" else "asked to stop"
    console.print(Text(f"job {job_id}: {what}"))


def _time(value: str | None) -> str:
    return value[:19].replace("T", " ") if value else "–"


def render(job: dict[str, Any]) -> Table:
    table = Table(title=f"Job {job['id']}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    rows: list[tuple[str, Any]] = [
        ("task", job["task"] + (" (scheduled)" if job["scheduled"] else "")),
        ("status", job["status"]),
        ("attempts", job["attempts"]),
        ("worker", job["worker"] or "–"),
        ("queued", _time(job["queued_at"])),
        ("started", _time(job["started_at"])),
        ("finished", _time(job["finished_at"])),
    ]
    if job["error"]:
        rows.append(("error", job["error"]))
    for attempt in job["history"]:
        rows.append(
            (
                f"attempt {attempt['attempt']}",
                f"{attempt['worker']}: {attempt['outcome']}"
                + (f" ({attempt['error']})" if attempt["error"] else ""),
            )
        )
    summary = job["summary"] or {}
    if "accounts" in summary:
        acc = summary["accounts"]
        run = summary["run_id"] + (" (resumed)" if summary["resumed"] else "")
        rows += [
            ("run", run),
            ("accounts", f"{acc['scanned']:,} scanned, {acc['changed']:,} changed"),
            ("written", f"{acc['written']:,} written, {acc['not_written']:,} not written"),
            ("briefs", summary.get("briefs") or "–"),
        ]
    elif summary.get("merged_into"):
        rows.append(("merged into", f"run {summary['merged_into']} (finished meanwhile)"))
    elif summary:
        rows.append(("result", ", ".join(f"{k}: {v}" for k, v in summary.items())))
    for shard in job.get("shards", []):
        rows.append((f"shard {shard['id']}", f"{shard['status']} ({shard['worker'] or '–'})"))
    for label, value in rows:
        table.add_row(Text(label), Text(str(value)))
    return table
