"""`sergas serve` as a user runs it: its own process on a loopback port, keys made with
`sergas apikeys`, the sandbox as Zoho; and a graceful shutdown on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.helpers import child_processes, process_running, wait_until
from tests.service.support import wait_for

from sergas.sandbox.server import CHILD_MODULE, RunningSandbox

pytestmark = pytest.mark.slow


def sergas(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sergas", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def env(tier_sandbox: RunningSandbox, tmp_path: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SERGAS_", "ZOHO_"))}
    return {
        **base,
        **tier_sandbox.env,
        "SERGAS_DATA_DIR": str(tmp_path / "data"),
        "ENABLE_TIER1_MCP": "false",
        "ENABLE_TIER2_SDK": "false",
        "SERGAS_SERVICE_PORT": str(free_port()),
        "SERGAS_SERVICE_API_KEY_CACHE_SECONDS": "0",
    }


def create_key(env: dict[str, str], scope: str) -> dict[str, Any]:
    done = sergas(env, "apikeys", "create", "--name", f"{scope} client", "--scope", scope, "--json")
    assert done.returncode == 0, done.stderr
    key: dict[str, Any] = json.loads(done.stdout)
    return key


@pytest.fixture
def service(env: dict[str, str], tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    log = (tmp_path / "service.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "sergas", "serve", "--graceful-timeout", "10"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{env['SERGAS_SERVICE_PORT']}"
    try:
        wait_for(url + "/healthz")
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=20)
        log.close()


def test_served_over_a_socket(
    env: dict[str, str], service: tuple[str, Any], tier_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    url, _ = service
    read, write = create_key(env, "read"), create_key(env, "write")
    assert read["key"].startswith("sgk_") and read["scope"] == "read"
    record_id = tier_sandbox.sandbox.store.ordered("Accounts")[5]["id"]
    with httpx2.Client(base_url=url, timeout=30) as http:
        assert http.get("/v1/accounts").status_code == 401
        auth = {"Authorization": f"Bearer {read['key']}", "X-Request-ID": "socket-1"}
        got = http.get(f"/v1/accounts/{record_id}", headers=auth)
        assert got.status_code == 200 and got.json()["data"]["id"] == record_id
        assert got.headers["X-Request-ID"] == "socket-1"
        denied = http.patch(
            f"/v1/accounts/{record_id}", json={"data": {"Phone": "1"}}, headers=auth
        )
        assert denied.status_code == 403
        written = http.patch(
            f"/v1/accounts/{record_id}",
            json={"data": {"Phone": "+44 20 7946 0000"}},
            headers={"Authorization": f"Bearer {write['key']}"},
        )
        assert written.status_code == 200, written.text
        assert tier_sandbox.sandbox.store.get("Accounts", record_id)["Phone"] == "+44 20 7946 0000"
        families = {f.name: f for f in text_string_to_metric_families(http.get("/metrics").text)}
        assert "sergas_http_requests" in families and "sergas_requests" in families
        assert http.get("/readyz").json()["status"] == "ready"

        listed = sergas(env, "apikeys", "list", "--json")
        assert [k["name"] for k in json.loads(listed.stdout)] == ["read client", "write client"]
        assert read["key"] not in listed.stdout  # only the public part is shown
        assert sergas(env, "apikeys", "revoke", read["key_id"]).returncode == 0
        assert http.get(f"/v1/accounts/{record_id}", headers=auth).status_code == 401
    # The log is JSON lines with request ids, and no key in it.
    logged = (tmp_path / "service.log").read_text()
    assert read["key"] not in logged and write["key"] not in logged
    lines = [json.loads(line) for line in logged.splitlines() if line.startswith("{")]
    assert any(e.get("request_id") == "socket-1" and e.get("status") == 200 for e in lines)


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads /proc/PID/maps")
def test_served_on_uvloop_with_the_httptools_parser(service: tuple[str, Any]) -> None:
    """uvicorn uses uvloop and httptools when they are installed (loop and http "auto"):
    both are dependencies, so a served process has both loaded (less CPU per request)."""
    url, proc = service
    assert httpx2.get(url + "/healthz", timeout=10).status_code == 200
    loaded = Path(f"/proc/{proc.pid}/maps").read_text()
    assert "/uvloop/loop." in loaded
    assert "/httptools/parser/parser." in loaded


def test_sigterm_lets_in_flight_requests_finish(
    env: dict[str, str], service: tuple[str, Any], tier_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    url, proc = service
    key = create_key(env, "read")["key"]
    record_id = tier_sandbox.sandbox.store.ordered("Accounts")[0]["id"]
    tier_sandbox.set_faults(latency_ms=1500)
    answers: list[int] = []

    def slow_request() -> None:
        response = httpx2.get(
            f"{url}/v1/accounts/{record_id}",
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )
        answers.append(response.status_code)

    def record_reads() -> int:
        return int(tier_sandbox.stats()["calls"].get("GET /crm/v8/Accounts/{id}", 0))

    before = record_reads()
    worker = threading.Thread(target=slow_request)
    worker.start()
    # The read has reached the sandbox, which holds it for the 1.5 s of latency.
    wait_until(lambda: record_reads() > before, what="the service's read to reach the sandbox")
    proc.send_signal(signal.SIGTERM)
    worker.join(timeout=30)
    assert answers == [200]
    # uvicorn re-raises the signal once it has shut down cleanly.
    assert proc.wait(timeout=20) in (0, -signal.SIGTERM)
    assert '"service stopped"' in (tmp_path / "service.log").read_text()
    with pytest.raises(httpx2.TransportError):
        httpx2.get(url + "/healthz", timeout=2)


def test_with_no_credentials_its_sandbox_is_a_process_of_its_own(tmp_path: Path) -> None:
    """The embedded default, served: the sandbox's CRM work runs in a child process (not a
    thread competing for the service's GIL), which SIGTERM to the service stops too."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SERGAS_", "ZOHO_"))}
    env = {
        **base,
        "SERGAS_DATA_DIR": str(tmp_path / "data"),
        "SERGAS_SWEEP_EMBEDDED_ACCOUNTS": "40",
        "ENABLE_TIER1_MCP": "false",
        "ENABLE_TIER2_SDK": "false",
        "SERGAS_SERVICE_PORT": str(free_port()),
        "SERGAS_SERVICE_API_KEY_CACHE_SECONDS": "0",
    }
    key = create_key(env, "read")["key"]
    url = f"http://127.0.0.1:{env['SERGAS_SERVICE_PORT']}"
    with (tmp_path / "service.log").open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sergas", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        wait_for(url + "/healthz")  # answered once the lifespan has opened the runtime
        (child,) = child_processes(proc.pid, CHILD_MODULE)
        got = httpx2.get(
            url + "/v1/accounts", headers={"Authorization": f"Bearer {key}"}, timeout=30
        )
        assert got.status_code == 200 and got.json()["info"]["count"] == 40
        assert httpx2.get(url + "/readyz", timeout=30).status_code == 200
        # The sandbox's process dies under the service: readiness says so, and why.
        os.kill(child, signal.SIGKILL)
        wait_until(lambda: not process_running(child), what="the sandbox's process to end")
        ready = httpx2.get(url + "/readyz", timeout=30)
        assert ready.status_code == 503 and ready.json()["status"] == "not ready"
        assert ready.json()["crm"].startswith(
            f"the embedded sandbox's process (pid {child}) was killed by signal 9"
        )
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) in (0, -signal.SIGTERM)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not process_running(child)
    logged = (tmp_path / "service.log").read_text()
    assert logged.startswith("embedded sandbox: no Zoho credentials configured")
    assert key not in logged and "sergas-sandbox-secret" not in logged


