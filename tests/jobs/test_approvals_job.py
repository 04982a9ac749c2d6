"""Approved changes left unapplied (the process applying them died) are completed by a job
on a real worker (`recover_applying`); a change approved a moment ago is left to whoever is
applying it."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from tests.jobs.conftest import Jobs

from sergas.access.approvals import ApprovalStore
from sergas.access.principal import Principal
from sergas.db import create_engine

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

AGENT = Principal("0123456789ab", "renewals agent", "read")


async def approve_without_applying(url: str, record: dict[str, Any], rating: str) -> int:
    """Approved (claimed) but never applied: as if the approving process died there."""
    engine = create_engine(url)
    try:
        store = ApprovalStore(engine)
        proposed = await store.propose(
            AGENT,
            record["id"],
            {"Rating": rating},
            "renewal risk",
            current={"Rating": record["Rating"]},
        )
        await store.claim(proposed.id, "a reviewer")
        return proposed.id
    finally:
        await engine.dispose()


async def status(url: str, approval_id: int) -> str:
    engine = create_engine(url)
    try:
        return (await ApprovalStore(engine).get(approval_id)).status
    finally:
        await engine.dispose()


def test_the_approvals_job_applies_what_was_approved_and_not_applied(jobs: Jobs) -> None:
    first, second = jobs.running.sandbox.store.ordered("Accounts")[:2]
    stuck = asyncio.run(approve_without_applying(jobs.url, first, "Acquired"))
    eager = jobs.worker(SERGAS_JOBS_APPROVALS_GRACE_SECONDS="0")
    queued = jobs.sergas("jobs", "enqueue", "approvals", "--json")
    assert queued.returncode == 0, queued.stderr
    job_id = json.loads(queued.stdout)["id"]
    jobs.wait(lambda: jobs.status(job_id) == "succeeded", "the approvals job")

    assert asyncio.run(status(jobs.url, stuck)) == "applied"
    record = jobs.running.sandbox.store.get("Accounts", first["id"])
    assert record is not None and record["Rating"] == "Acquired"
    shown = json.loads(jobs.sergas("jobs", "show", str(job_id), "--json").stdout)
    assert shown["summary"] == {"applied": [stuck], "failed": []}

    # Approved just now: within the grace time (a worker's setting), it is left alone.
    assert eager.stop() == 0
    jobs.worker(SERGAS_JOBS_APPROVALS_GRACE_SECONDS="600")
    fresh = asyncio.run(approve_without_applying(jobs.url, second, "Active"))
    queued = jobs.sergas("jobs", "enqueue", "approvals", "--json")
    job_id = json.loads(queued.stdout)["id"]
    jobs.wait(lambda: jobs.status(job_id) == "succeeded", "the second approvals job")
    assert asyncio.run(status(jobs.url, fresh)) == "approved"
