"""The sandbox in a child process of its own (`serve_sandbox_process`), in real processes:
it answers Zoho's wire calls with OAuth, its state file is the thread's (read and written
alike, across restarts), SIGTERM saves and stops it, it does not outlive a parent killed
with SIGKILL, and when it cannot start the error says why and leaves no process behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import pytest
from tests.helpers import REFRESH_FORM, child_processes, process_running, wait_until

from sergas.sandbox.config import SandboxConfig
from sergas.sandbox.errors import SandboxStartError
from sergas.sandbox.server import (
    CHILD_MODULE,
    SandboxEndpoint,
    serve_sandbox,
    serve_sandbox_process,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes in /proc"),
]


def our_sandboxes() -> list[int]:
    return child_processes(os.getpid(), CHILD_MODULE)


@contextmanager
def authed(running: SandboxEndpoint) -> Iterator[httpx2.Client]:
    """A client of the sandbox holding an access token from its Accounts server."""
    with httpx2.Client(base_url=running.url, timeout=10) as http:
        token = http.post("/oauth/v2/token", data=REFRESH_FORM).json()
        http.headers["Authorization"] = f"Zoho-oauthtoken {token['access_token']}"
        yield http


def first_account(http: httpx2.Client) -> str:
    page = http.get("/crm/v8/Accounts", params={"fields": "Account_Name", "per_page": 1})
    assert page.status_code == 200, page.text
    account_id: str = page.json()["data"][0]["id"]
    return account_id


def set_phone(http: httpx2.Client, account_id: str, phone: str) -> None:
    done = http.put(f"/crm/v8/Accounts/{account_id}", json={"data": [{"Phone": phone}]})
    assert done.status_code == 200 and done.json()["data"][0]["code"] == "SUCCESS", done.text


def phone_of(http: httpx2.Client, account_id: str) -> str:
    record = http.get(f"/crm/v8/Accounts/{account_id}", params={"fields": "Phone"})
    phone: str = record.json()["data"][0]["Phone"]
    return phone


def stored_phone(state_file: Path, account_id: str) -> str:
    """What the state file itself holds (read once the sandbox is gone)."""
    import sqlite3

    with sqlite3.connect(state_file) as db:
        (body,) = db.execute(
            "SELECT body FROM records WHERE module = 'Accounts' AND id = ?", (account_id,)
        ).fetchone()
    phone: str = json.loads(body)["Phone"]
    return phone


def test_it_answers_zoho_wire_calls_with_oauth_and_nothing_secret_shows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ZOHO_CLIENT_SECRET", "a-real-zoho-secret")
    monkeypatch.setenv("SERGAS_TOKEN_KEY", "a-real-token-key")
    with serve_sandbox_process(SandboxConfig(accounts=50)) as running:
        assert (running.accounts, running.seeded_from_file) == (50, False)
        assert our_sandboxes() == [running.pid]
        refused = httpx2.get(running.url + "/crm/v8/Accounts", timeout=10)
        assert refused.status_code == 401 and refused.json()["code"] == "INVALID_TOKEN"
        with authed(running) as http:
            page = http.get("/crm/v8/Accounts", params={"fields": "Account_Name", "per_page": 10})
            assert page.status_code == 200 and len(page.json()["data"]) == 10
            assert http.get("/crm/v8/Accounts/actions/count").json()["count"] == 50
        stats = running.stats()
        assert stats["tokens"]["refreshes"] == 1 and stats["records"]["Accounts"] == 50
        # The config went through stdin; the child got no Sergas or Zoho setting either.
        proc = Path(f"/proc/{running.pid}")
        cmdline = proc.joinpath("cmdline").read_bytes().split(b"\0")
        assert cmdline[1:] == [b"-m", CHILD_MODULE.encode(), b""]
        environ = proc.joinpath("environ").read_bytes()
        assert b"a-real-zoho-secret" not in environ and b"a-real-token-key" not in environ
    assert our_sandboxes() == []
    assert not process_running(running.pid)


def test_its_state_file_is_the_threads_across_restarts(tmp_path: Path) -> None:
    """Written by the thread, read and written by the process, read by the thread again."""
    config = SandboxConfig(accounts=40, state_file=tmp_path / "crm.sqlite3")
    with serve_sandbox(config) as thread, authed(thread) as http:
        account_id = first_account(http)
        set_phone(http, account_id, "+1 555 0100")
    with serve_sandbox_process(config) as child, authed(child) as http:
        assert (child.accounts, child.seeded_from_file) == (40, True)
        assert phone_of(http, account_id) == "+1 555 0100"
        set_phone(http, account_id, "+1 555 0101")
    with serve_sandbox(config) as thread, authed(thread) as http:
        assert thread.seeded_from_file
        assert phone_of(http, account_id) == "+1 555 0101"


def test_sigterm_stops_it_and_its_state_is_saved(tmp_path: Path) -> None:
    state_file = tmp_path / "crm.sqlite3"
    with serve_sandbox_process(SandboxConfig(accounts=20, state_file=state_file)) as running:
        with authed(running) as http:
            account_id = first_account(http)
            set_phone(http, account_id, "+1 555 0102")
        os.kill(running.pid, signal.SIGTERM)
        # It exited by itself, with code 0 (looked at before the context reaps it).
        ended = wait_until(
            lambda: os.waitid(os.P_PID, running.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT),
            what="the sandbox to exit",
        )
        assert (ended.si_code, ended.si_status) == (os.CLD_EXITED, 0)
        # It closed its state file: SQLite removes the write-ahead log at the last close,
        # and leaves it behind a process that was killed.
        assert not state_file.with_name("crm.sqlite3-wal").exists()
    assert stored_phone(state_file, account_id) == "+1 555 0102"


PARENT = """
import sys
from pathlib import Path
from sergas.sandbox.config import SandboxConfig
from sergas.sandbox.server import serve_sandbox_process

