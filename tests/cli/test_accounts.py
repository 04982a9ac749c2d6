"""`sergas accounts` through typer's runner and as real subprocesses, on a served sandbox.

The sandbox's ZOHO_* settings are in the environment (as for real Zoho) and the database is a
fresh SQLite file; the export's ids are checked against the sandbox's own store.
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.cli.conftest import ACCOUNTS, ids, run, run_json, sub, sub_env
from typer.testing import CliRunner

from sergas.cli import app
from sergas.sandbox.server import RunningSandbox

pytestmark = pytest.mark.usefixtures("zoho_env")


# -- list, get, search, update ---------------------------------------------------------------


def test_every_command_has_help() -> None:
    for command in ("list", "get", "search", "update", "export"):
        result = CliRunner().invoke(app, ["accounts", command, "--help"])
        assert result.exit_code == 0
        assert "--json" in result.output or command == "update"


def test_list_pages_and_sorts(crm: RunningSandbox) -> None:
    first = run_json("accounts", "list", "--limit", "5", "--sort-by", "id", "--sort-order", "asc")
    second = run_json(
        "accounts", "list", "--limit", "5", "--page", "2", "--sort-by", "id", "--sort-order", "asc"
    )
    everything = sorted(ids(crm), key=int)
    assert [r["id"] for r in first + second] == everything[:10]

    table = run("accounts", "list", "--limit", "3", "--fields", "Account_Name,Industry").stdout
    assert "Account_Name" in table and "Industry" in table and "Owner" not in table


def test_get_shows_one_account(crm: RunningSandbox) -> None:
    some = next(iter(crm.sandbox.store.all("Accounts")))
    record = run_json("accounts", "get", str(some["id"]), "--fields", "Account_Name,Rating")
    assert record["id"] == str(some["id"])
    assert record["Account_Name"] == some["Account_Name"]
    assert "Account_Name" in run("accounts", "get", str(some["id"])).stdout


@pytest.mark.parametrize("tier", ["rest", "sdk", "mcp"])
def test_search_with_typed_criteria(crm: RunningSandbox, tier: str) -> None:
    rows = list(crm.sandbox.store.all("Accounts"))
    industry = rows[0]["Industry"]
    found = run_json(
        "accounts", "search", "--where", f"Industry equals {industry}",
        "--where", "Annual_Revenue greater_than 1000000", "--limit", "2000", "--tier", tier,
    )  # fmt: skip
    expected = {
        str(r["id"])
        for r in rows
        if r["Industry"] == industry and (r.get("Annual_Revenue") or 0) > 1_000_000
    }
    assert {r["id"] for r in found} == expected and expected


def test_search_any_and_in(crm: RunningSandbox) -> None:
    rows = list(crm.sandbox.store.all("Accounts"))
    a, b = rows[0]["Account_Name"], rows[1]["Account_Name"]
    either = run_json(
        "accounts", "search", "--where", f"Account_Name equals {a}",
        "--where", f"Account_Name equals {b}", "--any",
    )  # fmt: skip
    listed = run_json("accounts", "search", "--where", f"Account_Name in {a},{b}")
    want = {str(r["id"]) for r in rows if r["Account_Name"] in (a, b)}
    assert {r["id"] for r in either} == {r["id"] for r in listed} == want


def test_search_between_and_empty_fields(crm: RunningSandbox) -> None:
    rows = list(crm.sandbox.store.all("Accounts"))
    between = run_json(
        "accounts", "search", "--where", "Employees between 10,50", "--limit", "2000"
    )
    want = {
        str(r["id"]) for r in rows if r.get("Employees") is not None and 10 <= r["Employees"] <= 50
    }
    assert {r["id"] for r in between} == want and want
    industry = rows[0]["Industry"]
    found = {}
    for op in ("is_null", "is_not_null"):
        found[op] = run_json(
            "accounts", "search", "--where", f"Industry equals {industry}",
            "--where", f"Ticker_Symbol {op}", "--limit", "2000",
        )  # fmt: skip
    of_industry = [r for r in rows if r["Industry"] == industry]
    empty = {str(r["id"]) for r in of_industry if not r.get("Ticker_Symbol")}
    assert {r["id"] for r in found["is_null"]} == empty and empty
    assert {r["id"] for r in found["is_not_null"]} == {str(r["id"]) for r in of_industry} - empty


def test_search_says_how_many_matched_not_how_many_it_printed(crm: RunningSandbox) -> None:
    rows = list(crm.sandbox.store.all("Accounts"))
    industry = rows[0]["Industry"]
    want = sum(1 for r in rows if r["Industry"] == industry)
    assert want > 5
    where = ["--where", f"Industry equals {industry}", "--limit", "5"]
    result = run("accounts", "search", *where, "--json")
    assert len(json.loads(result.stdout)) == 5
    assert f"{want:,} matched, 5 shown" in result.stderr
    assert f"{want:,} matched, 5 shown" in run("accounts", "search", *where).stdout
    every = run("accounts", "search", "--where", f"Industry equals {industry}", "--limit", "2000")
    assert f"{want:,} matched" in every.stdout and "shown" not in every.stdout


def test_update_writes_typed_values(crm: RunningSandbox) -> None:
    record_id = str(next(iter(crm.sandbox.store.all("Accounts")))["id"])
    outcome = run_json(
        "accounts", "update", record_id, "--set", "Health_Score=42",
        "--set", "Account_Status=At Risk", "--tier", "rest",
    )  # fmt: skip
    assert outcome["ok"] is True and outcome["id"] == record_id
    stored = crm.sandbox.store.get("Accounts", record_id)
    assert stored is not None
    assert stored["Health_Score"] == 42 and stored["Account_Status"] == "At Risk"
    text = run("accounts", "update", record_id, "--set", "Health_Score=43").stdout
    assert text.startswith(f"updated {record_id}: SUCCESS")


# -- export ----------------------------------------------------------------------------------


def exported(path: Path, fmt: str) -> list[dict[str, Any]]:
    if fmt == "jsonl":
        return [json.loads(line) for line in path.read_text().splitlines()]
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("tier", ["rest", "sdk"])
@pytest.mark.parametrize("strategy", ["auto", "records", "coql", "bulk"])
def test_export_every_account(
    crm: RunningSandbox, tmp_path: Path, strategy: str, tier: str
) -> None:
    for fmt in ("csv", "jsonl") if tier == "rest" else ("jsonl",):
        out = tmp_path / f"accounts.{fmt}"
        result = run_json(
            "accounts", "export", "--format", fmt, "--out", str(out), "--tier", tier,
            "--strategy", strategy, "--fields", "Account_Name,Owner,Annual_Revenue",
        )  # fmt: skip
        rows = exported(out, fmt)
        assert result["count"] == len(rows) == ACCOUNTS
        assert {str(r["id"]) for r in rows} == ids(crm)
        if fmt == "csv":  # a lookup as a column per key (email where Zoho gives it)
            keys = ["name", "id", "email"] if "Owner.email" in rows[0] else ["name", "id"]
            assert list(rows[0]) == [
                "id", "Account_Name", *(f"Owner.{k}" for k in keys), "Annual_Revenue",
            ]  # fmt: skip
            owners = {str(r["id"]): r["Owner"] for r in crm.sandbox.store.all("Accounts")}
            for row in rows:
                owner = owners[row["id"]]
                assert [row[f"Owner.{k}"] for k in keys] == [owner[k] for k in keys]


def test_export_with_criteria_and_all_fields(crm: RunningSandbox, tmp_path: Path) -> None:
    out = tmp_path / "retail.jsonl"
    industry = next(iter(crm.sandbox.store.all("Accounts")))["Industry"]
    want = {str(r["id"]) for r in crm.sandbox.store.all("Accounts") if r["Industry"] == industry}
    for strategy in ("coql", "records", "bulk"):
        result = run_json(
            "accounts", "export", "--format", "jsonl", "--out", str(out),
            "--where", f"Industry equals {industry}", "--strategy", strategy,
        )  # fmt: skip
        rows = exported(out, "jsonl")
        assert result["count"] == len(want) and {r["id"] for r in rows} == want
        assert all("Account_Name" in r and "Industry" in r for r in rows)


def test_export_shows_progress_and_a_count(tmp_path: Path) -> None:
    out = tmp_path / "a.csv"
    result = run("accounts", "export", "--format", "csv", "--out", str(out), "--strategy", "coql")
    assert f"exported {ACCOUNTS:,} accounts to {out}" in result.stdout.replace("\n", "")
    assert "export (coql)" in result.stderr


def test_an_export_is_private(tmp_path: Path) -> None:
    out = tmp_path / "new" / "a.csv"
    run("accounts", "export", "--format", "csv", "--out", str(out), "--fields", "Account_Name")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # CRM data
    assert stat.S_IMODE(out.parent.stat().st_mode) == 0o700  # a folder Sergas created


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_failed_export_leaves_no_partial_file(tmp_path: Path, fmt: str) -> None:
    """Zoho refuses the field list once the export has begun: nothing is left half-written,
    and a previous export at the same path is left as it was."""
    folder = tmp_path / "exports"
    folder.mkdir()
    fresh, previous = folder / f"fresh.{fmt}", folder / f"previous.{fmt}"
    previous.write_text("the previous export\n")
    for out in (fresh, previous):
        result = CliRunner().invoke(
            app,
            ["accounts", "export", "--format", fmt, "--out", str(out),
             "--fields", "Account_Name,Owner.name"],
        )  # fmt: skip
        assert result.exit_code == 1
        assert "INVALID_QUERY" in str(result.exception)
    assert not fresh.exists()
    assert previous.read_text() == "the previous export\n"
    assert [p.name for p in folder.iterdir()] == [previous.name]  # no temporary file left


# -- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["get", "999999999"], 1, "error: "),
        (["search", "--where", "Industry like x"], 2, "unknown operator 'like'"),
        (["search", "--where", "Bad-Field equals x"], 2, "not a Zoho API name"),
        (["search", "--where", "Employees between 1"], 2, "write 'FIELD between LOW,HIGH'"),
        (["search", "--where", "Phone is_null x"], 2, "write 'FIELD is_null'"),
        (["search", "--where", "Phone"], 2, "expected 'FIELD OP VALUE'"),
        (["update", "1", "--set", "Health_Score"], 2, "expected FIELD=VALUE"),
        (["export", "--format", "xml", "--out", "x"], 2, "use csv or jsonl"),
        (["list", "--tier", "carrier-pigeon"], 2, "use auto, mcp, sdk or rest"),
    ],
)
def test_bad_input_is_one_clear_line(
    crm: RunningSandbox, tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    result = sub(sub_env(crm, tmp_path / "data"), "accounts", *args)
    assert result.returncode == code, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    if code == 1:
        first, *rest = result.stderr.strip().splitlines()
        assert first.startswith("error: ") and rest == ["(run with --debug for a traceback)"]


def test_debug_shows_the_traceback(crm: RunningSandbox, tmp_path: Path) -> None:
    result = sub(sub_env(crm, tmp_path / "data"), "--debug", "accounts", "get", "999999999")
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "NotFoundError" in result.stderr


def test_mcp_has_no_bulk_job(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["accounts", "export", "--format", "csv", "--out", str(tmp_path / "x.csv"),
         "--tier", "mcp", "--strategy", "bulk"],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "cannot run a Bulk Read job" in str(result.exception)


def test_a_subprocess_exports_and_lists(crm: RunningSandbox, tmp_path: Path) -> None:
    env = sub_env(crm, tmp_path / "data")
    out = tmp_path / "all.jsonl"
    done = sub(env, "accounts", "export", "--format", "jsonl", "--out", str(out), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["count"] == ACCOUNTS
    assert {json.loads(line)["id"] for line in out.read_text().splitlines()} == ids(crm)
    listed = sub(env, "accounts", "list", "--limit", "2", "--json")
    assert listed.returncode == 0 and len(json.loads(listed.stdout)) == 2


@pytest.mark.slow
def test_embedded_default_without_credentials(tmp_path: Path) -> None:
    """No ZOHO_* settings: the commands run on the sweep's embedded sandbox, and say so."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SERGAS_", "ZOHO_"))}
    env |= {"SERGAS_DATA_DIR": str(tmp_path / "data"), "SERGAS_SWEEP_EMBEDDED_ACCOUNTS": "300"}
    result = sub(env, "accounts", "list", "--limit", "3", "--json")
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("embedded sandbox: no Zoho credentials configured")
    assert len(json.loads(result.stdout)) == 3
    assert (tmp_path / "data" / "sandbox" / "crm.sqlite3").is_file()
    # Everything in the data folder holds data: only its owner may read it.
    for path in (tmp_path / "data", tmp_path / "data" / "sandbox"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    files = [p for p in (tmp_path / "data").rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"sergas.db", "token.key", "crm.sqlite3"}
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in files} == {p.name: 0o600 for p in files}
    # Each run's sandbox has its own port: no token row is left behind for it.
    with sqlite3.connect(tmp_path / "data" / "sergas.db") as conn:
        assert conn.execute("select count(*) from zoho_tokens").fetchone() == (0,)


