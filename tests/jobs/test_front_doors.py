"""`sergas jobs …` and /v1/jobs: enqueue, list, show, cancel (no worker running, so the
jobs stay queued); the write scope to enqueue or cancel; one clear error on SQLite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx2
import pytest
from tests.jobs.conftest import Jobs
from tests.service.conftest import (
    app,
    client,
    fresh_prometheus,
    keys,
    runtime,
    served_sandbox,
    settings_for,
    tier_engine,
    tier_sandbox,
    tier_settings,
    tokens,
)
from tests.service.support import Keys

__all__ = [
    "app",
    "client",
    "fresh_prometheus",
    "keys",
    "runtime",
    "served_sandbox",
    "settings_for",
    "tier_engine",
    "tier_sandbox",
    "tier_settings",
    "tokens",
]


@pytest.mark.postgres
def test_the_jobs_command_queues_lists_shows_and_cancels(jobs: Jobs) -> None:
    queued = jobs.sergas("jobs", "enqueue", "sweep", "--json")
    assert queued.returncode == 0, queued.stderr
    job = json.loads(queued.stdout)
    assert (job["task"], job["status"], job["attempts"]) == ("sweep", "queued", 0)

    again = jobs.sergas("jobs", "enqueue", "sweep")
    assert again.returncode == 1
    assert f"a sweep of this CRM is already queued: job {job['id']}" in again.stderr

    listed = json.loads(jobs.sergas("jobs", "list", "--json").stdout)
    assert [j["id"] for j in listed] == [job["id"]]
    shown = jobs.sergas("jobs", "show", str(job["id"]))
    assert shown.returncode == 0 and "queued" in shown.stdout

    cancelled = json.loads(jobs.sergas("jobs", "cancel", str(job["id"]), "--json").stdout)
    assert cancelled["status"] == "cancelled" and cancelled["finished_at"]
    twice = jobs.sergas("jobs", "cancel", str(job["id"]))
    assert twice.returncode == 1 and "is cancelled: only a queued or running job" in twice.stderr
    missing = jobs.sergas("jobs", "show", "999999")
    assert missing.returncode == 1 and "no job 999999" in missing.stderr
    # A cancelled sweep no longer blocks a new one.
    assert jobs.sergas("jobs", "enqueue", "sweep").returncode == 0


def test_on_sqlite_the_queue_commands_say_to_use_postgresql(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SERGAS_", "ZOHO_"))}
    env["SERGAS_DATA_DIR"] = str(tmp_path / "data")
    for args in (("worker",), ("jobs", "list"), ("jobs", "enqueue", "sweep")):
        result = subprocess.run(
            [sys.executable, "-m", "sergas", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 1, args
        assert "jobs need PostgreSQL: set SERGAS_DATABASE_URL" in result.stderr
        assert "Traceback" not in result.stderr


@pytest.fixture
def tier_db_url(pg: str) -> str:
    """The service's database is the job tests' PostgreSQL one (the queue lives there)."""
    return pg


@pytest.mark.postgres
async def test_v1_jobs_needs_write_scope_to_queue_or_cancel(
    client: httpx2.AsyncClient, keys: Keys
) -> None:
    read, write = Keys.bearer(keys.read), Keys.bearer(keys.write)
    refused = await client.post("/v1/jobs", json={"task": "sweep"}, headers=read)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "INSUFFICIENT_SCOPE"

    created = await client.post("/v1/jobs", json={"task": "sweep"}, headers=write)
    assert created.status_code == 201, created.text
    job = created.json()
    assert (job["task"], job["status"]) == ("sweep", "queued")
    second = await client.post("/v1/jobs", json={"task": "sweep"}, headers=write)
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "JOB_ALREADY_QUEUED"

    listed = await client.get("/v1/jobs", headers=read)
    assert [j["id"] for j in listed.json()["data"]] == [job["id"]]
    shown = await client.get(f"/v1/jobs/{job['id']}", headers=read)
    assert shown.json()["status"] == "queued"
    assert (await client.get("/v1/jobs/999999", headers=read)).status_code == 404

    cancel = f"/v1/jobs/{job['id']}/cancel"
    assert (await client.post(cancel, headers=read)).status_code == 403
    done = await client.post(cancel, headers=write)
    assert done.status_code == 200 and done.json()["status"] == "cancelled"
    assert (await client.post(cancel, headers=write)).status_code == 409
    bad = await client.post("/v1/jobs", json={"task": "reboot"}, headers=write)
    assert bad.status_code == 422
