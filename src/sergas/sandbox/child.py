"""The sandbox in a process of its own: `python -m sergas.sandbox.child`, as
`serve_sandbox_process()` (sergas.sandbox.server) starts it.

One line each way, so that nothing of the config shows on a command line:

  stdin   the SandboxConfig as one line of JSON (`SandboxConfig.to_json`). Then stdin stays
          open for as long as the parent runs; its end (the parent closed it, or died, even
          by SIGKILL) stops the child as SIGTERM does.
  stdout  once serving, `{"url", "accounts", "seeded_from_file"}`; when it cannot
          start, `{"error": what failed and what to do}` and exit code 1. Nothing else: the
          process's own stdout is pointed at its stderr, so a stray print cannot fill a pipe
          the parent no longer reads.

It binds a free loopback port itself (port 0), so no port is picked by one process and
taken by another meanwhile. SIGTERM stops it as `serve_sandbox()`'s thread stops: uvicorn
lets in-flight requests finish (up to 2 s), then the state file is closed (every write was
mirrored to it when it was acknowledged). SIGINT is ignored: Ctrl-C at a terminal reaches
the whole process group, and the parent, still finishing its own requests, stops the child
when it has done with it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from typing import IO, Any

import uvicorn

from sergas.sandbox.backend import Sandbox
from sergas.sandbox.config import SandboxConfig
from sergas.sandbox.http.app import create_app
from sergas.sandbox.server import loopback_socket


class _Server(uvicorn.Server):
    """uvicorn that says when it serves, and leaves the signals to `main`."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_started = on_started

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # uvicorn's own would raise SIGTERM again once it has shut down, and so end the
        # process before the state file is closed.
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self._on_started()


def _report_channel() -> IO[str]:
    """The real stdout, kept for the one report line; fd 1 then points at stderr."""
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    return channel


def _report(channel: IO[str], message: dict[str, Any]) -> None:
    channel.write(json.dumps(message) + "\n")
    channel.close()


def _stop_with_parent(fd: int) -> None:
    """Wait for stdin to end (the parent closed it or is gone), then stop as on SIGTERM.
    It reads the file descriptor, not `sys.stdin`: a daemon thread blocked inside a buffered
    file's lock aborts the interpreter when it exits."""
    while os.read(fd, 4096):
        pass
    os.kill(os.getpid(), signal.SIGTERM)


def _opening(config: SandboxConfig) -> tuple[str, str]:
    """What creating the app does with this config, and what to do when it fails."""
    if config.state_file is None:
        return (
            f"seeding its CRM in memory ({config.accounts:,} accounts)",
            "a failure of the sandbox itself: report it with this message",
        )
    return (
        f"opening its CRM in {config.state_file}",
        "check that this file and its folder can be created and written by this user, or "
        "choose another state file",
    )


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    channel = _report_channel()
    stdin = sys.stdin.buffer
    stage = "reading its config from stdin"
    hint = "the parent writes SandboxConfig.to_json() and a newline there"
    try:
        config = SandboxConfig.from_json(stdin.readline().decode())
        threading.Thread(target=_stop_with_parent, args=(stdin.fileno(),), daemon=True).start()
        stage, hint = "binding a free loopback port", "check that 127.0.0.1 can be listened on"
        sock = loopback_socket()
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        stage, hint = _opening(config)
        app = create_app(config.with_(base_url=url))
        sandbox: Sandbox = app.state.sandbox
        ready = {
            "url": url,
            "accounts": sandbox.store.count("Accounts"),  # read from the file, if from one
            "seeded_from_file": sandbox.seeded_from_file,
        }
    except Exception as exc:
        _report(channel, {"error": f"{stage}: {exc}; {hint}"})
        return 1
    server = _Server(
        uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=2),
        lambda: _report(channel, ready),
    )

    def stop(signum: int, frame: object) -> None:
        server.should_exit = True

    signal.signal(signal.SIGTERM, stop)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        sandbox.close()
    return 0 if server.started else 1


if __name__ == "__main__":
    sys.exit(main())
