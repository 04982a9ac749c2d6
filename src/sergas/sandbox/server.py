"""Serve the sandbox on a loopback port: the embedded default, tests and benchmarks.

`serve_sandbox()` runs it under uvicorn in a background thread on a free loopback port (a
real socket, for clients such as Zoho's SDK that cannot take an ASGI transport);
`asgi_client()` talks to the ASGI app in process, with no socket at all.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx2
import uvicorn
from starlette.applications import Starlette

from sergas.sandbox.backend import Sandbox
from sergas.sandbox.config import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, SandboxConfig, client_env
from sergas.sandbox.http.app import create_app


@dataclass
class RunningSandbox:
    url: str
    app: Starlette
    sandbox: Sandbox
    env: dict[str, str]

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


def _free_socket() -> socket.socket:
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
    sock = _free_socket()
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
        yield RunningSandbox(url, app, sandbox, client_env(url))
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        sandbox.close()


def asgi_client(app: Starlette, **kwargs: Any) -> httpx2.AsyncClient:
    """An async client bound to the app in process (no socket)."""
    base_url = app.state.sandbox.config.base_url
    return httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url=base_url, **kwargs)