# -- what Zoho said --------------------------------------------------------------------------


def first_error(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if not line.startswith("embedded")]
    assert lines and "Traceback" not in result.stderr, result.stderr
    return lines[0]


@pytest.mark.parametrize("tier", ["auto", "rest", "mcp"])
def test_a_refused_value_names_the_field_and_the_allowed_values(
    crm: RunningSandbox, tmp_path: Path, tier: str
) -> None:
    record_id = str(next(iter(crm.sandbox.store.all("Accounts")))["id"])
    rating = crm.sandbox.module("Accounts").field("Rating")  # type: ignore[union-attr]
    assert rating is not None
    done = sub(
        sub_env(crm, tmp_path / "data"),
        "accounts", "update", record_id, "--set", "Rating=Bogus", "--tier", tier,
    )  # fmt: skip
    assert done.returncode == 1
    line = first_error(done)
    assert line.startswith("error: invalid data (INVALID_DATA): field Rating")
    assert line.endswith(f"allowed: {', '.join(rating.picklist)}")


def test_a_text_field_keeps_a_value_of_digits_as_text(crm: RunningSandbox) -> None:
    """Phone is a text (phone) field: 5550100 is sent as "5550100", which Zoho takes."""
    record_id = str(next(iter(crm.sandbox.store.all("Accounts")))["id"])
    for tier in ("rest", "sdk", "mcp"):
        phone = f"555{tier.encode().hex()[:4]}"
        outcome = run_json(
            "accounts", "update", record_id, "--set", f"Phone={phone}", "--set",
            "Employees=12", "--tier", tier,
        )  # fmt: skip
        assert outcome["ok"] is True, outcome
        stored = crm.sandbox.store.get("Accounts", record_id)
        assert stored is not None and stored["Phone"] == phone and stored["Employees"] == 12


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["search", "--where", "Bogus_Field equals x"], ["Bogus_Field"]),
        (["search", "--where", "Employes greater_than 5"], ["'Employes'", "Employees"]),
        (["export", "--format", "csv", "--out", "x.csv", "--where", "Nope equals 1"], ["Nope"]),
        (["update", "1", "--set", "Bogus_Field=1"], ["Bogus_Field"]),
        (["update", "1", "--set", "Employees=many"], ["Employees (integer)", "whole number"]),
        (["list", "--sort-by", "Health_Score"], ["id, Created_Time or Modified_Time"]),
    ],
)
def test_an_unknown_field_or_a_value_it_cannot_take_is_bad_usage(
    crm: RunningSandbox, tmp_path: Path, args: list[str], names: list[str]
) -> None:
    """Exit 2, as README promises, naming the field (and what it takes)."""
    done = sub(sub_env(crm, tmp_path / "data", COLUMNS="400"), "accounts", *args)
    assert done.returncode == 2, done.stderr
    text = " ".join(done.stderr.split())
    for name in names:
        assert name in text
    assert "Traceback" not in done.stderr


