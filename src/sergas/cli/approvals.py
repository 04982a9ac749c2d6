"""`sergas approvals`: the changes agents proposed. list, show (each field's value when
proposed, in Zoho now, and proposed), approve (checks Zoho, applies the change through the
manager and records Zoho's answer), reject, recover (completes changes whose apply was
interrupted). Everything shown that came from an agent or from Zoho is shown verbatim."""

from __future__ import annotations

import asyncio
import getpass
import json
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from sergas.cli._common import console, err_console, print_json, styled
from sergas.cli.db import run_with_database

if TYPE_CHECKING:
    from sergas.access.approvals import Approval, ApprovalStore
    from sergas.manager import Caller, ZohoIntegrationManager

T = TypeVar("T")

app = typer.Typer(help="Changes proposed by agents, waiting for a person.", no_args_is_help=True)

_STYLE = {
    "pending": "yellow",
    "approved": "cyan",
    "applying": "magenta",
    "applied": "green",
    "failed": "red",
    "rejected": "dim",
}
_OPEN = ("pending", "approved", "applying")  # Zoho's value now still matters


class StatusChoice(StrEnum):
    pending = "pending"
    approved = "approved"
    applying = "applying"
    applied = "applied"
    failed = "failed"
    rejected = "rejected"
    all = "all"


_CURRENT = typer.Option(
    True,
    "--current/--no-current",
    help="Read each open proposal's fields from Zoho to show their values now.",
)


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


def _with_zoho(
    rows_of: Callable[[ApprovalStore], Awaitable[list[Approval]]], current: bool
) -> tuple[list[dict[str, Any]], str | None]:
    """The rows `rows_of(store)` finds, as JSON, each open one with Zoho's values now
    (`now`, `changed_since_proposed`) when `current`; and why Zoho could not be read, if
    it could not (the rows are listed all the same)."""
    from sergas.errors import SergasError
    from sergas.runtime import open_runtime
    from sergas.settings import get_settings

    async def read(engine: AsyncEngine) -> list[Approval]:
        rows: list[Approval] = await rows_of(_store(engine))
        return rows

    rows = run_with_database(read)
    found: list[dict[str, Any]] = [a.to_json() for a in rows]
    open_rows = [a for a in rows if a.status in _OPEN]
    if not current or not open_rows:
        return found, None

    async def now() -> dict[int, Any]:
        from sergas.access.applying import current_values

        _quiet_logging()
        async with open_runtime(get_settings()) as rt:
            return await current_values(rt.manager, open_rows)

    try:
        values = asyncio.run(now())
    except SergasError as exc:
        return found, exc.message
    _add_now(rows, found, values)
    return found, None


def _add_now(rows: list[Approval], found: list[dict[str, Any]], values: dict[int, Any]) -> None:
    from sergas.access.applying import assess
    from sergas.errors import SergasError

    for approval, entry in zip(rows, found, strict=True):
        value = values.get(approval.id)
        if isinstance(value, SergasError):
            entry["now_error"] = {"code": value.code, "message": value.message}
        elif value is not None:
            entry["now"] = value
            entry["changed_since_proposed"] = sorted(assess(approval, value).changed)


