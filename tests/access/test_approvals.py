"""The approval queue on SQLite and PostgreSQL: one decision per proposal, even when two
reviewers race; listing by status; free text redacted."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from tests.db.conftest import db_url, engine, postgres_url

from sergas.access.approvals import STATUSES, ApprovalStore
from sergas.access.principal import Principal
from sergas.errors import InvalidDataError, NotFoundError

__all__ = ["db_url", "engine", "postgres_url"]

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
