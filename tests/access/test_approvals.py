"""The approval queue on SQLite and PostgreSQL: one decision per proposal, even when two
reviewers race; listing by status; free text redacted."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from tests.db.conftest import db_url, engine, postgres_url
from tests.db.test_drift import new_database

from sergas.access.approvals import STATUSES, ApprovalStore
from sergas.access.principal import Principal
from sergas.db import create_engine, downgrade, upgrade
from sergas.db.tables import approvals, tool_calls
from sergas.errors import InvalidDataError, NotFoundError

__all__ = ["db_url", "engine", "new_database", "postgres_url"]

AGENT = Principal("0123456789ab", "renewals agent", "read")


async def test_one_decision_per_proposal(engine: AsyncEngine) -> None:
    store = ApprovalStore(engine)
    proposal = await store.propose(
        AGENT,
        "4876876000000321001",
        {"Rating": "Active"},
        "renewal signed",
        current={"Rating": "Acquired"},
    )
    assert (proposal.status, proposal.client_key_id, proposal.decided_by) == (
        "pending",
        "0123456789ab",
        None,
    )
    results = await asyncio.gather(
        *(store.claim(proposal.id, f"reviewer {i}") for i in range(4)), return_exceptions=True
    )
    winners = [r for r in results if not isinstance(r, BaseException)]
    losers = [r for r in results if isinstance(r, InvalidDataError)]
    assert len(winners) == 1 and len(losers) == 3
    assert all(e.code == "NOT_PENDING" and e.details["status"] == "approved" for e in losers)
    with pytest.raises(InvalidDataError, match="approved, not pending"):
        await store.reject(proposal.id, "late reviewer")
    assert proposal.id in {a.id for a in await store.find("approved")}
    assert proposal.id not in {a.id for a in await store.find("pending")}


async def test_reject_and_lookups(engine: AsyncEngine) -> None:
    store = ApprovalStore(engine)
    token = "1000.4c1d0e5f2a3b4c5d6e7f.8a9b0c1d2e3f4a5b6c7d"
    proposal = await store.propose(
        AGENT, "1", {"Phone": "1"}, f"see {token}", current={"Phone": None}
    )
    assert token not in proposal.reason and "[redacted]" in proposal.reason
    done = await store.reject(proposal.id, "dana", "not ours")
    assert (done.status, done.decided_by, done.note) == ("rejected", "dana", "not ours")
    assert done.decided_at is not None
    assert done.to_json()["decided_at"] == done.decided_at.isoformat()
    with pytest.raises(NotFoundError):
        await store.get(10_000_000)
    with pytest.raises(InvalidDataError, match="unknown status 'lost'"):
        await store.find("lost")
    # Every status can be listed, alone or together.
    for status in STATUSES:
        assert all(a.status == status for a in await store.find(status))
    assert {a.id for a in await store.find(None)} >= {proposal.id}


async def test_creates_and_notes_are_proposals_too(engine: AsyncEngine) -> None:
    store = ApprovalStore(engine)
    create = await store.propose(
        AGENT,
        None,
        {"Last_Name": "Okafor"},
        "met at the fair",
        current=None,
        module="Contacts",
        action="create",
    )
    note = await store.propose(
        AGENT,
        "4876876000000321001",
        {"Note_Content": "Call back"},
        "from the brief",
        current=None,
        action="note",
    )
    assert (create.action, create.record_id, create.module) == ("create", None, "Contacts")
    assert (note.action, note.record_id) == ("note", "4876876000000321001")
    assert create.to_json()["action"] == "create"
    old = await store.propose(AGENT, "1", {"Phone": "1"}, "an update", current={"Phone": None})
    assert old.action == "update"
    with pytest.raises(InvalidDataError, match="unknown action"):
        await store.propose(AGENT, "1", {}, "what", current=None, action="delete")
    with pytest.raises(InvalidDataError, match="needs a record id"):
        await store.propose(AGENT, None, {"Note_Content": "x"}, "no", current=None, action="note")
    with pytest.raises(InvalidDataError, match="names no record id"):
        await store.propose(AGENT, "1", {"Last_Name": "x"}, "no", current=None, action="create")


async def test_the_actions_migration_keeps_rows_and_their_audit_links(new_database: str) -> None:
    """0007 rebuilds `approvals` on SQLite: every row stays an update, and the audit rows
    that point at one still do."""
    engine = create_engine(new_database)
    try:
        await upgrade(engine)
        await downgrade(engine, "0006_jobs")
        now = datetime.now(UTC)
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO approvals (id, created_at, client_name, module, record_id, "
                    "changes, reason, status) VALUES (4242, :at, 'agent', 'Accounts', '7', "
                    "'{\"Phone\": \"1\"}', 'why', 'pending')"
                ),
                {"at": now},
            )
            await conn.execute(
                text(
                    "INSERT INTO tool_calls (at, client_name, transport, tool, arguments, "
                    "outcome, duration_ms, approval_id) VALUES (:at, 'agent', 'stdio', "
                    "'propose_account_update', '{}', 'queued', 1.0, 4242)"
                ),
                {"at": now},
            )
        await upgrade(engine)
        async with engine.connect() as conn:
            row = (await conn.execute(select(approvals).where(approvals.c.id == 4242))).one()
            links = (await conn.execute(select(tool_calls.c.approval_id))).scalars().all()
        assert (row.action, row.record_id, row.status) == ("update", "7", "pending")
        assert 4242 in links
    finally:
        await engine.dispose()