config = SandboxConfig(accounts=20, state_file=Path(sys.argv[1]))
with serve_sandbox_process(config) as running:
    print(running.pid, running.url, flush=True)
    sys.stdin.read()  # until it is killed
"""


def test_a_parent_killed_with_sigkill_leaves_no_sandbox_behind(tmp_path: Path) -> None:
    state_file = tmp_path / "crm.sqlite3"
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(state_file)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdin is not None and parent.stdout is not None
    with parent, parent.stdin, parent.stdout:
        pid, url = parent.stdout.readline().split()
        child = int(pid)
        assert child_processes(parent.pid, CHILD_MODULE) == [child]
        with authed(SandboxEndpoint(url, {})) as http:
            account_id = first_account(http)
            set_phone(http, account_id, "+1 555 0103")
        parent.kill()
        assert parent.wait(timeout=10) == -signal.SIGKILL
        wait_until(lambda: not process_running(child), what="the orphaned sandbox to exit")
    # It stopped as on SIGTERM: the state file closed, the write in it.
    assert not state_file.with_name("crm.sqlite3-wal").exists()
    assert stored_phone(state_file, account_id) == "+1 555 0103"


def test_a_state_file_it_cannot_create_is_a_start_error_saying_so(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    state_file = blocker / "crm.sqlite3"
    with (
        pytest.raises(SandboxStartError) as raised,
        serve_sandbox_process(SandboxConfig(accounts=20, state_file=state_file)),
    ):
        pass
    message = str(raised.value)
    opening = f"the sandbox process could not start: opening its CRM in {state_file}: "
    assert message.startswith(opening)
    assert "can be created and written by this user, or choose another state file" in message
    assert our_sandboxes() == []


def test_one_that_does_not_start_in_time_is_stopped_and_says_so() -> None:
    late = r"did not say it was serving within 0\.05 s"
    with (
        pytest.raises(SandboxStartError, match=late) as raised,
        serve_sandbox_process(SandboxConfig(accounts=10_000), start_timeout=0.05),
    ):
        pass
    assert "10,000 accounts; it was stopped. Give it longer (start_timeout)" in str(raised.value)
    assert our_sandboxes() == []


def test_one_killed_while_it_seeds_is_a_start_error_saying_how_it_ended() -> None:
    def kill_it_when_it_appears() -> None:
        (pid,) = wait_until(our_sandboxes, what="the sandbox process to start", timeout=60)
        os.kill(pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_it_when_it_appears)
    killer.start()
    try:
        with (
            pytest.raises(SandboxStartError, match="was killed by signal 9 before it was serving"),
            serve_sandbox_process(SandboxConfig(accounts=10_000)),
        ):
            pass
    finally:
        killer.join()
    assert our_sandboxes() == []


def test_a_line_that_is_not_a_config_is_refused_on_stdout() -> None:
    """The child's side of the protocol: one line in, one line out, exit code 1."""
    done = subprocess.run(
        [sys.executable, "-m", CHILD_MODULE],
        input='{"edition": "platinum"}\n',
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    error = json.loads(done.stdout)["error"]
    assert error.startswith("reading its config from stdin: unknown edition 'platinum'")
    assert error.endswith("the parent writes SandboxConfig.to_json() and a newline there")