@pytest.mark.parametrize(
    "command", [("serve",), ("mcp", "--transport", "http")], ids=["serve", "mcp"]
)
def test_a_port_in_use_is_one_error_line(env: dict[str, str], command: tuple[str, ...]) -> None:
    import socket

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = str(taken.getsockname()[1])
        done = subprocess.run(
            [sys.executable, "-m", "sergas", *command, "--port", port],
            env={**env, "SERGAS_LOG_FORMAT": "console"},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines[0].startswith(f"error: cannot listen on 127.0.0.1:{port}: "), done.stderr
    assert "in use" in lines[0] and "--port" in lines[0]
    assert lines[1:] == ["(run with --debug for a traceback)"], done.stderr
    assert done.stdout == ""


def test_a_sandbox_that_cannot_start_is_one_error_line(tmp_path: Path) -> None:
    """The embedded sandbox opens in the app's startup, inside uvicorn: its failure still
    reaches the person as the CLI's one error line (the traceback only with --debug)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SERGAS_", "ZOHO_"))}
    data = tmp_path / "data"
    (data / "sandbox").mkdir(parents=True)
    (data / "sandbox" / "crm.sqlite3").write_bytes(b"not a database" * 512)
    env = {**base, "SERGAS_DATA_DIR": str(data), "SERGAS_SERVICE_PORT": str(free_port())}
    done = sergas(env, "serve")
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "Application startup failed" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[-2].startswith("error: the sandbox process could not start: "), done.stderr
    assert "crm.sqlite3" in lines[-2] and "not a database" in lines[-2]
    assert lines[-1] == "(run with --debug for a traceback)"
    debugged = sergas(env, "--debug", "serve")
    assert debugged.returncode != 0 and "SandboxStartError" in debugged.stderr
