"""Serve the sandbox on a loopback port: the embedded default, tests and benchmarks.

`serve_sandbox()` runs it under uvicorn in a background thread on a free loopback port (a
real socket, for clients such as Zoho's SDK that cannot take an ASGI transport);
`serve_sandbox_process()` runs it in a child process of its own (`sergas.sandbox.child`),
so that its CPU work (a search scans thousands of records in Python) does not take turns
with the caller's for one GIL: for a server that runs for hours, at the cost of a process
start that a short command would feel; `asgi_client()` talks to the ASGI app in process,
with no socket at all.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx2
import uvicorn
from starlette.applications import Starlette

from sergas.sandbox.backend import Sandbox
from sergas.sandbox.config import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, SandboxConfig, client_env
from sergas.sandbox.errors import SandboxStartError
from sergas.sandbox.http.app import create_app

CHILD_MODULE = "sergas.sandbox.child"
# A new state file of 10,000 accounts is seeded in a few seconds; a loaded one faster.
START_TIMEOUT = 120.0
# The child's uvicorn gives in-flight requests 2 s after SIGTERM; then it closes the file.
STOP_TIMEOUT = 10.0


@dataclass
class SandboxEndpoint:
    """A sandbox served at `url`: its control plane (/__sandbox/...) and an access token.
    `env` holds the settings a client needs to reach it (`client_env`)."""

    url: str
    env: dict[str, str] = field(repr=False)  # its (fixed) client secret and refresh token

    def _post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        response = httpx2.post(self.url + path, json=body or {}, timeout=10)
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict[str, Any]:
        response = httpx2.get(self.url + "/__sandbox/stats", timeout=10)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def advance(self, seconds: float) -> None:
        self._post("/__sandbox/clock", {"advance_seconds": seconds})

    def set_faults(self, **body: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._post("/__sandbox/faults", body)
        return result

    def reset(self, *, records: bool = True) -> None:
        self._post("/__sandbox/reset", {"records": records})

    def access_token(self) -> str:
        """A fresh access token from the sandbox's fixed refresh token."""
        response = httpx2.post(
            self.url + "/oauth/v2/token",
            data={
                "grant_type": "refresh_token",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "refresh_token": REFRESH_TOKEN,
            },
            timeout=10,
        )
        token: str = response.json()["access_token"]
        return token


@dataclass
class RunningSandbox(SandboxEndpoint):
    """A sandbox served by a thread of this process: its app and backend are at hand."""

    app: Starlette
    sandbox: Sandbox

    @property
    def accounts(self) -> int:
        """Accounts records it holds now."""
        return self.sandbox.store.count("Accounts")

    @property
    def seeded_from_file(self) -> bool:
        """Its state file held this seed's CRM (else it was seeded)."""
        return self.sandbox.seeded_from_file


@dataclass
class SandboxProcess(SandboxEndpoint):
    """A sandbox served by a child process: what it reported when it started."""

    pid: int
    accounts: int  # Accounts records it holds at start
    seeded_from_file: bool  # its state file held this seed's CRM (else it was seeded)
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False, compare=False)

    def ended(self) -> str | None:
        """How the child ended ("exited with code 1", "was killed by signal 9") if it has,
        else None."""
        if self.process is None or self.process.poll() is None:
            return None
        return _ended(self.process)


def loopback_socket() -> socket.socket:
    """A socket bound to a free port on 127.0.0.1 (not yet listening)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # As in `sergas serve`'s socket: without it each answer's body waits ~40 ms for an ACK.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def serve_sandbox(
    config: SandboxConfig | None = None, **overrides: Any
) -> Iterator[RunningSandbox]:
    """Serve a new sandbox on a free loopback port until the block ends."""
    sock = loopback_socket()
    port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    base = config or SandboxConfig(accounts=300)
    cfg = base.with_(base_url=url, **overrides)
    app = create_app(cfg)
    sandbox: Sandbox = app.state.sandbox
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=2)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the sandbox server did not start")
        time.sleep(0.01)
    try:
        yield RunningSandbox(url, client_env(url), app, sandbox)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        sandbox.close()


@contextmanager
def serve_sandbox_process(
    config: SandboxConfig | None = None,
    *,
    start_timeout: float = START_TIMEOUT,
    **overrides: Any,
) -> Iterator[SandboxProcess]:
    """Serve a new sandbox in a child process on a free loopback port until the block ends.

    The child (`python -m sergas.sandbox.child`) reads the config on its stdin, never its
    command line, and gets none of the SERGAS_* and ZOHO_* variables; it answers one line
    on its stdout once it serves. SandboxStartError when it exits first, or has not answered
    within `start_timeout` seconds (then it is stopped). When the block ends: SIGTERM (as
    for the thread: in-flight requests finish, then the state file is closed), SIGKILL if it
    is still there after STOP_TIMEOUT seconds, and reaped either way. Should this process
    die first, even by SIGKILL, the child's stdin ends and it stops as on SIGTERM.
    """
    base = config or SandboxConfig(accounts=300)
    cfg = base.with_(**overrides)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SERGAS_", "ZOHO_"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", CHILD_MODULE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
    )
    try:
        ready = _started(proc, cfg, start_timeout)
        url = str(ready["url"])
        yield SandboxProcess(
            url,
            client_env(url),
            proc.pid,
            int(ready["accounts"]),
            bool(ready["seeded_from_file"]),
            proc,
        )
    finally:
        _stop(proc)


def _started(proc: subprocess.Popen[bytes], config: SandboxConfig, timeout: float) -> Any:
    """The child's report that it serves; SandboxStartError if it exits or times out."""
    assert proc.stdin is not None and proc.stdout is not None
    with contextlib.suppress(BrokenPipeError):  # it exited already: said below
        proc.stdin.write(config.to_json().encode() + b"\n")
        proc.stdin.flush()
    with proc.stdout:
        line = _read_line(proc.stdout.fileno(), time.monotonic() + timeout)
    if line is None:
        size = f"{config.accounts:,} accounts"
        raise SandboxStartError(
            f"the sandbox process (pid {proc.pid}) did not say it was serving within "
            f"{timeout:g} s, seeding or loading {size}; it was stopped. Give it longer "
            "(start_timeout) or seed fewer accounts"
        )
    try:
        report = json.loads(line)
    except ValueError:
        report = None
    if isinstance(report, dict) and "url" in report:
        return report
    if isinstance(report, dict) and "error" in report:
        raise SandboxStartError(f"the sandbox process could not start: {report['error']}")
    raise SandboxStartError(
        f"the sandbox process (pid {proc.pid}) {_ended(proc)} before it was serving; its "
        "error output, above on this process's stderr, says why"
    )


def _read_line(fd: int, deadline: float) -> bytes | None:
    """Bytes from `fd` up to a newline or its end; None if the deadline passes first."""
    data = b""
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while b"\n" not in data:
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                return None
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            data += chunk
    return data


def _ended(proc: subprocess.Popen[bytes]) -> str:
    """How the child ended ("exited with code 1", "was killed by signal 9"), or did not."""
    try:
        code = proc.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        return "closed its stdout"
    if code < 0:
        return f"was killed by signal {-code}"
    return f"exited with code {code}"


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM; SIGKILL if it is still there after STOP_TIMEOUT seconds; reaped either way."""
    if proc.poll() is None:
        proc.terminate()
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
    try:
        proc.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def asgi_client(app: Starlette, **kwargs: Any) -> httpx2.AsyncClient:
    """An async client bound to the app in process (no socket)."""
    base_url = app.state.sandbox.config.base_url
    return httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url=base_url, **kwargs)
