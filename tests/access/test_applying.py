"""Approved changes reach Zoho (the served sandbox, REST tier) checked against its values
now, at most once, and are recovered after their holder died; on SQLite and PostgreSQL.

A holder that "died" here is a real process that ran and exited: its pid is gone from this
host. The SIGKILL of a real `sergas approvals approve` is in test_applying_process.py."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncEngine
from tests.db.conftest import db_url, postgres_url
from tests.service.conftest import (
    fresh_prometheus,
    isolated_settings,
    no_retry_sleeps,
    runtime,
    served_sandbox,
    settings_for,
    tier_sandbox,
    tier_settings,
    tokens,
)

from sergas.access.applying import approve, recover_applying, same_value
from sergas.access.approvals import (
    Approval,
    ApprovalStore,
    InProgressError,
    StaleProposalError,
)
from sergas.access.principal import Principal
from sergas.db import create_engine, upgrade
from sergas.db.tables import approvals
from sergas.runtime import Runtime
from sergas.sandbox.server import RunningSandbox

__all__ = [
    "db_url",
    "fresh_prometheus",
    "isolated_settings",
    "no_retry_sleeps",
    "postgres_url",
    "runtime",
    "served_sandbox",
    "settings_for",
    "tier_sandbox",
    "tier_settings",
    "tokens",
]

AGENT = Principal("0123456789ab", "renewals agent", "read")


@pytest.fixture
def tier_db_url(db_url: str) -> str:
    return db_url


@pytest.fixture
async def tier_engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    """The database at head, without the tokens of an earlier test (another token key)."""
    engine = create_engine(db_url)
    await upgrade(engine)
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM token_refresh_audit"))
        await conn.execute(text("DELETE FROM zoho_tokens"))
    yield engine
    await engine.dispose()


@pytest.fixture
def dead_pid() -> int:
    """The pid of a process that ran and exited."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.fixture
def live_pid() -> Iterator[int]:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield proc.pid
    proc.kill()
    proc.wait()


@pytest.fixture
def crm(tier_sandbox: RunningSandbox) -> Crm:
    tier_sandbox.reset(records=True)  # the seeded records, none written yet
    return Crm(tier_sandbox)


class Crm:
    """The sandbox's record store, and how often each record was written through the API."""

    def __init__(self, sandbox: RunningSandbox) -> None:
        self.sandbox = sandbox.sandbox

    def record(self, index: int) -> dict[str, Any]:
        return dict(self.sandbox.store.ordered("Accounts")[index])

    def set(self, record_id: str, **fields: Any) -> None:
        """Someone else changes the record in Zoho."""
        record = self.sandbox.store.get("Accounts", record_id)
        self.sandbox.store.put("Accounts", {**record, **fields})

    def get(self, record_id: str, field: str) -> Any:
        return self.sandbox.store.get("Accounts", record_id)[field]

    def writes(self, record_id: str) -> int:
        return int(self.sandbox.writes[("Accounts", record_id)])


async def proposal(store: ApprovalStore, crm: Crm, index: int, phone: str) -> Approval:
    record = crm.record(index)
    return await store.propose(
        AGENT, record["id"], {"Phone": phone}, "new number", current={"Phone": record["Phone"]}
    )


async def held_by(store: ApprovalStore, approval: Approval, process: str) -> Approval:
    """Claimed and held (applying), as if by `process`: what a holder leaves when it dies
    between the hold and Zoho's answer."""
    claimed = await store.claim(approval.id, "dana")
    held = await store.hold(claimed, "dana")
    assert held is not None and held.status == "applying"
    async with store.engine.begin() as conn:
        await conn.execute(
            update(approvals).where(approvals.c.id == held.id).values(applying_process=process)
        )
    return await store.get(held.id)


