"""`sergas sweep` through typer's runner and as a real subprocess (the embedded default)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from tests.sweep.conftest import Crm
from typer.testing import CliRunner

from sergas.cli import app


def test_help_lists_the_options() -> None:
    result = CliRunner().invoke(app, ["sweep", "--help"])
    assert result.exit_code == 0
    for option in ("--dry-run", "--out", "--restart", "--json"):
        assert option in result.output


def test_sweep_against_zoho_credentials_prints_a_summary(crm: Crm, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["sweep", "--out", str(tmp_path / "b")], catch_exceptions=False
    )

    assert result.exit_code == 0, result.output
    first, *rest = result.output.splitlines()
    assert first == f"Zoho CRM at {crm.running.url}"
    text = "\n".join(rest)
    for label in (
        "accounts scanned",
        "accounts changed",
        "write-back",
        "calls per tier",
        "p95 latency",
        "credits spent",
        "breaker events",
        "duration",
    ):
        assert label in text
    assert f"briefs: {tmp_path / 'b'}" in text.replace("\n", "")
    assert (tmp_path / "b" / "index.md").is_file()


def test_json_summary_and_dry_run(crm: Crm, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["sweep", "--dry-run", "--json", "--out", str(tmp_path / "b")], catch_exceptions=False
    )
    assert result.exit_code == 0
    summary = json.loads(result.stdout)
    assert summary["dry_run"] is True and summary["accounts"]["written"] == 0
    assert crm.running.stats()["records_written"] == {}


def _env(data: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SERGAS_", "ZOHO_"))}
    return env | {"SERGAS_DATA_DIR": str(data), "COLUMNS": "200"} | extra


@pytest.mark.slow
def test_embedded_default_twice_as_a_subprocess(tmp_path: Path) -> None:
    """No credentials: the sandbox runs in process, its CRM in the data directory; the second
    run loads it, sees the first run's writes and has nothing left to change."""
    env = _env(tmp_path / "data", SERGAS_SWEEP_EMBEDDED_ACCOUNTS="300")
    command = [sys.executable, "-m", "sergas", "sweep"]
    first = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert first.returncode == 0, first.stderr
    head = first.stdout.splitlines()[0]
    assert head.startswith("embedded sandbox: no Zoho credentials configured")
    assert "300 accounts seeded into" in head
    assert (tmp_path / "data" / "sandbox" / "crm.sqlite3").is_file()
    assert "briefs: " in first.stdout

    second = subprocess.run(
        [*command, "--json"], env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert second.returncode == 0, second.stderr
    assert "300 accounts loaded from" in second.stderr.splitlines()[0]
    summary = json.loads(second.stdout)
    assert summary["embedded"] is True and summary["credits"]["source"] == "sandbox"
    assert summary["credits"]["used"] > 0
    assert summary["accounts"]["changed"] <= 1  # at most one account crossed a day since
    index = json.loads((Path(summary["briefs"]) / "index.json").read_text())
    owner = json.loads((Path(summary["briefs"]) / index[0]["json"]).read_text())
    assert owner["run"]["previous_sweep"] is True
    # Each run's sandbox had its own port: no token row is left behind for any of them.
    with sqlite3.connect(tmp_path / "data" / "sergas.db") as conn:
        assert conn.execute("select count(*) from zoho_tokens").fetchone() == (0,)


def test_a_bad_setting_is_one_line_and_exit_1(tmp_path: Path) -> None:
    env = _env(tmp_path / "data", SERGAS_SWEEP_BATCH_SIZE="5000")
    result = subprocess.run(
        [sys.executable, "-m", "sergas", "sweep"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 1
    first, *rest = result.stderr.strip().splitlines()
    assert first.startswith("error: invalid setting SERGAS_SWEEP_BATCH_SIZE")
    assert rest == ["(run with --debug for a traceback)"]


def test_incomplete_credentials_are_an_error_not_the_embedded_default(tmp_path: Path) -> None:
    env = _env(tmp_path / "data", ZOHO_CLIENT_ID="1000.ONLYTHEID")
    result = subprocess.run(
        [sys.executable, "-m", "sergas", "sweep"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert "ZOHO_CLIENT_SECRET" in result.stderr
    assert not (tmp_path / "data" / "sandbox").exists()


def test_exit_3_when_zoho_takes_no_write(crm: Crm, tmp_path: Path) -> None:
    """Every write path fails (REST and SDK PUTs, the MCP endpoint): the sweep still
    finishes, reports every changed account as not written, and exits 3."""
    crm.running.set_faults(
        targeted=[
            {"path": "/crm/v8/Accounts", "method": "PUT", "status": 503, "count": 10_000},
            {"path": "/mcp", "status": 503, "count": 10_000},
        ]
    )
    result = CliRunner().invoke(
        app, ["sweep", "--json", "--out", str(tmp_path / "b")], catch_exceptions=False
    )

    assert result.exit_code == 3
    summary = json.loads(result.stdout)
    assert summary["finished"] is True
    acc = summary["accounts"]
    assert acc["written"] == 0 and acc["not_written"] == acc["changed"] > 400
    assert {row["code"] for row in summary["not_written"]} <= {
        "SERVICE_UNAVAILABLE",
        "CIRCUIT_OPEN",
    }
    assert crm.running.stats()["records_written"] == {}
    index = json.loads((tmp_path / "b" / "index.json").read_text())
    assert sum(i["not_written"] for i in index) == acc["changed"]
