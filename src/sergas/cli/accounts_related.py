"""`sergas accounts related` and `sergas accounts note`: an account's related records (its
contacts, deals, notes, tasks, calls, meetings) and a new note on it, through the manager's
`get_related_records` and `add_note`. Zoho's text (a note, a name, a message) is shown
verbatim."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

import typer

from sergas.cli._common import console, err_console, styled

if TYPE_CHECKING:
    from sergas.tiers.base import RecordPage

__all__ = ["SHOWN", "RelatedList", "note_outcome", "page_json", "print_page"]


class RelatedList(StrEnum):
    """Zoho's related-list API names on an account."""

    Contacts = "Contacts"
    Deals = "Deals"
    Notes = "Notes"
    Tasks = "Tasks"
    Calls = "Calls"
    Events = "Events"


# The columns of each list's table (and the fields asked of Zoho for it).
SHOWN: dict[RelatedList, list[str]] = {
    RelatedList.Contacts: ["Full_Name", "Email", "Phone", "Title", "Owner"],
    RelatedList.Deals: ["Deal_Name", "Stage", "Amount", "Closing_Date", "Owner"],
    RelatedList.Notes: ["Note_Title", "Note_Content", "Owner", "Created_Time"],
    RelatedList.Tasks: ["Subject", "Status", "Due_Date", "Owner"],
    RelatedList.Calls: ["Subject", "Call_Type", "Call_Start_Time", "Call_Duration", "Owner"],
    RelatedList.Events: ["Event_Title", "Start_DateTime", "End_DateTime", "Owner"],
}


def page_json(page: RecordPage) -> dict[str, Any]:
    """A page as --json prints it: the records as Zoho gave them, and whether more follow."""
    return {
        "records": page.records,
        "more": page.more,
        "page": page.page,
        "next_page_token": page.next_page_token,
    }


def print_page(page: RecordPage, fields: list[str], title: str) -> None:
    from rich.table import Table

    from sergas.cli.accounts_io import show_value

    table = Table(title=title, title_justify="left")
    table.add_column("id", no_wrap=True)
    for name in fields:
        table.add_column(name)
    for record in page.records:
        table.add_row(str(record.get("id", "")), *(show_value(record.get(f)) for f in fields))
    console.print(table)
    if not page.records:
        err_console.print("none", style="dim")
    elif page.more:
        err_console.print(
            f"more on page {page.page + 1} (--page {page.page + 1})", style="dim", highlight=False
        )


def note_outcome(record_id: str, ok: bool, note_id: str | None, code: str, message: str) -> None:
    mark = ("noted", "green") if ok else ("not noted", "red")
    console.print(
        styled(mark, f" {record_id}: {code} {message}" + (f" (note {note_id})" if ok else "")),
        highlight=False,
        soft_wrap=True,
    )
    if not ok:
        raise typer.Exit(1)
