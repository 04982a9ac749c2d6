"""`sergas accounts`: list, get, search, update, export and import Zoho accounts, and read an
account's related records or add a note to it, through the manager (docs/cli.md).

With ZOHO_* credentials configured these talk to Zoho; without, to the embedded sandbox that
the health sweep uses (same CRM file in the data directory), and say so on stderr.

Criteria are typed, never a raw string: `--where 'FIELD OP VALUE'` (one quoted argument,
repeatable; all must hold, or any with `--any`), OP one of equals, not_equal, starts_with,
greater_than, greater_equal, less_than, less_equal, in (comma-separated values), between
(LOW,HIGH), is_null and is_not_null (no value). A VALUE is
typed by the field's type in Zoho's metadata (`--set FIELD=VALUE` alike): a text field takes
the text as typed (`Phone=5550100` stays text), a number field a number, a boolean true or
false; `null` clears a field (see `accounts_io`).

Exit codes: 0 success; 1 an error (one line on stderr with Zoho's code, the field or
parameter and the allowed values when Zoho gives them; `sergas --debug` for a traceback);
2 bad usage (an unknown option, operator or field name, a value its field cannot take, a
`--sort-by` other than id, Created_Time or Modified_Time, an import file that cannot be sent
as it is); 130 interrupted.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

import typer
from rich.table import Table

from sergas.cli._common import console, err_console, print_json, styled
from sergas.cli.accounts_io import (
    MODULE,
    OPS,
    FieldTypes,
    criteria_from,
    field_list,
    field_types,
    open_manager,
    parse_assignments,
    show_value,
    sort_field,
    typed_assignments,
)
from sergas.cli.accounts_related import SHOWN, RelatedList

if TYPE_CHECKING:
    from sergas.manager import RoutingContext, ZohoIntegrationManager
    from sergas.tiers.base import RecordResult

app = typer.Typer(
    help="Accounts in Zoho CRM: list, get, search, update, export, import; related records "
    "and notes."
)
T = TypeVar("T")

TABLE_FIELDS = ["Account_Name", "Owner", "Industry", "Rating", "Annual_Revenue"]

_JSON = typer.Option(False, "--json", help="Print JSON.")
_FIELDS = typer.Option(None, "--fields", help="Comma-separated field API names.")
_TIER = typer.Option("auto", "--tier", help="Try this tier first: auto, mcp, sdk or rest.")
_WHERE = typer.Option(
    None,
    "--where",
    metavar="'FIELD OP VALUE'",
    help=f"A condition, quoted as one argument (repeatable). OP: {', '.join(OPS)}; "
    "`in` takes comma-separated values, `between` LOW,HIGH, `is_null` and `is_not_null` none.",
)
_ANY = typer.Option(False, "--any", help="Match any --where condition (default: all).")


def _run(work: Callable[[ZohoIntegrationManager], Awaitable[T]]) -> T:
    async def main() -> T:
        async with open_manager() as manager:
            return await work(manager)

    return asyncio.run(main())


def _context(tier: str, operation: str, records: int = 1) -> RoutingContext | None:
    """How to route the call: None (the manager's own routing) unless --tier names one."""
    from sergas.manager import RoutingContext
    from sergas.manager.config import parse_tier_name

    if tier == "auto":
        return None
    name = parse_tier_name(tier)
    if name not in ("mcp", "sdk", "rest"):
        raise typer.BadParameter("use auto, mcp, sdk or rest", param_hint="--tier")
    return RoutingContext(operation_type=operation, preferred_tier=name, record_count=records)


@app.command("list")
def list_(
    limit: int = typer.Option(20, "--limit", min=1, max=200, help="Records per page (≤ 200)."),
    page: int = typer.Option(1, "--page", min=1, help="Page number, from 1."),
    sort_by: str | None = typer.Option(None, "--sort-by", help="Field to sort by."),
    sort_order: str | None = typer.Option(None, "--sort-order", help="asc or desc."),
    fields: str | None = _FIELDS,
    tier: str = _TIER,
    json_out: bool = _JSON,
) -> None:
    """One page of accounts, as Zoho's records API lists them."""
    names = field_list(fields)
    if sort_order not in (None, "asc", "desc"):
        raise typer.BadParameter("use asc or desc", param_hint="--sort-order")
    order = cast(Literal["asc", "desc"] | None, sort_order)
    sort = sort_field(sort_by)
    context = _context(tier, "get_accounts")
    records = _run(
        lambda m: m.get_accounts(
            limit=limit,
            page=page,
            sort_by=sort,
            sort_order=order,
            fields=names if json_out else names or TABLE_FIELDS,
            context=context,
        ),
    )
    if json_out:
        print_json(records)
        return
    console.print(_records_table(records, names or TABLE_FIELDS, f"Accounts, page {page}"))


@app.command()
def get(
    record_id: str = typer.Argument(..., metavar="ID", help="The account's id."),
    fields: str | None = _FIELDS,
    tier: str = _TIER,
    json_out: bool = _JSON,
) -> None:
    """One account by id (exit 1 if it does not exist)."""
    names = field_list(fields)
    context = _context(tier, "get_account")
    record = _run(lambda m: m.get_account(record_id, fields=names, context=context))
    if json_out:
        print_json(record)
        return
    table = Table("field", "value", title=f"Account {record_id}", title_justify="left")
    for key, value in record.items():
        table.add_row(key, show_value(value))
    console.print(table)


@app.command()
def search(
    where: list[str] | None = _WHERE,
    any_of: bool = _ANY,
    limit: int = typer.Option(200, "--limit", min=1, max=2000, help="At most (≤ 2,000)."),
    fields: str | None = _FIELDS,
    tier: str = _TIER,
    json_out: bool = _JSON,
) -> None:
    """Accounts matching the --where conditions, through Zoho's search API; says how many
    match in all (Zoho's count), and how many of them are shown."""
    if criteria_from(where or [], any_of) is None:  # the syntax, before anything is opened
        raise typer.BadParameter("give at least one condition", param_hint="--where")
    names = field_list(fields)
    context = _context(tier, "search_accounts")

    async def found(m: ZohoIntegrationManager) -> tuple[list[dict[str, Any]], int]:
        criteria = criteria_from(where or [], any_of, await _types(m, tier))
        assert criteria is not None
        # How many match (Zoho's count), beside the first `limit` of them.
        return await asyncio.gather(
            m.search_accounts(
                criteria,
                limit=limit,
                fields=names or (None if json_out else TABLE_FIELDS),
                context=context,
            ),
            m.count_records(criteria=criteria, context=_context(tier, "count_records")),
        )

    records, matched = _run(found)
    shown = f"{matched:,} matched" + (
        f", {len(records):,} shown" if matched != len(records) else ""
    )
    if json_out:
        print_json(records)
        err_console.print(shown, style="dim", highlight=False)
        return
    console.print(_records_table(records, names or TABLE_FIELDS, shown))


@app.command()
def update(
    record_id: str = typer.Argument(..., metavar="ID", help="The account's id."),
    assignments: list[str] = typer.Option(
        ..., "--set", metavar="FIELD=VALUE", help="A new value (repeatable)."
    ),
    tier: str = _TIER,
    json_out: bool = _JSON,
) -> None:
    """Change fields of one account; prints Zoho's outcome for the record."""
    texts = parse_assignments(assignments)
    context = _context(tier, "update_account")
    data: dict[str, Any] = {}

    async def updated(m: ZohoIntegrationManager) -> RecordResult:
        data.update(typed_assignments(texts, await _types(m, tier)))
        return await m.update_account(record_id, data, context=context)

    result = _run(updated)
    outcome = {"id": result.id, "ok": result.ok, "code": result.code, "message": result.message}
    if json_out:
        print_json(outcome | {"fields": sorted(data)})
        return
    mark = ("updated", "green") if result.ok else ("not updated", "red")
    console.print(
        styled(mark, f" {result.id}: {result.code} {result.message} ({', '.join(sorted(data))})"),
        highlight=False,
    )
    if not result.ok:
        raise typer.Exit(1)


@app.command()
def export(
    fmt: str = typer.Option(..., "--format", help="csv or jsonl."),
    out: Path = typer.Option(..., "--out", help="The file to write."),
    where: list[str] | None = _WHERE,
    any_of: bool = _ANY,
    fields: str | None = _FIELDS,
    tier: str = _TIER,
    strategy: str = typer.Option(
        "auto",
        "--strategy",
        help="auto (the tier picks by size), records (records API pages), coql (COQL pages "
        "of 2,000 by id) or bulk (a Bulk Read job).",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Every matching account to a CSV or JSONL file, with progress and a final count."""
    from sergas.cli.accounts_export import STRATEGIES, run_export

    if fmt not in ("csv", "jsonl"):
        raise typer.BadParameter("use csv or jsonl", param_hint="--format")
    if strategy not in STRATEGIES:
        raise typer.BadParameter(f"use {', '.join(STRATEGIES)}", param_hint="--strategy")
    criteria_from(where or [], any_of)  # the syntax, before anything is opened
    names = field_list(fields)
    context = _context(tier, "bulk_read_accounts")
    start = time.monotonic()
    kind = cast(Literal["csv", "jsonl"], fmt)

    async def exported(m: ZohoIntegrationManager) -> int:
        types = await _types(m, tier) if where else None
        criteria = criteria_from(where or [], any_of, types)
        return await run_export(
            m, out, kind, strategy, criteria=criteria, fields=names, context=context
        )

    count = _run(exported)
    result: dict[str, Any] = {
        "count": count,
        "path": str(out),
        "format": fmt,
        "strategy": strategy,
        "tier": tier,
        "duration_s": round(time.monotonic() - start, 2),
    }
    if json_out:
        print_json(result)
        return
    console.print(
        f"exported {count:,} accounts to {out} ({fmt}, strategy {strategy}, tier {tier}, "
        f"{result['duration_s']:.1f} s)",
        highlight=False,
        soft_wrap=True,
    )


@app.command("import")
def import_(
    file: Path = typer.Option(
        ...,
        "--file",
        help="CSV or JSON lines, as export writes them: an id column and a column per field "
        "to change (a lookup by its id: Owner.id).",
    ),
    fmt: str | None = typer.Option(
        None, "--format", help="csv or jsonl (default: by the file's suffix)."
    ),
    tier: str = _TIER,
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Update many accounts from a file; each record's outcome goes beside it
    (NAME.outcomes.csv or .jsonl). Exit 1 if any record was not updated."""
    from sergas.cli.accounts_import import (
        failed_rows,
        file_format,
        outcome_rows,
        outcomes_path,
        read_changes,
        write_outcomes,
    )
    from sergas.errors import SergasError

    kind = file_format(file, fmt)
    if not file.is_file():
        raise typer.BadParameter(f"no such file: {file}", param_hint="--file")
    _context(tier, "bulk_update_accounts")  # the tier's name, before anything is opened
    outcomes = outcomes_path(file, kind)
    start = time.monotonic()

    async def imported(m: ZohoIntegrationManager) -> tuple[list[dict[str, Any]], Any]:
        plan = read_changes(file, kind, await _types(m, tier))
        err_console.print(
            f"importing {len(plan.records):,} accounts: {', '.join(plan.fields)}",
            style="dim",
            highlight=False,
            soft_wrap=True,
        )
        context = _context(tier, "bulk_update_accounts", len(plan.records))
        try:
            result = await m.bulk_update_accounts(plan.records, context=context)
        except SergasError as exc:  # nothing was written: each record says why
            write_outcomes(outcomes, kind, failed_rows(plan, exc))
            raise
        rows = outcome_rows(plan, result.results)
        write_outcomes(outcomes, kind, rows)
        return rows, plan

    rows, plan = _run(imported)
    failed = [r for r in rows if not r["ok"]]
    codes: dict[str, int] = {}
    for row in failed:
        codes[row["code"]] = codes.get(row["code"], 0) + 1
    summary: dict[str, Any] = {
        "records": len(rows),
        "updated": len(rows) - len(failed),
        "failed": len(failed),
        "failed_by_code": codes,
        "fields": list(plan.fields),
        "not_sent": plan.ignored,
        "outcomes": str(outcomes),
        "duration_s": round(time.monotonic() - start, 2),
    }
    if json_out:
        print_json(summary)
    else:
        _print_import(summary)
    if failed:
        raise typer.Exit(1)


def _print_import(summary: dict[str, Any]) -> None:
    for column, why in summary["not_sent"].items():
        err_console.print(f"not sent: {column} ({why})", style="dim", highlight=False)
    mark = ("imported", "green") if not summary["failed"] else ("imported with failures", "red")
    codes = ", ".join(f"{code} {n:,}" for code, n in summary["failed_by_code"].items())
    console.print(
        styled(
            mark,
            f" {summary['updated']:,} of {summary['records']:,} accounts updated, "
            f"{summary['failed']:,} not{f' ({codes})' if codes else ''}; "
            f"outcomes in {summary['outcomes']} ({summary['duration_s']:.1f} s)",
        ),
        highlight=False,
        soft_wrap=True,
    )


@app.command()
def related(
    record_id: str = typer.Argument(..., metavar="ID", help="The account's id."),
    related_list: RelatedList = typer.Option(
        ..., "--list", help="Which of the account's related records.", case_sensitive=False
    ),
    page: int = typer.Option(1, "--page", min=1, help="Page number, from 1."),
    limit: int = typer.Option(200, "--limit", min=1, max=200, help="Records per page (≤ 200)."),
    fields: str | None = _FIELDS,
    tier: str = _TIER,
    json_out: bool = _JSON,
) -> None:
    """An account's contacts, deals, notes, tasks, calls or meetings (Events), a page at a
    time, as Zoho lists them."""
    from sergas.cli.accounts_related import page_json, print_page

    names = field_list(fields)
    shown = names or SHOWN[related_list]
    context = _context(tier, "get_related_records")
    found = _run(
        lambda m: m.get_related_records(
            record_id,
            related_list.value,
            fields=names if json_out else shown,
            page=page,
            per_page=limit,
            context=context,
        )
    )
    if json_out:
        print_json(page_json(found))
        return
    print_page(found, shown, f"{related_list.value} of account {record_id}, page {page}")


@app.command()
def note(
    record_id: str = typer.Argument(..., metavar="ID", help="The account's id."),
    text: str = typer.Option(..., "--text", help="The note."),
    title: str | None = typer.Option(None, "--title", help="The note's title."),
    tier: str = _TIER,
    json_out: bool = _JSON,
) -> None:
    """Add a note to an account; prints Zoho's outcome and the new note's id."""
    from sergas.cli.accounts_related import note_outcome

    if not text.strip():
        raise typer.BadParameter("the note is empty", param_hint="--text")
    context = _context(tier, "add_note")
    result = _run(lambda m: m.add_note(record_id, content=text, title=title, context=context))
    if json_out:
        print_json(
            {
                "account": record_id,
                "id": result.id,
                "ok": result.ok,
                "code": result.code,
                "message": result.message,
            }
        )
        if not result.ok:
            raise typer.Exit(1)
        return
    note_outcome(record_id, result.ok, result.id, result.code, result.message)


async def _types(manager: ZohoIntegrationManager, tier: str) -> FieldTypes:
    """The module's field types (one metadata call, on the tier the command would use)."""
    return field_types(
        await manager.describe_fields(MODULE, context=_context(tier, "describe_fields"))
    )


def _records_table(records: list[dict[str, Any]], fields: list[str], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("id", no_wrap=True)
    for name in fields:
        table.add_column(name)
    for record in records:
        table.add_row(str(record.get("id", "")), *(show_value(record.get(f)) for f in fields))
    if not records:
        err_console.print("no accounts", style="dim")
    return table
