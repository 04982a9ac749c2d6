"""What the `sergas` CLI tests share: a served sandbox per module, the sandbox's ZOHO_*
settings in the environment (as for real Zoho), a fresh SQLite database, and ways to run a
command through typer's runner or as a real process.

A module asks for the environment with `pytestmark = pytest.mark.usefixtures("zoho_env")`
and sizes its sandbox with a module-level `ACCOUNTS` (default 2,500).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import stamina
from cryptography.fernet import Fernet
from tests.db.conftest import isolated_settings
from typer.testing import CliRunner, Result

from sergas.cli import app
from sergas.sandbox.config import SandboxConfig
from sergas.sandbox.server import RunningSandbox, serve_sandbox

__all__ = ["isolated_settings"]

ACCOUNTS = 2500  # past Zoho's 2,000-record page and COQL page


@pytest.fixture(scope="module")
def crm(request: pytest.FixtureRequest) -> Iterator[RunningSandbox]:
    accounts = getattr(request.module, "ACCOUNTS", ACCOUNTS)
    with serve_sandbox(SandboxConfig(accounts=accounts, bulk_job_seconds=0.1)) as running:
        yield running


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """One SQLite database and token key for the module, so the stored token outlives each
    command (the sandbox, like Zoho, allows 10 token refreshes per 10 minutes)."""
    return {
        "SERGAS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db')}/sergas.db",
        "SERGAS_TOKEN_KEY": Fernet.generate_key().decode(),
    }


@pytest.fixture
def zoho_env(
    crm: RunningSandbox,
    database: dict[str, str],
    isolated_settings: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[None]:
    from sergas.manager.prometheus import reset_prometheus_metrics

    for name, value in crm.env.items():
        monkeypatch.setenv(name, value)
    for name, value in database.items():
        monkeypatch.setenv(name, value)
    run("db", "upgrade")  # a configured database is never upgraded behind one's back
    reset_prometheus_metrics()
    with stamina.set_testing(True, attempts=10, cap=True):
        yield
    reset_prometheus_metrics()


def run(*args: str) -> Result:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def run_json(*args: str) -> Any:
    return json.loads(run(*args, "--json").stdout)


def ids(crm: RunningSandbox) -> set[str]:
    return {str(r["id"]) for r in crm.sandbox.store.all("Accounts")}


def sub(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sergas", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def sub_env(crm: RunningSandbox, data: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SERGAS_", "ZOHO_"))}
    database = {k: os.environ[k] for k in ("SERGAS_DATABASE_URL", "SERGAS_TOKEN_KEY")}
    settings = {"SERGAS_DATA_DIR": str(data), "COLUMNS": "200"} | database
    return env | crm.env | settings | extra
