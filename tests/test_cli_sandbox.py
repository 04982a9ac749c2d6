"""`sergas sandbox serve` as a user runs it: a real subprocess, its printed env block, curl."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx2
from benchmarks._common import free_port
from tests.helpers import wait_until
from typer.testing import CliRunner

from sergas.cli import app
from sergas.sandbox.config import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN


def answers(proc: subprocess.Popen[str], base: str) -> bool:
    assert proc.poll() is None, f"`sergas sandbox serve` exited with {proc.returncode}"
    try:
        return httpx2.get(f"{base}/__sandbox/stats", timeout=1).status_code == 200
    except httpx2.TransportError:
        return False


def test_serve_prints_env_block_and_serves() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sergas",
            "sandbox",
            "serve",
            "--port",
            str(port),
            "--seed",
            "7",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "SERGAS_SANDBOX_ACCOUNTS": "40"},  # an option's variable counts too
    )
    try:
        assert proc.stdout is not None
        env = {}
        for _ in range(7):
            line = proc.stdout.readline().strip()
            assert line.startswith("export "), line
            name, _, value = line.removeprefix("export ").partition("=")
            env[name] = value
        base = f"http://127.0.0.1:{port}"
        assert env == {
            "ZOHO_API_DOMAIN": base,
            "ZOHO_ACCOUNTS_URL": base,
            "ZOHO_FILE_UPLOAD_URL": base,
            "ZOHO_CLIENT_ID": CLIENT_ID,
            "ZOHO_CLIENT_SECRET": CLIENT_SECRET,
            "ZOHO_REFRESH_TOKEN": REFRESH_TOKEN,
            "ZOHO_MCP_URL": f"{base}/mcp",
        }
        # The block is printed before the server listens; its stats page counts no calls.
        wait_until(lambda: answers(proc, base), what="the sandbox to answer", timeout=30)
        token = httpx2.post(
            f"{env['ZOHO_ACCOUNTS_URL']}/oauth/v2/token",
            data={
                "grant_type": "refresh_token",
                "client_id": env["ZOHO_CLIENT_ID"],
                "client_secret": env["ZOHO_CLIENT_SECRET"],
                "refresh_token": env["ZOHO_REFRESH_TOKEN"],
            },
        ).json()["access_token"]
        listed = httpx2.get(
            f"{env['ZOHO_API_DOMAIN']}/crm/v8/Accounts",
            params={"fields": "Account_Name", "per_page": 200},
            headers={"Authorization": f"Zoho-oauthtoken {token}"},
        )
        assert listed.status_code == 200 and listed.json()["info"]["count"] == 40
        stats = httpx2.get(f"{base}/__sandbox/stats").json()
        assert stats["calls"]["GET /crm/v8/Accounts"] == 1
        assert stats["tokens"]["refreshes"] == 1
    finally:  # also when an assertion failed: the server would otherwise run on
        proc.terminate()
        proc.communicate(timeout=30)


def test_bad_option_is_one_clear_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sergas", "sandbox", "serve", "--edition", "platinum"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 2
    assert "unknown edition 'platinum'" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_lists_commands() -> None:
    result = CliRunner().invoke(app, ["sandbox", "--help"])
    assert result.exit_code == 0
    assert "serve" in result.output and "demo" in result.output


def test_demo_walks_through_the_api() -> None:
    result = CliRunner().invoke(app, ["sandbox", "demo", "--accounts", "60"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())  # rich wraps long lines at the terminal's width
    assert "POST /oauth/v2/token → access token for 3600 s" in text
    assert "HTTP 207, per record: ['SUCCESS', 'INVALID_DATA']" in text
    assert "1 token refresh" in text
