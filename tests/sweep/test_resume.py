"""A sweep killed with SIGKILL, then started again, writes every changed account exactly once.

`python -m sergas sweep` runs as a real subprocess against the test's sandbox (credentials
in its environment). The test hook SERGAS_SWEEP_TEST_PAUSE stops it at a known point and
says so on stderr; the test then kills it:

- "after:1": between batches (one batch done, none in flight);
- "in:2": inside batch 2, after Zoho accepted the write but before "done" was recorded, so
  the resumed run must find out from the CRM itself that batch 2 is already written.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tests.sweep.conftest import Crm

pytestmark = pytest.mark.slow

BATCH = 50


def sweep_process(
    crm: Crm, *args: str, pause: str | None = None, concurrency: int = 2
) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SERGAS_", "ZOHO_"))}
    env |= crm.running.env | {
        "SERGAS_DATA_DIR": str(crm.data),
        "SERGAS_SWEEP_BATCH_SIZE": str(BATCH),
        "SERGAS_SWEEP_WRITE_CONCURRENCY": str(concurrency),
    }
    if pause:
        env["SERGAS_SWEEP_TEST_PAUSE"] = pause
    return subprocess.Popen(
        [sys.executable, "-m", "sergas", "sweep", "--json", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_pause(proc: subprocess.Popen[str], timeout: float = 120) -> str:
    """Read stderr until the pause announcement; return it."""
    assert proc.stderr is not None
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            break
        seen.append(line)
        if line.startswith("sweep-test-pause"):
            return line
    proc.kill()
    raise AssertionError("the sweep never paused:\n" + "".join(seen))


def db_rows(crm: Crm, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(crm.data / "sergas.db") as conn:
        return conn.execute(sql).fetchall()


def finish(crm: Crm, out: Path) -> dict[str, Any]:
    proc = sweep_process(crm, "--out", str(out))
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    result: dict[str, Any] = json.loads(stdout)
    return result


def assert_each_changed_account_written_once(crm: Crm, summary: dict[str, Any]) -> None:
    stats = crm.running.stats()
    changed = summary["accounts"]["changed"]
    assert changed > 2 * BATCH
    assert stats["records_written"] == {"Accounts": changed}
    assert stats["records_written_more_than_once"] == 0
    # The records' values: every scored account holds its score, and every written one the
    # run's own Last_Health_Check stamp.
    (run_id, checked_at), *others = db_rows(crm, "select id, checked_at from sweep_runs")
    assert not others and run_id == summary["run_id"]
    stamp = datetime.fromisoformat(checked_at).replace(tzinfo=UTC)
    scores = db_rows(crm, "select account_id, score, status from sweep_last_scores")
    assert len(scores) == summary["accounts"]["scored"]
    for account_id, score, status in scores:
        record = crm.account(account_id)
        assert (record["Health_Score"], record["Account_Status"]) == (score, status)
        assert datetime.fromisoformat(record["Last_Health_Check"]) == stamp


def test_killed_between_batches_resumes_and_writes_each_account_once(
    crm: Crm, tmp_path: Path
) -> None:
    proc = sweep_process(crm, "--out", str(tmp_path / "a"), pause="after:1")
    announced = wait_for_pause(proc)
    assert "after:" in announced
    states = dict(db_rows(crm, "select batch_no, state from sweep_batches"))
    assert "done" in states.values() and "writing" not in states.values()
    written_before_kill = crm.written()
    assert written_before_kill == BATCH * list(states.values()).count("done")
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert db_rows(crm, "select state from sweep_runs") == [("writing",)]

    summary = finish(crm, tmp_path / "b")

    assert summary["resumed"] is True and summary["finished"] is True
    assert summary["accounts"]["not_written"] == 0
    assert summary["accounts"]["written"] == summary["accounts"]["changed"]
    assert_each_changed_account_written_once(crm, summary)
    assert db_rows(crm, "select state from sweep_runs") == [("done",)]


def test_killed_inside_a_batch_after_the_write_is_reconciled_not_resent(
    crm: Crm, tmp_path: Path
) -> None:
    # One batch at a time, so batch 2 is the only one Zoho has and the checkpoint lacks.
    proc = sweep_process(crm, "--out", str(tmp_path / "a"), pause="in:2", concurrency=1)
    wait_for_pause(proc)
    states = dict(db_rows(crm, "select batch_no, state from sweep_batches"))
    assert states[2] == "writing"  # Zoho has batch 2; the checkpoint does not say so
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)

    summary = finish(crm, tmp_path / "b")

    assert summary["resumed"] is True
    assert summary["accounts"]["confirmed_on_read_back"] == BATCH
    assert summary["accounts"]["written"] == summary["accounts"]["changed"]
    assert_each_changed_account_written_once(crm, summary)
