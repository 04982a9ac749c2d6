"""`sergas accounts import`: an export, changed and imported back, changes exactly what was
changed in the sandbox; every record's outcome is written beside the file; a file that cannot
be sent as it is stops before anything is sent, naming the row and the column."""

from __future__ import annotations

import copy
import csv
import json
import stat
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from tests.cli.conftest import run, run_json, sub, sub_env
from typer.testing import CliRunner

from sergas.cli import app
from sergas.sandbox.server import RunningSandbox

pytestmark = pytest.mark.usefixtures("zoho_env")

ACCOUNTS = 1000
RATINGS = ("Acquired", "Active", "Market Failed", "Project Cancelled", "Shut Down")
STAMPED = ("Modified_Time", "Modified_By")  # Zoho stamps every record it writes


def snapshot(crm: RunningSandbox) -> dict[str, dict[str, Any]]:
    """Every account as the sandbox holds it (a null field and a missing one are alike)."""
    return {
        str(r["id"]): {k: v for k, v in copy.deepcopy(r).items() if v is not None}
        for r in crm.sandbox.store.all("Accounts")
    }


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def other(value: str | None, choices: tuple[str, ...]) -> str:
    return next(c for c in choices if c != value)


def assert_only(
    before: dict[str, dict[str, Any]],
    after: dict[str, dict[str, Any]],
    changed: dict[str, dict[str, Any]],
    written: set[str],
) -> None:
    """Every record as before, but for `changed` (id → field → new value); the records in
    `written` carry Zoho's new Modified_Time and Modified_By, no other does."""
    assert after.keys() == before.keys()
    for rid, was in before.items():
        now = after[rid]
        want = {**was, **changed.get(rid, {})}
        if rid in written:
            assert now["Modified_Time"] >= was["Modified_Time"]
            want = {k: v for k, v in want.items() if k not in STAMPED}
            now = {k: v for k, v in now.items() if k not in STAMPED}
        assert now == want, rid


def test_an_export_changed_and_imported_changes_exactly_that(
    crm: RunningSandbox, tmp_path: Path
) -> None:
    """Export every field of 1,000 accounts to CSV, change Rating on a third of them and
    Owner (by the export's Owner.id column) on some, import the whole file back."""
    before = snapshot(crm)
    out = tmp_path / "accounts.csv"
    assert run_json("accounts", "export", "--format", "csv", "--out", str(out))["count"] == 1000
    rows = read_csv(out)
    assert {"Owner.name", "Owner.id", "Owner.email"} <= set(rows[0])
    owners = sorted({r["Owner.id"] for r in rows})
    changed: dict[str, dict[str, Any]] = {}
    for n, row in enumerate(rows):
        if n % 3 == 0:
            row["Rating"] = other(row["Rating"], RATINGS)
            changed.setdefault(row["id"], {})["Rating"] = row["Rating"]
        if n % 7 == 0:
            row["Owner.id"] = other(row["Owner.id"], tuple(owners))
            changed.setdefault(row["id"], {})["Owner"] = row["Owner.id"]
    write_csv(out, rows)

    summary = run_json("accounts", "import", "--file", str(out))

    assert summary["records"] == summary["updated"] == 1000 and summary["failed"] == 0
    assert "Rating" in summary["fields"] and "Owner" in summary["fields"]
    assert summary["not_sent"]["Owner.name"].startswith("a lookup is set by its id")
    assert summary["not_sent"]["Created_Time"] == "read-only in Zoho"
    outcomes = tmp_path / "accounts.outcomes.csv"
    assert summary["outcomes"] == str(outcomes)
    assert stat.S_IMODE(outcomes.stat().st_mode) == 0o600
    reported = read_csv(outcomes)
    assert [r["id"] for r in reported] == [r["id"] for r in rows]  # every record, in order
    assert [r["row"] for r in reported] == [str(n) for n in range(2, 1002)]
    assert {(r["ok"], r["code"], r["message"]) for r in reported} == {
        ("true", "SUCCESS", "record updated")
    }
    after = snapshot(crm)
    for rid, fields in changed.items():  # an owner is set by id; Zoho shows the user
        if "Owner" in fields:
            owner_id = fields["Owner"]
            fields["Owner"] = next(
                r["Owner"] for r in before.values() if r["Owner"]["id"] == owner_id
            )
            assert after[rid]["Owner"]["id"] == owner_id
    assert_only(before, after, changed, written={r["id"] for r in rows})


def test_a_file_of_changes_writes_only_its_records_and_reports_zohos_refusals(
    crm: RunningSandbox, tmp_path: Path
) -> None:
    """id plus two fields for 300 accounts, one with a value Zoho refuses: that record's
    outcome is Zoho's code and message, the others are written, the rest of the CRM is not
    touched; exit 1."""
    before = snapshot(crm)
    chosen = sorted(before, key=int)[100:400]
    refused = chosen[17]
    changes = tmp_path / "changes.csv"
    changed: dict[str, dict[str, Any]] = {}
    with changes.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "Health_Score", "Account_Status"])
        for n, rid in enumerate(chosen):
            status = "Bogus" if rid == refused else ("Watch", "At Risk")[n % 2]
            writer.writerow([rid, n % 101, status])
            if rid != refused:
                changed[rid] = {"Health_Score": n % 101, "Account_Status": status}

    result = CliRunner().invoke(app, ["accounts", "import", "--file", str(changes), "--json"])

    assert result.exit_code == 1, result.output
    summary = json.loads(result.stdout)
    assert (summary["updated"], summary["failed"]) == (299, 1)
    assert summary["failed_by_code"] == {"INVALID_DATA": 1}
    reported = {r["id"]: r for r in read_csv(tmp_path / "changes.outcomes.csv")}
    assert list(reported) == chosen
    bad = reported[refused]
    assert (bad["ok"], bad["code"]) == ("false", "INVALID_DATA")
    assert bad["message"] == "invalid data"  # Zoho's text, as sent
    assert json.loads(bad["details"])["api_name"] == "Account_Status"
    assert all(r["ok"] == "true" for rid, r in reported.items() if rid != refused)
    assert_only(before, snapshot(crm), changed, written=set(changed))