@app.command(name="list")
def list_approvals(
    status: StatusChoice = typer.Option(StatusChoice.pending, "--status", help="Or all."),
    limit: int = typer.Option(50, "--limit", min=1, max=10_000),
    current: bool = _CURRENT,
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List proposals, newest first (pending ones by default), with the fields' values in
    Zoho now beside the proposed ones."""
    wanted = None if status is StatusChoice.all else status.value

    async def rows_of(store: ApprovalStore) -> list[Approval]:
        return await store.find(wanted, limit=limit)

    rows, unread = _with_zoho(rows_of, current)
    if json_out:
        print_json(rows)
        return
    if not rows:
        console.print(f"no {'' if wanted is None else wanted + ' '}proposals")
        return
    table = Table(title="Proposed changes", title_justify="left")
    for column in ("id", "proposed", "client", "record", "changes", "now", "reason", "status"):
        table.add_column(column, overflow="fold")
    for a in rows:
        table.add_row(
            str(a["id"]),
            a["created_at"][:19].replace("T", " "),
            a["client_name"],
            _record(a),
            _short(a["changes"]),
            _now_cell(a),
            a["reason"][:80],
            styled((a["status"], _STYLE.get(a["status"], ""))),
        )
    console.print(table)
    _unread_note(unread)


@app.command()
def show(
    approval_id: int = typer.Argument(..., help="The proposal's id."),
    current: bool = _CURRENT,
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """One proposal: each field's value when proposed, in Zoho now, and proposed; the
    decision and Zoho's answer."""

    async def rows_of(store: ApprovalStore) -> list[Approval]:
        return [await store.get(approval_id)]

    (a,), unread = _with_zoho(rows_of, current)
    if json_out:
        print_json(a)
        return
    _print(a)
    _unread_note(unread)


@app.command()
def approve(
    approval_id: int = typer.Argument(..., help="The proposal's id."),
    note: str | None = typer.Option(None, "--note", help="A comment, kept with the decision."),
    by: str | None = typer.Option(None, "--by", help="Reviewer name (default: your login)."),
    force: bool = typer.Option(
        False, "--force", help="Apply even if a field changed in Zoho since the proposal."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Approve a pending proposal and apply it to Zoho now; Zoho's answer is recorded.

    The fields are read from Zoho first: if one changed since the proposal, nothing is
    applied (exit 1) unless --force. Run again on a proposal left `applying` by an
    interrupted approve, it completes it without applying it twice. Exit code 3 when the
    change was not applied (status failed)."""
    from sergas.access.applying import approve as approve_change

    async def run(store: ApprovalStore, manager: ZohoIntegrationManager) -> dict[str, Any]:
        reviewer = _reviewer(by)
        done = await approve_change(
            store, manager, approval_id, reviewer, note, force=force, caller=_approver(reviewer)
        )
        return done.to_json()

    a = _run_with_manager(run)
    if json_out:
        print_json(a)
    else:
        _print(a)
    if a["status"] != "applied":
        raise typer.Exit(3)


@app.command()
def recover(
    approval_id: int | None = typer.Argument(None, help="One proposal (default: all)."),
    after: float = typer.Option(
        600.0,
        "--after",
        min=0,
        help="Take over a change held this many seconds even if its process may still "
        "run (one whose process is gone from this host is taken at once).",
    ),
    by: str | None = typer.Option(None, "--by", help="Your name (default: your login)."),
    force: bool = typer.Option(
        False, "--force", help="Apply even if a field changed in Zoho since the proposal."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Complete changes whose apply was interrupted (left approved or applying): each is
    checked against Zoho and recorded as applied, applied now, or failed with why; none is
    applied twice."""
    from sergas.access.applying import recover_applying

    async def run(store: ApprovalStore, manager: ZohoIntegrationManager) -> list[dict[str, Any]]:
        reviewer = _reviewer(by)
        done = await recover_applying(
            store,
            manager,
            by=reviewer,
            approval_id=approval_id,
            abandoned_after=after,
            force=force,
            caller=_approver(reviewer),
        )
        return [a.to_json() for a in done]

    rows = _run_with_manager(run)
    if json_out:
        print_json(rows)
        return
    if not rows:
        console.print("nothing to recover")
    for a in rows:
        _print(a)


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


def _approver(reviewer: str) -> Caller:
    """The reviewer as the manager's caller: an approved change runs with their authority."""
    from sergas.manager import Caller

    return Caller(reviewer, channel="approval")


def _run_with_manager(
    func: Callable[[ApprovalStore, ZohoIntegrationManager], Awaitable[T]],
) -> T:
    from sergas.runtime import open_runtime
    from sergas.settings import get_settings

    settings = get_settings()
    _quiet_logging()

    async def run() -> T:
        async with open_runtime(settings) as rt:
            return await func(_store(rt.engine), rt.manager)

    return asyncio.run(run())


def _quiet_logging() -> None:
    """At the default level, only errors: the token refresh a Zoho read may need is not
    news to a reviewer."""
    from sergas.log import configure_logging
    from sergas.settings import get_settings

    settings = get_settings()
    level = "ERROR" if settings.log_level == "INFO" else settings.log_level
    configure_logging(settings.log_format, level)


def _record(a: dict[str, Any]) -> str:
    """What a proposal acts on: an update's record, a note's record, a create's module."""
    action = a.get("action", "update")
    if action == "create":
        made = f" → {a['record_id']}" if a["record_id"] else ""
        return f"new {a['module']} record{made}"
    if action == "note":
        return f"note on {a['module']} {a['record_id']}"
    return str(a["record_id"])


def _subject(a: dict[str, Any]) -> str:
    if a.get("action", "update") == "update":
        return f"{a['module']} {a['record_id']}"
    return _record(a)


def _value(value: Any) -> str:
    return json.dumps(value, default=str)


def _short(changes: dict[str, Any]) -> str:
    return ", ".join(f"{k}={_value(v)}" for k, v in changes.items())[:80]


def _now_cell(a: dict[str, Any]) -> Any:
    if "now_error" in a:
        return styled(("? " + a["now_error"]["code"], "red"))
    if "now" not in a:
        return ""
    text = ", ".join(f"{k}={_value(v)}" for k, v in a["now"].items())[:80]
    if a["changed_since_proposed"]:
        return styled((text, "red"), (" (changed since proposed)", "red"))
    return text


def _unread_note(unread: str | None) -> None:
    if unread:
        err_console.print(
            styled(("Zoho's current values not read: ", "yellow"), unread), soft_wrap=True
        )


def _print(a: dict[str, Any]) -> None:
    style = _STYLE.get(a["status"], "")
    console.print(
        styled((f"#{a['id']}", "bold"), f" {_subject(a)} — ", (a["status"], style)),
        highlight=False,
    )
    console.print(
        f"proposed {a['created_at'][:19]} by {a['client_name']}: {a['reason']}", highlight=False
    )
    table = Table(show_header=True)
    has_now = "now" in a
    adds = a.get("action", "update") != "update"  # a create or a note: nothing to compare
    columns = (
        ("field", "value")
        if adds
        else (
            ("field", "when proposed", "now", "proposed")
            if has_now
            else ("field", "when proposed", "proposed")
        )
    )
    for column in columns:
        table.add_column(column, overflow="fold")
    seen = a["current"] or {}
    changed = set(a.get("changed_since_proposed") or ())
    for field, value in a["changes"].items():
        if adds:
            table.add_row(field, _value(value))
            continue
        cells: list[Any] = [field, _value(seen.get(field))]
        if has_now:
            now = _value(a["now"].get(field))
            cells.append(styled((now + " (changed)", "red")) if field in changed else now)
        cells.append(_value(value))
        table.add_row(*cells)
    console.print(table)
    if changed:
        console.print(
            styled(
                ("changed in Zoho since proposed: ", "red"),
                ", ".join(sorted(changed)),
                " (approve refuses it; --force applies it anyway)",
            ),
            highlight=False,
        )
    if "now_error" in a:
        e = a["now_error"]
        console.print(f"Zoho's value now not read: {e['message']} ({e['code']})", highlight=False)
    if a["decided_by"]:
        console.print(
            f"decided {str(a['decided_at'])[:19]} by {a['decided_by']}"
            + (f": {a['note']}" if a["note"] else ""),
            highlight=False,
        )
    if a["status"] == "applying":
        console.print(
            f"being applied by {a['applying_by']} (process {a['applying_process']}) since "
            f"{str(a['applying_at'])[:19]}; `sergas approvals approve {a['id']}` completes it "
            "once that process is gone",
            highlight=False,
        )
    if a["outcome"]:
        o = a["outcome"]
        console.print(f"Zoho: {o['code']} {o.get('message') or ''}".rstrip(), highlight=False)
        if o.get("recovered"):
            r = o["recovered"]
            console.print(
                f"recovered by {r['by']} (was {r['status']} by process {r['process']})",
                highlight=False,
            )
