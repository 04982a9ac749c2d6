"""`sergas accounts related` and `sergas accounts note`, on a served sandbox: an account's
related records are exactly those the sandbox links to it, a page at a time; a note is
stored on the account and read back verbatim."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.cli.conftest import run, run_json, sub, sub_env
from typer.testing import CliRunner

from sergas.cli import app
from sergas.sandbox.relations import relation_of
from sergas.sandbox.server import RunningSandbox

pytestmark = pytest.mark.usefixtures("zoho_env")

ACCOUNTS = 300
LISTS = ("Contacts", "Deals", "Notes", "Calls", "Events")


def by_account(crm: RunningSandbox, related: str) -> dict[str, set[str]]:
    """The ids of `related` records that the sandbox links to each account."""
    accounts = crm.sandbox.module("Accounts")
    relation = relation_of(accounts, related) if accounts is not None else None
    assert accounts is not None and relation is not None
    out: dict[str, set[str]] = {}
    for record in crm.sandbox.store.all(relation.module):
        parent = record.get(relation.field)
        if isinstance(parent, dict) and relation.points_at(record, accounts, parent.get("id")):
            out.setdefault(str(parent["id"]), set()).add(str(record["id"]))
    return out


def busiest(crm: RunningSandbox, related: str) -> tuple[str, set[str]]:
    """The account with the most `related` records, and their ids."""
    return max(by_account(crm, related).items(), key=lambda item: len(item[1]))


@pytest.mark.parametrize("related", LISTS)
def test_related_lists_what_the_account_has(crm: RunningSandbox, related: str) -> None:
    account, want = busiest(crm, related)
    page = run_json("accounts", "related", account, "--list", related)
    assert {str(r["id"]) for r in page["records"]} == want
    assert page["more"] is False and page["page"] == 1
    table = run("accounts", "related", account, "--list", related.lower()).stdout
    assert f"{related} of account {account}" in table
    none = next(str(r["id"]) for r in crm.sandbox.store.all("Accounts")
                if str(r["id"]) not in by_account(crm, related))  # fmt: skip
    assert run_json("accounts", "related", none, "--list", related)["records"] == []


def test_related_pages(crm: RunningSandbox) -> None:
    account, want = busiest(crm, "Contacts")
    assert len(want) >= 3
    got: set[str] = set()
    page = 1
    while True:
        found = run_json(
            "accounts", "related", account, "--list", "Contacts", "--limit", "2",
            "--page", str(page),
        )  # fmt: skip
        got |= {str(r["id"]) for r in found["records"]}
        if not found["more"]:
            break
        page += 1
    assert got == want and page == (len(want) + 1) // 2


def test_a_note_is_stored_and_read_back_verbatim(crm: RunningSandbox) -> None:
    account = str(next(iter(crm.sandbox.store.all("Accounts")))["id"])
    text = "Renewal call: [bold]CFO[/bold] wants 3 quotes :rocket:\nsecond line"
    outcome = run_json("accounts", "note", account, "--text", text, "--title", "Renewal")
    assert outcome["ok"] is True and outcome["code"] == "SUCCESS" and outcome["account"] == account
    stored = next(r for r in crm.sandbox.store.all("Notes") if str(r["id"]) == outcome["id"])
    assert stored["Note_Content"] == text and stored["Note_Title"] == "Renewal"
    assert stored["Parent_Id"]["id"] == account
    notes = run_json("accounts", "related", account, "--list", "Notes")["records"]
    assert any(n["Note_Content"] == text for n in notes)
    shown = run("accounts", "note", account, "--text", "[red]second[/red] note").stdout
    assert shown.startswith(f"noted {account}: SUCCESS")


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (["related", "{id}", "--list", "Invoices"], 2, "Invoices"),
        (["note", "{id}", "--text", "  "], 2, "the note is empty"),
        (["related", "5725767999999999999", "--list", "Contacts"], 1, "error: "),
        (["note", "5725767999999999999", "--text", "hello"], 1, "error: "),
    ],
)
def test_bad_input_is_one_clear_line(
    crm: RunningSandbox, tmp_path: Path, args: list[str], code: int, said: str
) -> None:
    account = str(next(iter(crm.sandbox.store.all("Accounts")))["id"])
    done = sub(sub_env(crm, tmp_path / "data"), "accounts", *(a.format(id=account) for a in args))
    assert done.returncode == code, done.stderr
    assert said in done.stderr and "Traceback" not in done.stderr


def test_every_new_command_has_help() -> None:
    for command in ("related", "note", "import"):
        result = CliRunner().invoke(app, ["accounts", command, "--help"])
        assert result.exit_code == 0 and "--json" in result.output