async def test_a_field_changed_since_the_proposal_is_refused_until_forced(
    runtime: Runtime, crm: Crm
) -> None:
    store = ApprovalStore(runtime.engine)
    p = await proposal(store, crm, 10, "+1 555 0110")
    crm.set(p.record_id, Phone="+1 555 9999")  # moved in Zoho after the proposal
    with pytest.raises(StaleProposalError) as refused:
        await approve(store, runtime.manager, p.id, "dana")
    assert refused.value.code == "STALE_PROPOSAL"
    assert "Phone" in refused.value.message and "--force" in refused.value.message
    assert refused.value.details["changed"] == {
        "Phone": {
            "when_proposed": p.current["Phone"],
            "now": "+1 555 9999",
            "proposed": "+1 555 0110",
        }  # type: ignore[index]
    }
    assert (await store.get(p.id)).status == "pending"  # nothing decided, nothing sent
    assert crm.get(p.record_id, "Phone") == "+1 555 9999" and crm.writes(p.record_id) == 0

    forced = await approve(store, runtime.manager, p.id, "dana", force=True)
    assert forced.status == "applied" and forced.outcome and forced.outcome["ok"]
    assert crm.get(p.record_id, "Phone") == "+1 555 0110" and crm.writes(p.record_id) == 1


async def test_a_change_already_in_zoho_is_not_sent_again(runtime: Runtime, crm: Crm) -> None:
    store = ApprovalStore(runtime.engine)
    p = await proposal(store, crm, 11, "+1 555 0111")
    crm.set(p.record_id, Phone="+1 555 0111")
    done = await approve(store, runtime.manager, p.id, "dana")
    assert done.status == "applied" and done.outcome and done.outcome["code"] == "ALREADY_APPLIED"
    assert crm.writes(p.record_id) == 0


async def test_interrupted_applies_are_recovered_once(
    runtime: Runtime, crm: Crm, dead_pid: int
) -> None:
    """Three holders died mid-apply: one change never reached Zoho (sent now), one did
    (recorded, not resent), one field moved since (failed, not sent)."""
    store = ApprovalStore(runtime.engine)
    gone = f"{socket.gethostname()}:{dead_pid}:0000"
    lost = await held_by(store, await proposal(store, crm, 12, "+1 555 0112"), gone)
    landed = await held_by(store, await proposal(store, crm, 13, "+1 555 0113"), gone)
    moved = await held_by(store, await proposal(store, crm, 14, "+1 555 0114"), gone)
    crm.set(landed.record_id, Phone="+1 555 0113")
    crm.set(moved.record_id, Phone="+1 555 7777")

    done = {a.id: a for a in await recover_applying(store, runtime.manager, by="ops")}
    assert [done[a.id].status for a in (lost, landed, moved)] == ["applied", "applied", "failed"]
    assert [done[a.id].outcome["code"] for a in (landed, moved)] == [  # type: ignore[index]
        "ALREADY_APPLIED",
        "STALE_PROPOSAL",
    ]
    assert all(a.outcome and a.outcome["recovered"]["process"] == gone for a in done.values())
    assert [crm.writes(a.record_id) for a in (lost, landed, moved)] == [1, 0, 0]
    assert [crm.get(a.record_id, "Phone") for a in (lost, landed, moved)] == [
        "+1 555 0112",
        "+1 555 0113",
        "+1 555 7777",
    ]
    assert await recover_applying(store, runtime.manager, by="ops") == []
    assert crm.writes(lost.record_id) == 1


async def test_a_live_holder_is_left_alone_until_abandoned(
    runtime: Runtime, crm: Crm, live_pid: int
) -> None:
    store = ApprovalStore(runtime.engine)
    alive = f"{socket.gethostname()}:{live_pid}:0000"
    held = await held_by(store, await proposal(store, crm, 15, "+1 555 0115"), alive)
    with pytest.raises(InProgressError, match="being applied by dana"):
        await approve(store, runtime.manager, held.id, "erin")
    assert await recover_applying(store, runtime.manager, by="erin") == []
    assert crm.writes(held.record_id) == 0

    (taken,) = await recover_applying(store, runtime.manager, by="erin", abandoned_after=0)
    assert taken.status == "applied" and taken.applying_by == "erin"
    # The first holder, should it wake up, cannot record over the new holder's outcome.
    await store.finish(held, {"ok": False, "code": "LATE", "message": "", "details": {}})
    assert (await store.get(held.id)).outcome["code"] == "SUCCESS"  # type: ignore[index]
    assert crm.writes(held.record_id) == 1


