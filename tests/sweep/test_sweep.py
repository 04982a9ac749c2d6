"""The sweep end to end on a seeded sandbox: dry runs, faults, records Zoho will not take."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from tests.sweep.conftest import Crm, sweep_once

from sergas.sweep.runner import NullProgress
from sergas.sweep.scoring import STATUSES


def table_counts(crm: Crm) -> dict[str, int]:
    with sqlite3.connect(crm.data / "sergas.db") as conn:
        return {
            t: conn.execute(f"select count(*) from {t}").fetchone()[0]
            for t in ("sweep_runs", "sweep_batches", "sweep_scores", "sweep_last_scores")
        }


async def test_dry_run_writes_nothing(crm: Crm, tmp_path: Path) -> None:
    summary = await sweep_once(dry_run=True, out=tmp_path / "dry")

    stats = crm.running.stats()
    assert stats["records_written"] == {}
    assert not any(path.startswith(("PUT", "POST /crm/v8/Accounts")) for path in stats["calls"])
    assert table_counts(crm) == dict.fromkeys(table_counts(crm), 0)
    assert summary["dry_run"] is True and summary["run_id"] is None
    assert summary["accounts"]["changed"] == summary["accounts"]["scored"] > 400
    assert summary["accounts"]["written"] == 0
    # It still briefs every owner.
    index = json.loads((tmp_path / "dry" / "index.json").read_text())
    assert sum(i["accounts"] for i in index) == summary["accounts"]["scored"]

    # ...and does not stand in the way of a real run.
    real = await sweep_once(out=tmp_path / "real")
    assert real["resumed"] is False
    assert (
        real["accounts"]["written"] == real["accounts"]["changed"] == summary["accounts"]["changed"]
    )


class Crash(Exception):
    pass


class CrashAfterFirstBatch(NullProgress):
    """Dies like a killed process would, once the first batch is checkpointed."""

    def advance(self, phase: str, amount: int = 1) -> None:
        if phase == "write":
            raise Crash


async def test_dry_run_leaves_an_unfinished_run_for_the_next_real_run(
    crm: Crm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SERGAS_SWEEP_BATCH_SIZE", "100")
    monkeypatch.setenv("SERGAS_SWEEP_WRITE_CONCURRENCY", "1")
    with pytest.raises(Crash):
        await sweep_once(out=tmp_path / "crashed", progress=CrashAfterFirstBatch())
    before = table_counts(crm), batch_states(crm)
    assert "pending" in before[1] and "done" in before[1]
    written = crm.written()

    dry = await sweep_once(dry_run=True, out=tmp_path / "dry")

    assert dry["resumed"] is False and dry["run_id"] is None
    assert (table_counts(crm), batch_states(crm)) == before
    assert crm.written() == written

    real = await sweep_once(out=tmp_path / "real")
    assert real["resumed"] is True and real["finished"] is True
    assert crm.written() == real["accounts"]["written"] == real["accounts"]["changed"]
    assert crm.running.stats()["records_written_more_than_once"] == 0


async def test_restart_abandons_the_unfinished_run_and_writes_only_what_is_left(
    crm: Crm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SERGAS_SWEEP_BATCH_SIZE", "100")
    monkeypatch.setenv("SERGAS_SWEEP_WRITE_CONCURRENCY", "1")
    with pytest.raises(Crash):
        await sweep_once(out=tmp_path / "crashed", progress=CrashAfterFirstBatch())
    written_before = crm.written()
    assert written_before == 100

    fresh = await sweep_once(out=tmp_path / "fresh", restart=True)

    assert fresh["resumed"] is False and fresh["finished"] is True
    # The new plan compares with what Zoho holds: the crashed run's batch is not in it.
    assert fresh["accounts"]["changed"] == fresh["accounts"]["scored"] - written_before
    assert crm.written() == fresh["accounts"]["scored"]
    assert crm.running.stats()["records_written_more_than_once"] == 0
    with sqlite3.connect(crm.data / "sergas.db") as conn:
        states = sorted(r[0] for r in conn.execute("select state from sweep_runs"))
    assert states == ["abandoned", "done"]


def batch_states(crm: Crm) -> list[str]:
    with sqlite3.connect(crm.data / "sergas.db") as conn:
        return [r[0] for r in conn.execute("select state from sweep_batches order by batch_no")]


async def test_a_crm_failing_ten_percent_of_calls_still_finishes(crm: Crm, tmp_path: Path) -> None:
    crm.running.set_faults(error_rates={"500": 0.05, "503": 0.05}, paths=["/crm/", "/mcp"], seed=7)

    summary = await sweep_once(out=tmp_path / "faulty")

    assert crm.running.stats()["faults_injected"] > 0
    acc = summary["accounts"]
    assert summary["finished"] is True
    assert acc["written"] + acc["not_written"] == acc["changed"] > 400
    reported = {row["id"] for row in summary["not_written"]}
    with sqlite3.connect(crm.data / "sergas.db") as conn:
        scores = conn.execute("select account_id, score, status from sweep_scores").fetchall()
    for account_id, score, status in scores:
        record = crm.account(account_id)
        held = (record["Health_Score"], record["Account_Status"])
        assert (held == (score, status)) != (account_id in reported), account_id
    assert crm.running.stats()["records_written_more_than_once"] == 0


class DeleteBeforeWriting(NullProgress):
    """A user deletes an account after the plan is saved, before it is written."""

    def __init__(self, crm: Crm) -> None:
        self.crm = crm
        self.victim: dict[str, Any] = {}

    def start(self, phase: str, total: int) -> None:
        if phase == "write":
            store = self.crm.running.sandbox.store
            active = [r for r in store.all("Accounts") if r["Rating"] == "Active"]
            self.victim = active[len(active) // 2]
            store.delete("Accounts", self.victim["id"])


async def test_an_account_zoho_refuses_is_reported_not_dropped(crm: Crm, tmp_path: Path) -> None:
    progress = DeleteBeforeWriting(crm)
    summary = await sweep_once(out=tmp_path / "briefs", progress=progress)

    victim = progress.victim
    assert summary["accounts"]["not_written"] == 1
    (row,) = summary["not_written"]
    assert row["id"] == victim["id"] and row["name"] == victim["Account_Name"]
    assert row["code"] in ("INVALID_DATA", "RESOURCE_NOT_FOUND")
    assert summary["accounts"]["written"] == summary["accounts"]["changed"] - 1
    assert crm.written() == summary["accounts"]["written"]
    owner = victim["Owner"]["name"].lower().replace(" ", "-")
    brief = json.loads((tmp_path / "briefs" / f"{owner}.json").read_text())
    assert [a["id"] for a in brief["not_written"]] == [victim["id"]]
    assert "## Not written to Zoho (1)" in (tmp_path / "briefs" / f"{owner}.md").read_text()


async def test_summary_shape(crm: Crm, tmp_path: Path) -> None:
    summary = await sweep_once(out=tmp_path / "b")
    assert summary["embedded"] is False
    assert set(summary["accounts"]["statuses"]) == set(STATUSES)
    assert summary["tiers"] and all(t["calls"] > 0 for t in summary["tiers"].values())
    assert all(t["p95_ms"] is not None for t in summary["tiers"].values())
    assert summary["briefs"] == str(tmp_path / "b")
    assert summary["duration_s"] > 0


@pytest.mark.parametrize(("tier", "first"), [("rest", "rest"), ("mcp", "mcp"), ("auto", "sdk")])
async def test_the_tier_setting_picks_where_bulk_calls_go_first(
    crm: Crm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tier: str, first: str
) -> None:
    """ "auto" is the manager's own routing: bulk calls to the SDK tier. One streamed read
    per module (Deals, Tasks, Calls, Events, Accounts), then the at-risk accounts' contacts
    and notes, 100 accounts per read."""
    monkeypatch.setenv("SERGAS_SWEEP_TIER", tier)
    summary = await sweep_once(dry_run=True, out=tmp_path / "b")
    assert list(summary["tiers"]) == [first]
    at_risk = summary["accounts"]["statuses"]["At Risk"]
    assert at_risk > 0
    details = 2 * -(-at_risk // 100)
    assert summary["tiers"][first]["operations"] == {"iter_accounts": 5 + details}
