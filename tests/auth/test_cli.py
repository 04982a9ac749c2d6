"""`sergas db`, `sergas auth` and `sergas tokens` against a sandbox and a real database."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from sergas.cli import app
from sergas.crypto import TokenCipher, load_cipher
from sergas.db import head
from sergas.errors import TokenKeyMissingError
from sergas.sandbox.server import RunningSandbox
from sergas.settings import get_settings, reset_settings


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, sandbox: RunningSandbox) -> RunningSandbox:
    """A client of the sandbox on the embedded default: SQLite and a key file in the data dir."""
    for name, value in sandbox.env.items():
        monkeypatch.setenv(name, value)
    reset_settings()
    return sandbox


def sergas(*args: str) -> Result:
    reset_settings()
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def as_json(result: Result) -> Any:
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def issued_tokens(sandbox: RunningSandbox) -> list[str]:
    return list(sandbox.sandbox.oauth.access_tokens)


def test_db_commands_on_the_embedded_default(
    cli_env: RunningSandbox, isolated_settings: Path
) -> None:
    assert head() in sergas("db", "upgrade").stdout
    assert (isolated_settings / "sergas.db").exists()
    assert "(at head)" in sergas("db", "current").stdout

    report = as_json(sergas("db", "check", "--json"))
    assert report["ok"] is False  # no token stored yet
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["connection"]["ok"]
    assert checks["schema"]["ok"]
    assert not checks["token"]["ok"]
    assert "sergas auth login" in checks["token"]["detail"]

    assert "(none)" in sergas("db", "downgrade", "base").stdout
    behind = {c["name"]: c for c in as_json(sergas("db", "check", "--json"))["checks"]}
    assert not behind["schema"]["ok"]
    assert "sergas db upgrade" in behind["schema"]["detail"]
    assert sergas("db", "reset", "--yes").exit_code == 0
    assert "(at head)" in sergas("db", "current").stdout


def test_auth_status_seeds_refreshes_and_never_prints_the_token(cli_env: RunningSandbox) -> None:
    # No `db upgrade` first: on the embedded default the schema is created on first use.
    status = as_json(sergas("auth", "status", "--json"))
    assert 3500 < status["expires_in_seconds"] <= 3600
    assert status["user"] == "default"
    assert status["api_domain"] == cli_env.url
    [refresh] = status["recent_refreshes"]
    assert (refresh["outcome"], refresh["reason"]) == ("success", "expiring")
    assert cli_env.stats()["tokens"]["refreshes"] == 1

    table = sergas("auth", "status")
    assert "last refreshes" in table.stdout
    check = sergas("db", "check")
    assert check.exit_code == 0
    assert "access token expires in" in check.stdout
    report = as_json(sergas("db", "check", "--json"))
    assert report["ok"] is True
    assert report["token"]["present"] is True

    everything = json.dumps(status) + table.stdout + check.stdout + json.dumps(report)
    for token in issued_tokens(cli_env):
        assert token not in everything
    assert cli_env.stats()["tokens"]["refreshes"] == 1  # status reused the stored token


def test_login_with_a_grant_code_then_revoke(cli_env: RunningSandbox) -> None:
    code = cli_env._post("/__sandbox/grant-code")["code"]
    login = sergas("auth", "login", "--code", code)
    assert "stored a new refresh token" in login.stdout
    assert cli_env.stats()["tokens"]["code_grants"] == 1
    status = as_json(sergas("auth", "status", "--json"))
    assert status["recent_refreshes"][0]["reason"] == "login"
    assert cli_env.stats()["tokens"]["refreshes"] == 0

    assert "revoked" in sergas("auth", "revoke", "--yes").stdout
    assert "nothing to revoke" in sergas("auth", "revoke", "--yes").stdout


def test_rotate_key_with_the_key_file(cli_env: RunningSandbox, isolated_settings: Path) -> None:
    sergas("auth", "status", "--json")
    key_file = isolated_settings / "token.key"
    old = key_file.read_text()
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"

    rotated = sergas("tokens", "rotate-key", "--generate")
    assert "re-encrypted 1 token row(s)" in rotated.stdout
    assert key_file.read_text() != old
    assert not (isolated_settings / "token.key.next").exists()
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert as_json(sergas("auth", "status", "--json"))["expires_in_seconds"] > 3500
    assert cli_env.stats()["tokens"]["refreshes"] == 1


def test_rotate_key_with_sergas_token_key(
    cli_env: RunningSandbox, monkeypatch: pytest.MonkeyPatch, db_url: str
) -> None:
    old, new = TokenCipher.generate_key(), TokenCipher.generate_key()
    monkeypatch.setenv("SERGAS_DATABASE_URL", db_url)
    monkeypatch.setenv("SERGAS_TOKEN_KEY", old)
    assert sergas("db", "reset", "--yes").exit_code == 0
    sergas("auth", "status", "--json")

    rotated = sergas("tokens", "rotate-key", "--new-key", new)
    assert "now set SERGAS_TOKEN_KEY" in rotated.stdout
    assert new not in rotated.stdout

    monkeypatch.setenv("SERGAS_TOKEN_KEY", f"{new},{old}")  # a roll-out: both decrypt
    assert as_json(sergas("auth", "status", "--json"))["generation"] == 1
    monkeypatch.setenv("SERGAS_TOKEN_KEY", old)
    report = as_json(sergas("db", "check", "--json"))
    assert report["ok"] is False
    assert "cannot be decrypted" in json.dumps(report)


def run_sergas(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sergas", *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_failures_print_one_line_naming_the_setting(
    cli_env: RunningSandbox, isolated_settings: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "ZOHO_CLIENT_ID"}
    result = run_sergas("auth", "status", env=env)
    assert result.returncode == 1
    first = result.stderr.splitlines()[0]
    assert first.startswith("error:")
    assert "ZOHO_CLIENT_ID not set" in first
    assert "Traceback" not in result.stderr


def test_revoked_refresh_token_tells_the_user_to_log_in(cli_env: RunningSandbox) -> None:
    cli_env._post("/oauth/v2/token/revoke?token=" + cli_env.env["ZOHO_REFRESH_TOKEN"])
    result = run_sergas("auth", "status", env=dict(os.environ))
    assert result.returncode == 1
    assert "(invalid_code)" in result.stderr
    assert "sergas auth login" in result.stderr
    assert cli_env.env["ZOHO_REFRESH_TOKEN"] not in result.stderr + result.stdout


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_embedded_files_are_private(cli_env: RunningSandbox, isolated_settings: Path) -> None:
    """Tokens, key hashes, audit and CRM data live here: nobody but the owner reads them."""
    assert as_json(sergas("auth", "status", "--json"))["generation"] == 1
    data = isolated_settings
    assert mode(data) == 0o700
    files = {p.name: mode(p) for p in data.iterdir() if p.is_file()}
    assert {"sergas.db", "token.key"} <= set(files)
    assert files == dict.fromkeys(files, 0o600)


def test_a_deleted_key_file_is_refused_not_replaced(
    cli_env: RunningSandbox, isolated_settings: Path
) -> None:
    sergas("auth", "status", "--json")
    key_file = isolated_settings / "token.key"
    backup = key_file.read_bytes()
    key_file.unlink()

    result = run_sergas("auth", "status", env=dict(os.environ))
    assert result.returncode == 1
    first = result.stderr.splitlines()[0]
    assert first.startswith("error:")
    assert "token.key" in first and "1 encrypted Zoho token" in first
    assert "restore" in first.lower() and "sergas tokens drop" in first
    assert "Traceback" not in result.stderr
    assert not key_file.exists()  # no new key was made over the stored tokens
    with pytest.raises(TokenKeyMissingError):
        load_cipher(get_settings())

    key_file.write_bytes(backup)  # the first way back: restore the file
    key_file.chmod(0o600)
    assert as_json(sergas("auth", "status", "--json"))["generation"] == 1
    assert cli_env.stats()["tokens"]["refreshes"] == 1


def test_a_lost_key_file_is_recovered_by_dropping_the_tokens(
    cli_env: RunningSandbox, isolated_settings: Path
) -> None:
    sergas("auth", "status", "--json")
    (isolated_settings / "token.key").unlink()

    dropped = sergas("tokens", "drop", "--yes")
    assert dropped.exit_code == 0, dropped.output
    assert "deleted 1 stored token" in dropped.stdout
    assert "sergas auth login" in dropped.stdout
    # The second way back: a new key, and the refresh token again (here ZOHO_REFRESH_TOKEN).
    status = as_json(sergas("auth", "status", "--json"))
    assert status["expires_in_seconds"] > 3500
    assert (isolated_settings / "token.key").exists()


def test_the_first_key_on_postgres(
    cli_env: RunningSandbox, monkeypatch: pytest.MonkeyPatch, postgres_url: str
) -> None:
    """`rotate-key --generate` is what the missing-key message says to run; it must work."""
    monkeypatch.setenv("SERGAS_DATABASE_URL", postgres_url)
    assert sergas("db", "reset", "--yes").exit_code == 0
    missing = run_sergas("auth", "status", env=dict(os.environ))
    assert "sergas tokens rotate-key --generate" in missing.stderr

    first = sergas("tokens", "rotate-key", "--generate")
    assert first.exit_code == 0, first.output
    key = first.stdout.strip().splitlines()[-1]
    TokenCipher([key])  # a valid Fernet key, alone on the last line of stdout
    assert "SERGAS_TOKEN_KEY" in first.stdout
    assert "secret" in first.stdout  # where to keep it
    assert key not in first.stderr

    monkeypatch.setenv("SERGAS_TOKEN_KEY", key)
    assert as_json(sergas("auth", "status", "--json"))["generation"] == 1

    # With tokens stored under some key, a "first" key would orphan them: refused.
    monkeypatch.delenv("SERGAS_TOKEN_KEY")
    again = run_sergas("tokens", "rotate-key", "--generate", env=dict(os.environ))
    assert again.returncode == 1
    assert "1 encrypted Zoho token" in again.stderr
    assert "SERGAS_TOKEN_KEY" in again.stderr
