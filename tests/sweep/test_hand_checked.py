"""The score of 25 accounts (with their deals, tasks, calls and meetings), read from a sandbox
through the manager, equals the score worked out by hand in hand_checked.py; the sweep writes
exactly those values back."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.sweep.conftest import Crm, migrate, sweep_once
from tests.sweep.hand_checked import CASES, INACTIVE, NOW

from sergas.errors import ServerError
from sergas.runtime import open_runtime
from sergas.sandbox.schema import NOTE_EXTRAS
from sergas.settings import load_settings
from sergas.sweep.app import open_sweep, routed
from sergas.sweep.reading import Gateway, read_all
from sergas.sweep.runner import run_sweep
from sergas.sweep.scoring import score_account
from sergas.sweep.settings import SweepSettings
from sergas.sweep.store import SweepStore
from sergas.tiers.base import BulkResult, Record


@pytest.mark.parametrize("tier", ["rest", "sdk", "mcp"])
async def test_scores_match_the_hand_computed_fixture(hand_crm: Crm, tier: str) -> None:
    """Whichever tier reads the CRM, the same scores come out."""
    settings = SweepSettings()
    await migrate()
    async with open_runtime(load_settings()) as runtime:
        data = await read_all(routed(runtime.manager, tier), settings, NOW)

    assert data.scanned == len(CASES) + len(INACTIVE)
    # Held in the window, not Missed: 2 + 1 + 1 calls; 1 + 1 meetings.
    assert (data.calls, data.meetings) == (4, 2)
    got = {a.name: score_account(a, settings, NOW) for a in data.accounts}
    assert sorted(got) == sorted(c.name for c in CASES)  # inactive ratings are left out
    for case in CASES:
        result = got[case.name]
        assert (result.score, result.status, tuple(result.reason_texts)) == (
            case.score,
            case.status,
            case.reasons,
        ), case.name


async def test_the_sweep_writes_the_hand_computed_values(hand_crm: Crm, tmp_path: Path) -> None:
    summary = await sweep_once(clock=NOW, out=tmp_path / "briefs")

    n = len(CASES)
    assert summary["accounts"] | {"statuses": None} == {
        "scanned": n + len(INACTIVE),
        "scored": n,
        "changed": n,
        "unchanged": 0,
        "written": n,
        "confirmed_on_read_back": 0,
        "not_written": 0,
        "statuses": None,
    }
    for case in CASES:
        record = hand_crm.account(hand_crm.ids[case.name])
        assert record["Health_Score"] == case.score, case.name
        assert record["Account_Status"] == case.status, case.name
        assert record["Last_Health_Check"] == NOW.isoformat()
    for case in INACTIVE:
        assert hand_crm.account(hand_crm.ids[case.name])["Health_Score"] is None
    stats = hand_crm.running.stats()
    assert stats["records_written"] == {"Accounts": n}
    assert stats["records_written_more_than_once"] == 0


async def test_a_later_sweep_reports_changes_since_the_previous_one(
    hand_crm: Crm, tmp_path: Path
) -> None:
    await sweep_once(clock=NOW, out=tmp_path / "first")
    again = await sweep_once(clock=NOW, out=tmp_path / "same-day")
    assert again["accounts"]["changed"] == 0
    assert hand_crm.written() == len(CASES)  # nothing written twice

    # Ten days on: "Fifteen Days Inc" is 25 days quiet (34.5 -> 29.5 activity points, 75 -> 70,
    # still Healthy); "Seventy Exactly Inc" goes 24 -> 34 days (30 -> 25: 70 -> 65, Watch).
    later = await sweep_once(clock=NOW + timedelta(days=10), out=tmp_path / "later")
    assert later["accounts"]["changed"] > 0
    changes = {a["name"]: a for a in brief(hand_crm, tmp_path / "later", 2)["status_changes"]}
    seventy = changes["Seventy Exactly Inc"]
    assert (seventy["previous_status"], seventy["status"]) == ("Healthy", "Watch")
    assert (seventy["previous_score"], seventy["score"], seventy["delta"]) == (70, 65, -5)
    # Owner 1: Fifteen Days 75 -> 70 and Boundary Full 100 -> 95 (24 days quiet now);
    # Almost Stale 16 -> 15 (its half point of activity is gone).
    movers = {a["name"]: a["delta"] for a in brief(hand_crm, tmp_path / "later", 1)["top_movers"]}
    assert movers == {"Fifteen Days Inc": -5, "Boundary Full GmbH": -5, "Almost Stale Corp": -1}


def brief(crm: Crm, folder: Path, owner: int) -> dict[str, Any]:
    name = crm.running.sandbox.users[owner]["full_name"]
    data: dict[str, Any] = json.loads(
        (folder / f"{name.lower().replace(' ', '-')}.json").read_text()
    )
    return data


async def test_an_at_risk_account_s_brief_names_its_key_contacts_and_latest_note(
    hand_crm: Crm, tmp_path: Path
) -> None:
    """Key contacts: the account's most recently active ones (then most recently changed),
    at most three; the latest note on the account, verbatim up to 280 characters."""
    sandbox = hand_crm.running.sandbox
    store = sandbox.store
    risky, other = hand_crm.ids["Missed Calls Only LLC"], hand_crm.ids["Never Touched Ltd"]

    def user(i: int) -> dict[str, Any]:
        u = sandbox.users[i]
        return {"name": u["full_name"], "id": u["id"], "email": u["email"]}

    def contact(account: str, name: str, active: float | None, changed: float) -> dict[str, Any]:
        first, last = name.split()
        return {f.api_name: None for f in sandbox.modules["Contacts"].fields} | {
            "id": store.new_id(),
            "First_Name": first,
            "Last_Name": last,
            "Full_Name": name,
            "Title": f"{first}'s title",
            "Email": f"{first.lower()}@example.com",
            "Phone": "+1 555 0100",
            "Account_Name": {"name": "x", "id": account},
            "Owner": user(2),
            "Created_Time": (NOW - timedelta(days=400)).isoformat(),
            "Modified_Time": (NOW - timedelta(days=changed)).isoformat(),
            "Last_Activity_Time": None
            if active is None
            else (NOW - timedelta(days=active)).isoformat(),
        }

    store.put_many(
        "Contacts",
        [
            contact(risky, "Dana Quiet", None, 300),  # fourth: left out
            contact(risky, "Ava Recent", 2, 2),
            contact(risky, "Cy Changed", None, 1),
            contact(risky, "Ben Earlier", 10, 10),
            contact(other, "Olga Other", 1, 1),  # another account's
        ],
    )
    long_text = "Renewal paused | new CFO.\n" + "0123456789" * 30
    notes = [
        (risky, "Old news", "Spoke about the roadmap.", 30),
        (risky, "Renewal", long_text, 5),
        (other, "Not this one", "Another account's newer note.", 1),
    ]
    store.put_many(
        "Notes",
        [
            {f.api_name: None for f in sandbox.modules["Notes"].fields}
            | NOTE_EXTRAS
            | {
                "id": store.new_id(),
                "Note_Title": title,
                "Note_Content": content,
                "Parent_Id": {"module": {"api_name": "Accounts"}, "name": "x", "id": parent},
                "Owner": user(2),
                "Created_By": user(3),
                "Modified_By": user(3),
                "Created_Time": (NOW - timedelta(days=days)).isoformat(),
                "Modified_Time": (NOW - timedelta(days=days)).isoformat(),
            }
            for parent, title, content, days in notes
        ],
    )

    await sweep_once(clock=NOW, out=tmp_path / "b")

    (row,) = [a for a in brief(hand_crm, tmp_path / "b", 2)["at_risk"] if a["id"] == risky]
    assert [c["name"] for c in row["contacts"]] == ["Ava Recent", "Ben Earlier", "Cy Changed"]
    assert row["contacts"][0] == {
        "name": "Ava Recent",
        "title": "Ava's title",
        "email": "ava@example.com",
        "phone": "+1 555 0100",
    }
    expected_content = "Renewal paused | new CFO.\n" + "0123456789" * 25 + "0123"
    assert len(expected_content) == 280
    assert row["latest_note"] == {
        "title": "Renewal",
        "content": expected_content + "…",
        "created": (NOW - timedelta(days=5)).isoformat(),
        "author": sandbox.users[3]["full_name"],
    }
    name = sandbox.users[2]["full_name"]
    markdown = (tmp_path / "b" / f"{name.lower().replace(' ', '-')}.md").read_text()
    section = markdown.split("### Missed Calls Only LLC", 1)[1].split("##", 1)[0]
    assert "| Ava Recent | Ava's title | ava@example.com | +1 555 0100 |" in section
    assert "Dana Quiet" not in section and "Olga Other" not in section
    assert f"Latest note “Renewal”, 2026-02-25, by {sandbox.users[3]['full_name']}:" in section
    assert "> Renewal paused | new CFO.\n> 0123456789" in section


class _NoContacts:
    """The sweep's gateway, with Zoho refusing every read of Contacts (a failure of one
    module that the sandbox cannot be asked for on its own: every COQL query shares a path)."""

    def __init__(self, inner: Gateway) -> None:
        self.inner = inner

    async def bulk_read_accounts(self, **kw: Any) -> list[Record]:
        return await self.inner.bulk_read_accounts(**kw)

    async def bulk_update_accounts(self, records: Any, **kw: Any) -> BulkResult:
        return await self.inner.bulk_update_accounts(records, **kw)

    def iter_accounts(self, **kw: Any) -> AsyncIterator[Record]:
        if kw.get("module") == "Contacts":
            raise ServerError("Zoho answered 500", code="INTERNAL_ERROR")
        return self.inner.iter_accounts(**kw)


async def test_when_contacts_cannot_be_read_the_scores_are_written_and_the_brief_says_so(
    hand_crm: Crm, tmp_path: Path
) -> None:
    await migrate()
    sweep = SweepSettings()
    async with open_sweep(load_settings(), sweep) as job:
        report = await run_sweep(
            _NoContacts(routed(job.runtime.manager, "rest")),
            SweepStore(job.runtime.engine),
            job.runtime.scope,
            sweep,
            clock=lambda: NOW,
            out=tmp_path / "b",
        )
    assert report.finished and report.counts()["written"] == len(CASES)
    risky = hand_crm.ids["Missed Calls Only LLC"]
    (row,) = [a for a in brief(hand_crm, tmp_path / "b", 2)["at_risk"] if a["id"] == risky]
    assert (row["details_read"], row["contacts"], row["latest_note"]) == (False, None, None)
    name = hand_crm.running.sandbox.users[2]["full_name"]
    markdown = (tmp_path / "b" / f"{name.lower().replace(' ', '-')}.md").read_text()
    assert "Contacts and notes could not be read from Zoho for this brief." in markdown
