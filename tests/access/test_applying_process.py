"""A `sergas approvals approve` SIGKILLed while the sandbox holds its write (a hang fault)
leaves the proposal `applying`, shown by every listing; approving it again completes it,
applied exactly once. Real processes, the served sandbox, SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from tests.db.conftest import db_url, isolated_settings, postgres_url
from tests.helpers import wait_until

from sergas.access.approvals import STATUSES, ApprovalStore
from sergas.access.principal import Principal
from sergas.db import create_engine, upgrade
from sergas.sandbox.config import SandboxConfig
from sergas.sandbox.server import RunningSandbox, serve_sandbox

__all__ = ["db_url", "isolated_settings", "postgres_url"]

pytestmark = pytest.mark.slow

AGENT = Principal("0123456789ab", "renewals agent", "read")
PUT = "PUT /crm/v8/{module}/{id}"


@pytest.fixture(scope="module")
def crm() -> Iterator[RunningSandbox]:
    with serve_sandbox(SandboxConfig(accounts=20)) as running:
        yield running


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url)
    await upgrade(engine)
    async with engine.begin() as conn:  # tokens of an earlier test were under another key
        await conn.execute(text("DELETE FROM token_refresh_audit"))
        await conn.execute(text("DELETE FROM zoho_tokens"))
    yield engine
    await engine.dispose()


@pytest.fixture
def env(crm: RunningSandbox, db_url: str, tmp_path: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SERGAS_", "ZOHO_"))}
    return {
        **base,
        **crm.env,
        "SERGAS_DATA_DIR": str(tmp_path / "data"),
        "SERGAS_DATABASE_URL": db_url,
        "SERGAS_TOKEN_KEY": Fernet.generate_key().decode(),
        "ENABLE_TIER1_MCP": "false",
        "ENABLE_TIER2_SDK": "false",
        "COLUMNS": "250",
    }


def sergas(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sergas", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def start(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "sergas", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def writes(crm: RunningSandbox, record_id: str) -> int:
    return int(crm.sandbox.writes[("Accounts", record_id)])


def put_calls(crm: RunningSandbox) -> int:
    return int(crm.stats()["endpoints"].get(PUT, 0))


async def test_a_killed_approve_is_completed_once(
    engine: AsyncEngine, env: dict[str, str], crm: RunningSandbox
) -> None:
    crm.reset(records=True)
    record = dict(crm.sandbox.store.ordered("Accounts")[3])
    store = ApprovalStore(engine)
    proposal = await store.propose(
        AGENT,
        record["id"],
        {"Phone": "+1 555 0303"},
        "the new switchboard",
        current={"Phone": record["Phone"]},
    )
    # Zoho takes the write in and never answers: the approve process waits there.
    crm.set_faults(
        hang_seconds=20,
        targeted=[{"path": "/crm/v8/Accounts", "method": "PUT", "status": "hang", "count": 1}],
    )
    approving = start(env, "approvals", "approve", str(proposal.id), "--by", "dana")
    try:
        wait_until(lambda: put_calls(crm) == 1, what="the approve's write to reach the sandbox")
    finally:
        approving.send_signal(signal.SIGKILL)
        approving.wait(timeout=10)

    stuck = await store.get(proposal.id)
    assert (stuck.status, stuck.applying_by, stuck.outcome) == ("applying", "dana", None)
    assert stuck.applying_process and f":{approving.pid}:" in stuck.applying_process
    assert writes(crm, record["id"]) == 0

    table = sergas(env, "approvals", "list", "--status", "applying")
    assert table.returncode == 0 and "applying" in table.stdout, table.stderr
    shown = sergas(env, "approvals", "show", str(proposal.id))
    assert shown.returncode == 0 and "being applied by dana" in shown.stdout, shown.stderr

    # Approving again finds the holder gone, reads Zoho (the write never landed) and
    # completes the change.
    again = sergas(env, "approvals", "approve", str(proposal.id), "--by", "erin", "--json")
    assert again.returncode == 0, again.stderr
    done: dict[str, Any] = json.loads(again.stdout)
    assert (done["status"], done["decided_by"], done["applying_by"]) == ("applied", "dana", "erin")
    assert done["outcome"]["ok"] and done["outcome"]["recovered"]["status"] == "applying"
    assert crm.sandbox.store.get("Accounts", record["id"])["Phone"] == "+1 555 0303"
    assert writes(crm, record["id"]) == 1

    # Nothing is left to apply, and nothing is sent again.
    assert "nothing to recover" in sergas(env, "approvals", "recover", "--after", "0").stdout
    third = sergas(env, "approvals", "approve", str(proposal.id))
    assert third.returncode == 1 and "is applied, not pending" in third.stderr, third.stderr
    assert writes(crm, record["id"]) == 1 and put_calls(crm) == 2


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the listing is the same on both
async def test_every_status_is_listed(
    engine: AsyncEngine, env: dict[str, str], crm: RunningSandbox
) -> None:
    """`approvals list --status S` as a table, for a proposal in each status S."""
    store = ApprovalStore(engine)
    record = crm.sandbox.store.ordered("Accounts")[4]
    current = {"Phone": record["Phone"]}
    made = [
        await store.propose(AGENT, record["id"], {"Phone": "1"}, "x", current=current)
        for _ in STATUSES
    ]
    async with engine.begin() as conn:
        for approval, status in zip(made, STATUSES, strict=True):
            await conn.execute(
                text("UPDATE approvals SET status = :s WHERE id = :i"),
                {"s": status, "i": approval.id},
            )
    for status in (*STATUSES, "all"):
        listed = sergas(env, "approvals", "list", "--status", status, "--no-current")
        assert listed.returncode == 0, listed.stderr
        shown = {s for s in STATUSES if f" {s} " in listed.stdout}
        assert shown == (set(STATUSES) if status == "all" else {status}), listed.stdout
