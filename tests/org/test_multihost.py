"""Three hosts, one org: a `sergas serve` in each of three network namespaces (own addresses
on a veth bridge made here), against one sandbox, one Redis and one PostgreSQL reached over
the bridge. Under load: the sandbox's peak ≤ the cap, 0 answers 429, 0 client errors.

Everything is made by the test and removed at the end, even on failure: the namespaces
`sergas-h1..3`, the bridge `sgbr0` (10.231.0.1/24) and its veth pairs. The machine's services
are not touched: Redis is a `redis-server` of the test's own bound to the bridge address, and
PostgreSQL (listening on 127.0.0.1 only) is reached through a small TCP relay on the bridge
address. Needs root (`ip netns`); skipped with the reason where namespaces are not permitted.

Run alone: `sudo .venv/bin/python -m pytest tests/org/test_multihost.py` (docs/scaling.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from benchmarks.fleet import CAP, Fleet, Place, prepare, run_fleet, sandbox_server
from sqlalchemy.engine import make_url
from tests.org.conftest import RedisServer, redis_required

from sergas.db.testing import find_test_postgres, postgres_required, temporary_database

BRIDGE, GATEWAY = "sgbr0", "10.231.0.1"
HOSTS = [(f"sergas-h{n}", f"sgv{n}", f"sgp{n}", f"10.231.0.1{n}") for n in (1, 2, 3)]


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def remove_network() -> None:
    for ns, veth, _, _ in HOSTS:
        ip("netns", "del", ns, check=False)
        ip("link", "del", veth, check=False)
    ip("link", "del", BRIDGE, check=False)


@contextlib.contextmanager
def network() -> Iterator[None]:
    """The bridge and three namespaces on it; all removed afterwards."""
    remove_network()  # what a killed earlier run may have left
    try:
        ip("link", "add", BRIDGE, "type", "bridge")
        ip("addr", "add", f"{GATEWAY}/24", "dev", BRIDGE)
        ip("link", "set", BRIDGE, "up")
        for ns, veth, peer, address in HOSTS:
            ip("netns", "add", ns)
            ip("link", "add", veth, "type", "veth", "peer", "name", peer)
            ip("link", "set", veth, "master", BRIDGE)
            ip("link", "set", veth, "up")
            ip("link", "set", peer, "netns", ns)
            ip("-n", ns, "addr", "add", f"{address}/24", "dev", peer)
            ip("-n", ns, "link", "set", peer, "up")
            ip("-n", ns, "link", "set", "lo", "up")
        yield
    finally:
        remove_network()


@contextlib.contextmanager
def relay(listen: str, target: tuple[str, int]) -> Iterator[int]:
    """A TCP relay on `listen` (a free port) to `target`, in a thread; its port."""
    loop = asyncio.new_event_loop()
    ready: list[int] = []
    started = threading.Event()

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*target)
        except OSError:
            writer.close()
            return
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def serve() -> asyncio.Server:
        server = await asyncio.start_server(handle, listen, 0)
        ready.append(server.sockets[0].getsockname()[1])
        started.set()
        return server

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = asyncio.run_coroutine_threadsafe(serve(), loop).result(timeout=10)
    started.wait(10)
    try:
        yield ready[0]
    finally:
        server.close()
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def namespaces_permitted() -> str | None:
    """None, or why `ip netns` cannot be used here."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    probe = ip("netns", "add", "sergas-probe", check=False)
    if probe.returncode != 0:
        return f"`ip netns add` is not permitted here: {probe.stderr.strip()}"
    ip("netns", "del", "sergas-probe", check=False)
    return None


@pytest.mark.slow
def test_three_hosts_hold_the_orgs_cap_together(tmp_path: Path) -> None:
    why = namespaces_permitted()
    if why is not None:
        if os.environ.get("CI") == "true" or redis_required():
            pytest.fail(f"the multi-host test must run in CI, and {why}")
        pytest.skip(why)
    postgres, reason = find_test_postgres()
    if postgres is None:
        if postgres_required():
            pytest.fail(f"SERGAS_REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(reason)
    with (
        network(),
        temporary_database(postgres, "sergas_hosts") as local_database,
        relay(GATEWAY, _host_port(local_database)) as pg_port,
        sandbox_server(GATEWAY, 100, 300) as (sandbox_url, _),
    ):
        redis = RedisServer(tmp_path, host=GATEWAY)
        redis.start()
        try:
            database = make_url(local_database).set(host=GATEWAY, port=pg_port)
            fleet = Fleet(
                sandbox_url,
                database.render_as_string(hide_password=False),
                redis.url,
                tmp_path,
                [Place(address, ("ip", "netns", "exec", ns)) for ns, _, _, address in HOSTS],
                tiers="default",
            )
            prepare(fleet)
            result = run_fleet(fleet, redis=True, clients=60, seconds=4, label="3 hosts")
        finally:
            redis.stop()
    assert result.error_count == 0, result.errors
    assert result.rejected_429 == 0
    assert 0 < result.peak <= CAP
    assert result.ok > 0
    named = [c for c in result.sandbox["clients"] if not c.startswith("token:")]
    assert len(named) == 3, result.sandbox["clients"]  # one per host


def _host_port(url: str) -> tuple[str, int]:
    parsed = make_url(url)
    return parsed.host or "127.0.0.1", parsed.port or 5432