async def test_two_recoveries_at_once_apply_once(runtime: Runtime, crm: Crm, dead_pid: int) -> None:
    store = ApprovalStore(runtime.engine)
    gone = f"{socket.gethostname()}:{dead_pid}:0000"
    held = await held_by(store, await proposal(store, crm, 16, "+1 555 0116"), gone)
    results = await asyncio.gather(
        *(recover_applying(store, runtime.manager, by=f"ops {i}") for i in range(3))
    )
    assert sorted(len(r) for r in results) == [0, 0, 1]
    assert (await store.get(held.id)).status == "applied"
    assert crm.writes(held.record_id) == 1


def test_values_compare_as_zoho_holds_them() -> None:
    assert same_value({"id": "42", "name": "Dana"}, {"id": "42"})
    assert same_value({"id": "42", "name": "Dana"}, "42")
    assert same_value(5, 5.0) and same_value(None, "")
    assert same_value(["a", "b"], ["b", "a"])
    assert not same_value("5", 5) and not same_value(True, 1) and not same_value(["a"], ["a", "a"])
    assert not same_value({"id": "42"}, {"id": "43"}) and not same_value("Hot", "Cold")


async def test_creates_and_notes_are_sent_once_and_never_resent(
    runtime: Runtime, crm: Crm, dead_pid: int
) -> None:
    """A create or a note cannot be read back before it is sent: an approved one whose
    holder died before sending is sent on recovery; one left `applying` may have reached
    Zoho, so it fails OUTCOME_UNKNOWN and nothing is sent again."""
    store = ApprovalStore(runtime.engine)
    contacts = crm.sandbox.store
    account = crm.record(17)
    note = await store.propose(
        AGENT,
        account["id"],
        {"Note_Content": "Call back", "Note_Title": "Next step"},
        "from the brief",
        current=None,
        action="note",
    )
    create = await store.propose(
        AGENT,
        None,
        {"Last_Name": "Adeyemi", "Email": "t.adeyemi@example.com"},
        "met them",
        current=None,
        module="Contacts",
        action="create",
    )
    noted = await approve(store, runtime.manager, note.id, "dana")
    created = await approve(store, runtime.manager, create.id, "dana")
    assert noted.status == created.status == "applied"
    assert created.record_id and created.outcome and created.outcome["id"] == created.record_id
    assert contacts.get("Contacts", created.record_id)["Email"] == "t.adeyemi@example.com"
    on_account = [
        n for n in contacts.all("Notes") if (n.get("Parent_Id") or {}).get("id") == account["id"]
    ]
    assert [n["Note_Title"] for n in on_account if n["Note_Content"] == "Call back"] == [
        "Next step"
    ]

    gone = f"{socket.gethostname()}:{dead_pid}:0000"
    maybe_sent = await held_by(
        store,
        await store.propose(
            AGENT,
            None,
            {"Last_Name": "Lost"},
            "x",
            current=None,
            module="Contacts",
            action="create",
        ),
        gone,
    )
    never_sent = await store.claim(
        (
            await store.propose(
                AGENT,
                None,
                {"Last_Name": "Waiting"},
                "x",
                current=None,
                module="Contacts",
                action="create",
            )
        ).id,
        "dana",
    )
    before = len(list(contacts.all("Contacts")))
    done = {
        a.id: a for a in await recover_applying(store, runtime.manager, by="ops", abandoned_after=0)
    }
    assert done[maybe_sent.id].status == "failed"
    assert done[maybe_sent.id].outcome["code"] == "OUTCOME_UNKNOWN"  # type: ignore[index]
    assert done[never_sent.id].status == "applied" and done[never_sent.id].record_id
    assert len(list(contacts.all("Contacts"))) == before + 1
    assert not [c for c in contacts.all("Contacts") if c.get("Last_Name") == "Lost"]