def test_json_lines_round_trip(crm: RunningSandbox, tmp_path: Path) -> None:
    """An export as JSON lines (lookups as objects), changed and imported back."""
    before = snapshot(crm)
    out = tmp_path / "some.jsonl"
    run(
        "accounts", "export", "--format", "jsonl", "--out", str(out),
        "--where", "Employees less_than 40", "--fields", "Account_Name,Employees,Owner",
    )  # fmt: skip
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert records and all(isinstance(r["Owner"], dict) for r in records)
    changed = {}
    for record in records:
        record["Employees"] += 1000
        changed[record["id"]] = {"Employees": record["Employees"]}
    out.write_text("".join(json.dumps(r) + "\n" for r in records))

    summary = run_json("accounts", "import", "--file", str(out), "--tier", "rest")

    assert summary["updated"] == len(records) and summary["failed"] == 0
    lines = (tmp_path / "some.outcomes.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [r["id"] for r in records]
    assert all(json.loads(line)["ok"] is True for line in lines)
    assert_only(before, snapshot(crm), changed, written=set(changed))


def test_past_the_threshold_the_import_runs_bulk_write_jobs(
    crm: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The strategy is the gateway's, by size: 600 records past a threshold of 500 go as a
    Bulk Write job, not as updates of 100."""
    from sergas.settings import reset_settings

    monkeypatch.setenv("SERGAS_BULK_WRITE_THRESHOLD", "500")
    reset_settings()
    before = snapshot(crm)
    chosen = sorted(before, key=int)[:600]
    changes = tmp_path / "changes.csv"
    write_csv(changes, [{"id": rid, "Ticker_Symbol": f"T{n}"} for n, rid in enumerate(chosen)])
    calls = Counter(crm.sandbox.stats()["endpoints"])

    summary = run_json("accounts", "import", "--file", str(changes), "--tier", "rest")

    used = Counter(crm.sandbox.stats()["endpoints"]) - calls
    assert summary["updated"] == 600, summary
    assert any("bulk/v8/write" in name for name in used), used
    assert not any(name.startswith("PUT /crm/v8/Accounts") for name in used), used
    changed = {rid: {"Ticker_Symbol": f"T{n}"} for n, rid in enumerate(chosen)}
    assert_only(before, snapshot(crm), changed, written=set(chosen))


# -- a file that cannot be sent --------------------------------------------------------------


BAD_FILES: list[tuple[str, str, list[str]]] = [
    ("a.csv", "Account_Name,Rating\nX,Active\n", ["a.csv row 1", "no id column"]),
    ("a.csv", "id,Ratting\n{id},Active\n", ["a.csv row 2, column Ratting", "did you mean Rating"]),
    ("a.csv", 'id,Description,Employees\n{id},"two\nlines",1\n{id2},x,many\n',
     ["row 3, column Employees"]),  # rows as a spreadsheet numbers them
    ("a.csv", "id,Employees\n{id},12\n{id2},many\n",
     ["a.csv row 3, column Employees", "Employees (integer) takes a whole number, not 'many'"]),
    ("a.csv", "id,Rating\n{id},Active\n{id},Acquired\n", ["row 3, column id", "also on row 2"]),
    ("a.csv", "id,Rating\nACC-1,Active\n", ["row 2, column id", "not a Zoho record id"]),
    ("a.csv", "id,Rating.id\n{id},1\n", ["column Rating.id", "Rating is not a lookup"]),
    ("a.csv", "id,Owner,Owner.id\n{id},1,2\n", ["column Owner.id", "Owner is given twice"]),
    ("a.csv", "id,Owner.id\n{id},Julia\n", ["column Owner.id", "set by the id of the record"]),
    ("a.csv", "id,Rating\n{id},Active,extra\n", ["row 2", "3 cells for 2 columns"]),
    ("a.csv", "id,Created_Time\n{id},2024-01-01\n", ["no field to change"]),
    ("a.csv", "", ["the file is empty"]),
    ("a.jsonl", '{{"id": "{id}", "Employees": 5}}\n[1]\n', ["a.jsonl row 2", "one JSON object"]),
    ("a.jsonl", '{{"id": "{id}", "Employees": "five"}}\n', ["row 1, column Employees"]),
    ("a.jsonl", '{{"Employees": 5}}\n', ["row 1", "no id"]),
    ("a.txt", "id,Rating\n", ["cannot tell the format", "--format csv or jsonl"]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "content", "said"), BAD_FILES)
def test_a_file_that_cannot_be_sent_stops_before_anything_is_sent(
    crm: RunningSandbox, tmp_path: Path, name: str, content: str, said: list[str]
) -> None:
    """Exit 2, one message naming the row and the column, no traceback, no outcomes file,
    and the CRM as it was."""
    first, second = sorted(snapshot(crm), key=int)[:2]
    path = tmp_path / name
    path.write_text(content.format(id=first, id2=second))
    before = snapshot(crm)
    done = sub(sub_env(crm, tmp_path / "data", COLUMNS="400"), "accounts", "import", "--file",
               str(path))  # fmt: skip
    assert done.returncode == 2, done.stderr
    text = " ".join(done.stderr.split())
    for part in said:
        assert part in text, text
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == [name]
    assert snapshot(crm) == before


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["accounts", "import", "--file", str(tmp_path / "x.csv")])
    assert result.exit_code == 2
    assert "no such file" in result.output
