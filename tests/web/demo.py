"""The demo as a new user runs it, in real processes: `sergas sweep` on the embedded default
(what `make demo` runs), `sergas apikeys create`, then `sergas serve` on the same data
directory. Used by the browser tests and by `python -m tests.web.screenshots`."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.service.support import wait_for

from sergas.access.approvals import ApprovalStore
from sergas.access.principal import Principal
from sergas.db import create_engine


def demo_env(data: Path, accounts: int, **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SERGAS_", "ZOHO_"))}
    return base | {
        "SERGAS_DATA_DIR": str(data),
        "SERGAS_SWEEP_EMBEDDED_ACCOUNTS": str(accounts),
        "SERGAS_SERVICE_API_KEY_CACHE_SECONDS": "0",
        "SERGAS_LOG_LEVEL": "WARNING",
        "COLUMNS": "200",
        **extra,
    }


def sergas(env: dict[str, str], *args: str, timeout: float = 600) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "sergas", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"sergas {' '.join(args)}: {done.stderr}"
    return done.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Demo:
    env: dict[str, str]
    url: str
    summary: dict[str, Any]  # `sergas sweep --json` of the run just made
    read_key: str
    write_key: str
    log: Path


def propose(env: dict[str, str], record_id: str, changes: dict[str, Any], reason: str) -> int:
    """A change as an agent proposes it (into the demo's database), with the fields' values
    in the CRM now, as the MCP server records them."""
    fields = ",".join(changes)
    record = json.loads(sergas(env, "accounts", "get", record_id, "--fields", fields, "--json"))
    current = {field: record.get(field) for field in changes}

    async def run() -> int:
        engine = create_engine(f"sqlite+aiosqlite:///{env['SERGAS_DATA_DIR']}/sergas.db")
        try:
            agent = Principal("0a1b2c3d4e5f", "renewals agent", "read")
            store = ApprovalStore(engine)
            done = await store.propose(agent, record_id, changes, reason, current=current)
            return done.id
        finally:
            await engine.dispose()

    # In a thread of its own: the caller may be inside an event loop (Playwright's).
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


def sweep(env: dict[str, str]) -> dict[str, Any]:
    summary: dict[str, Any] = json.loads(sergas(env, "sweep", "--json"))
    return summary


@contextlib.contextmanager
def demo_service(data: Path, accounts: int = 300, **extra: str) -> Iterator[Demo]:
    """Sweep once, make a read and a write key, serve; stop the service when done."""
    port = free_port()
    env = demo_env(data, accounts, SERGAS_SERVICE_PORT=str(port), **extra)
    summary = sweep(env)
    keys = {
        scope: json.loads(
            sergas(
                env, "apikeys", "create", "--name", f"{scope} person", "--scope", scope, "--json"
            )
        )["key"]
        for scope in ("read", "write")
    }
    log = data.parent / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sergas", "serve"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(url + "/healthz", timeout=120)
        yield Demo(env, url, summary, keys["read"], keys["write"], log)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