def test_a_missing_record_reads_the_same_in_get_and_update(
    crm: RunningSandbox, tmp_path: Path
) -> None:
    missing = "5725767999999999999"
    env = sub_env(crm, tmp_path / "data")
    lines = set()
    for args in (["get", missing], ["update", missing, "--set", "Rating=Active"]):
        for tier in ("rest", "sdk", "mcp"):
            done = sub(env, "accounts", *args, "--tier", tier)
            assert done.returncode == 1
            lines.add(first_error(done))
    assert lines == {f"error: no Accounts record with id {missing} (RESOURCE_NOT_FOUND)"}


def test_errors_are_shown_verbatim(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Zoho's text in an error line is never read as markup (nor fails as bad markup)."""
    import typer

    from sergas.cli._common import run_app
    from sergas.errors import InvalidDataError

    broken = typer.Typer()

    @broken.command()
    def fail() -> None:
        raise InvalidDataError(
            "Zoho said [bold]no[/bold] [/] (INVALID_DATA)",
            details={"api_name": "Rating", "supported_values": ["[red]Hot[/red]", "Cold"]},
        )

    monkeypatch.setattr(sys, "argv", ["sergas"])
    with pytest.raises(SystemExit) as exited:
        run_app(broken)
    assert exited.value.code == 1
    first = capsys.readouterr().err.splitlines()[0]
    assert first == (
        "error: Zoho said [bold]no[/bold] [/] (INVALID_DATA): field Rating; "
        "allowed: [red]Hot[/red], Cold"
    )
