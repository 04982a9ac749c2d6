"""Score history per run, on SQLite and PostgreSQL: kept when a run finishes, pruned past
SERGAS_SWEEP_HISTORY_RUNS, read back as runs, diffs, distributions, owners and an account's
score over time. And, against a real (served) sandbox, the two sweep changes that history
made visible: no new folder of briefs when nothing changed, credits "unknown" rather than
0 where nothing counted them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from tests.db.conftest import db_url, postgres_url
from tests.sweep.conftest import Crm, sweep_once
from typer.testing import CliRunner

from sergas.cli import app
from sergas.db import create_engine, upgrade
from sergas.db.tables import sweep_history
from sergas.errors import InvalidDataError, NotFoundError
from sergas.sweep.history import SweepHistory
from sergas.sweep.model import ScoredAccount
from sergas.sweep.scoring import Owner
from sergas.sweep.store import RunRow, SweepStore

__all__ = ["db_url", "postgres_url"]

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
ADA = Owner("u1", "Ada Lovelace", "ada@example.com")
BOB = Owner("u2", "Bob Babbage", None)


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url)
    await upgrade(engine)
    async with engine.begin() as conn:
        for table in (
            "sweep_history",
            "sweep_batches",
            "sweep_scores",
            "sweep_last_scores",
            "sweep_runs",
        ):
            await conn.execute(text(f"DELETE FROM {table}"))
    yield engine
    await engine.dispose()


def account(i: int, score: int, status: str, owner: Owner = ADA) -> ScoredAccount:
    return ScoredAccount(str(1000 + i), f"Account {i}", owner, score, status, ("No open deals",))


async def finish(
    store: SweepStore,
    run_id: str,
    day: int,
    scores: list[ScoredAccount],
    *,
    keep: int = 90,
    scope: str = "crm",
) -> None:
    at = T0 + timedelta(days=day)
    run = RunRow(run_id, scope, "writing", at, at, len(scores), len(scores), 0, 0)
    await store.create_run(run, scores, [], at)
    statuses = {s: sum(1 for a in scores if a.status == s) for s in ("Healthy", "Watch", "At Risk")}
    await store.finish_run(run, scores, {"statuses": statuses, "written": 0}, at, keep_runs=keep)


async def test_each_finished_run_keeps_its_scores(engine: AsyncEngine) -> None:
    store, history = SweepStore(engine), SweepHistory(engine)
    await finish(store, "aa01", 0, [account(1, 80, "Healthy"), account(2, 50, "Watch")])
    await finish(store, "bb02", 1, [account(1, 35, "At Risk"), account(3, 90, "Healthy", BOB)])

    assert await history.scores_of("aa01") == {"1001": (80, "Healthy"), "1002": (50, "Watch")}
    assert await history.scores_of("bb02") == {"1001": (35, "At Risk"), "1003": (90, "Healthy")}
    runs = await history.runs("crm")
    assert [r.id for r in runs] == ["bb02", "aa01"]  # newest first
    assert runs[0].statuses == {"Healthy": 1, "Watch": 0, "At Risk": 1}
    assert await history.runs("another crm") == []

    points = await history.account("crm", "1001")
    assert [(p.run_id, p.score, p.status) for p in points] == [
        ("aa01", 80, "Healthy"),
        ("bb02", 35, "At Risk"),
    ]


async def test_diff_lists_accounts_whose_status_changed_worst_first(engine: AsyncEngine) -> None:
    store, history = SweepStore(engine), SweepHistory(engine)
    await finish(
        store,
        "aa01",
        0,
        [account(1, 80, "Healthy"), account(2, 50, "Watch"), account(4, 30, "At Risk")],
    )
    await finish(
        store,
        "bb02",
        1,
        [
            account(1, 35, "At Risk"),
            account(2, 55, "Watch"),
            account(4, 75, "Healthy"),
            account(3, 90, "Healthy", BOB),
        ],
    )
    diff = await history.diff(await history.find("crm", "aa"), await history.find("crm", "bb02"))
    moved = [(c.account_id, c.before, c.after) for c in diff.changes]
    assert moved == [
        ("1001", (80, "Healthy"), (35, "At Risk")),  # two steps worse
        ("1003", None, (90, "Healthy")),  # new
        ("1004", (30, "At Risk"), (75, "Healthy")),  # two steps better
    ]
    assert diff.changes[0].name == "Account 1" and diff.changes[1].owner == "Bob Babbage"
    assert json.loads(json.dumps(diff.to_json()))["changed"] == 3


async def test_run_names_are_ids_or_unique_prefixes(engine: AsyncEngine) -> None:
    store, history = SweepStore(engine), SweepHistory(engine)
    await finish(store, "ab01", 0, [account(1, 80, "Healthy")])
    await finish(store, "ab02", 1, [account(1, 80, "Healthy")])
    assert (await history.find("crm", "AB02")).id == "ab02"
    with pytest.raises(InvalidDataError, match="more than one run"):
        await history.find("crm", "ab")
    with pytest.raises(NotFoundError, match="no sweep run ff"):
        await history.find("crm", "ff")
    with pytest.raises(InvalidDataError, match="not a run id"):
        await history.find("crm", "x%")
    with pytest.raises(NotFoundError):
        await history.find("another crm", "ab01")


async def test_history_keeps_the_newest_runs_only(engine: AsyncEngine) -> None:
    store, history = SweepStore(engine), SweepHistory(engine)
    for day in range(4):
        await finish(store, f"d{day}", day, [account(1, 50 + day, "Watch")], keep=2)
    await finish(store, "e0", 9, [account(1, 10, "At Risk")], keep=2, scope="elsewhere")
    async with engine.connect() as conn:
        kept = (await conn.execute(select(sweep_history.c.run_id).distinct())).scalars().all()
    assert sorted(kept) == ["d2", "d3", "e0"]
    assert len(await history.runs("crm")) == 4  # the runs themselves stay listed
    with pytest.raises(NotFoundError, match="no longer kept"):
        await history.diff(await history.find("crm", "d0"), await history.find("crm", "d3"))


async def test_distribution_owners_and_annotations(engine: AsyncEngine) -> None:
    store, history = SweepStore(engine), SweepHistory(engine)
    scores = [account(i, score, "Watch") for i, score in enumerate((0, 9, 10, 55, 99, 100))]
    scores.append(account(9, 20, "At Risk", BOB))
    await finish(store, "aa01", 0, scores)
    assert await history.distribution("aa01") == [2, 1, 1, 0, 0, 1, 0, 0, 0, 2]

    owners = await history.owners("aa01")
    assert [(o.owner.name, o.counts["Watch"], o.counts["At Risk"], o.total) for o in owners] == [
        ("Ada Lovelace", 6, 0, 6),
        ("Bob Babbage", 0, 1, 1),
    ]
    mine = await history.owner_accounts("aa01", "u2")
    assert [a.name for a in mine] == ["Account 9"]
    found = await history.scored_account("aa01", "1003")
    assert found is not None and found.reasons == ("No open deals",)

    await store.annotate("aa01", {"credits": {"source": "sandbox", "used": 12}})
    latest = await history.latest("crm")
    assert latest is not None and latest.credits == 12 and latest.statuses["At Risk"] == 1
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(sweep_history))).scalar() == 7


# -- against a served sandbox ----------------------------------------------------------


async def cli(*args: str) -> Result:
    """A `sergas` command (it runs its own event loop: in a thread, outside the test's)."""
    return await asyncio.to_thread(
        CliRunner().invoke, app, list(args), catch_exceptions=False, env={"COLUMNS": "200"}
    )


def quiet_moment(crm: Crm, span: float) -> datetime:
    """A time from which the next `span` seconds change no score: no account's last activity
    crosses a whole number of days, and the date stays the same (noon UTC)."""
    activity = [
        datetime.fromisoformat(r["Last_Activity_Time"])
        for r in crm.running.sandbox.store.all("Accounts")
        if r.get("Last_Activity_Time")
    ]
    noon = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    for step in range(2000):
        start = noon + timedelta(seconds=7 * step)
        if all((start - a).total_seconds() % 86_400 < 86_400 - span - 1 for a in activity):
            return start
    raise AssertionError("no quiet moment found")


async def test_no_new_briefs_folder_when_nothing_changed(crm: Crm) -> None:
    now = quiet_moment(crm, span=15)
    first = await sweep_once(clock=now)
    second = await sweep_once(clock=now + timedelta(seconds=5))
    third = await sweep_once(clock=now + timedelta(seconds=10))

    briefs = crm.data / "briefs"
    # The first run is the baseline, the second compares with it: both say something new.
    assert first["briefs"] != second["briefs"] and not second["briefs_reused"]
    # The third says what the second said: no folder of its own, the second's stands.
    assert third["briefs_reused"] is True and third["briefs"] == second["briefs"]
    assert len(list(briefs.iterdir())) == 2
    result = await cli("sweep", "runs", "--json")
    runs = json.loads(result.stdout)
    assert [r["briefs_reused"] for r in runs] == [True, False, False]

    # A folder asked for by name is always written.
    asked = await sweep_once(clock=now + timedelta(seconds=15), out=crm.data / "asked")
    assert asked["briefs_reused"] is False and (crm.data / "asked" / "index.md").is_file()


async def test_credits_are_unknown_against_a_real_endpoint(crm: Crm, tmp_path: Path) -> None:
    summary = await sweep_once(out=tmp_path / "b")
    assert summary["embedded"] is False
    assert summary["credits"] == {"source": "unknown", "used": None}

    listed = await cli("sweep", "runs")
    assert listed.exit_code == 0, listed.output
    assert "unknown" in listed.output and summary["run_id"][:8] in listed.output


async def test_diff_names_the_accounts_that_changed_status(crm: Crm) -> None:
    now = quiet_moment(crm, span=10)
    first = await sweep_once(clock=now)
    healthy = next(
        r for r in crm.running.sandbox.store.all("Accounts") if r.get("Account_Status") == "Healthy"
    )
    # Zoho text is printed as text: a name that looks like markup stays as it is.
    name = "[red]Evil[/red] Corp"
    crm.running.sandbox.store.put(
        "Accounts",
        healthy | {"Account_Name": name, "Last_Activity_Time": None, "Annual_Revenue": None},
    )
    second = await sweep_once(clock=now + timedelta(seconds=5))

    shown = await cli("sweep", "diff")
    assert shown.exit_code == 0, shown.output
    assert f"{first['run_id'][:8]}" in shown.output and f"{second['run_id'][:8]}" in shown.output
    assert "1 accounts changed status" in shown.output
    assert name in shown.output and "Healthy (" in shown.output

    data = json.loads((await cli("sweep", "diff", first["run_id"][:6], "--json")).stdout)
    assert [c["id"] for c in data["changes"]] == [healthy["id"]]
    assert data["changes"][0]["before"]["status"] == "Healthy"
    assert data["changes"][0]["after"]["status"] != "Healthy"

    with pytest.raises(NotFoundError, match="no sweep run ffffffff"):
        await cli("sweep", "diff", "ffffffff")
