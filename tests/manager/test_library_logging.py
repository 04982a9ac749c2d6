"""Sergas used as a library, from someone's own script in a process of its own: logging is
the host's. Nothing is printed unless the host asks; a host that configures the standard
library's logging gets Sergas's lines through its own handlers, under `sergas.*`, and never
the Zoho SDK's own logger."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sergas.sandbox.server import RunningSandbox

SCRIPT = """
import logging, sys
{host_logging}
from sergas import RoutingContext, open_sync_manager

with open_sync_manager() as zoho:
    for tier in ("sdk", "rest"):
        context = RoutingContext(preferred_tier=tier)
        record = zoho.get_account("{record_id}", fields=["Account_Name"], context=context)
        assert record["id"] == "{record_id}"
print("done")
"""


def run_script(sandbox: RunningSandbox, data: Path, host_logging: str = "") -> tuple[str, str]:
    record_id = sandbox.sandbox.store.ordered("Accounts")[0]["id"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SERGAS_", "ZOHO_"))}
    env |= sandbox.env | {"SERGAS_DATA_DIR": str(data), "SERGAS_LOG_LEVEL": "WARNING"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(host_logging=host_logging, record_id=record_id)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout, done.stderr


def test_a_script_that_configures_nothing_sees_nothing(
    served_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    """SDK tier included: its request lines, the token refresh, the SDK's start-up."""
    stdout, stderr = run_script(served_sandbox, tmp_path / "data")
    assert stdout == "done\n"
    assert stderr == ""


def test_a_script_that_configures_logging_gets_sergas_lines_through_it(
    served_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    host = (
        "logging.basicConfig(level=logging.DEBUG, stream=sys.stderr, "
        "format='HOST %(name)s %(levelname)s %(message)s')"
    )
    stdout, stderr = run_script(served_sandbox, tmp_path / "data", host)
    assert stdout == "done\n"
    lines = stderr.splitlines()
    refreshed = "HOST sergas.auth INFO zoho access token refreshed"
    assert any(line.startswith(refreshed) for line in lines)
    # The SDK's request lines reach the host through Sergas's logger, redacted and at DEBUG,
    # never through the SDK's own logger (whose start-up line would go to the root's handlers).
    sdk = [line for line in lines if line.startswith("HOST sergas.tiers.sdk DEBUG zoho sdk")]
    assert any("/crm/v8/Accounts/" in line for line in sdk)
    assert not [line for line in lines if "SDKLogger" in line]
    assert all(line.startswith("HOST ") or line.startswith(" ") for line in lines), stderr
