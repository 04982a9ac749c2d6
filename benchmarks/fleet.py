"""A fleet: several `sergas serve` processes against one Zoho org, with and without Redis.

Processes: the sandbox (`sergas sandbox serve`, enterprise edition: cap 20 concurrent calls,
`--latency-ms` 200), a `redis-server` of the run's own (for the runs with Redis), one throw-
away PostgreSQL database shared by the services (their tokens and API keys), `--services`
`sergas serve` processes (default 3, ZOHO_CONCURRENCY=20 each: what each would be set to
alone), and this load generator: `--clients` (default 120) asyncio loops, spread evenly over
the services, each sending GET /v1/accounts/{id} as soon as the last one answered, for
`--seconds` (default 20).

What is measured is the steady state. Before it, the same clients load the services for 2 s,
unmeasured: each service's first calls open what it keeps (its MCP session, whose opening
holds a slot of the org for over a second; its token; its connections), a cost paid once
per process. Warmed up by a few clients only, those first calls fell inside the measured
window, which then began with a ramp.

Each routing is run without Redis (each process holds the cap alone: today's behaviour) and
with SERGAS_REDIS_URL (the cap held org-wide), side by side and in turns (`--repeat`: the
median of each is reported), each run on a new database and fresh sandbox tokens: REST
only, and the default routing (MCP first). Reported per run: requests/s and its share of
the cap's limit (cap ÷ latency = 100/s), the sandbox's 429 answers, client errors (non-200
or transport failures), p50/p99 as the clients saw them, and the sandbox's peak concurrency
(the org's cap is 20).

Run: `.venv/bin/python -m benchmarks.fleet` (PostgreSQL as for the tests:
SERGAS_TEST_POSTGRES_URL, else postgres@127.0.0.1:5432). The tests (tests/org/test_fleet.py,
the multi-host test) run the same fleet, shorter, through `run_fleet`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2

from sergas.sandbox.config import client_env

ROOT = Path(__file__).resolve().parents[1]
CAP = 20  # the enterprise edition's concurrent calls


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_port(host: str, port: int, proc: subprocess.Popen[Any], what: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on {host}:{port}")


def stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@dataclass
class Place:
    """Where a process runs: `prefix` before its command (e.g. `ip netns exec h1`) and the
    address it listens on."""

    host: str = "127.0.0.1"
    prefix: Sequence[str] = ()


@dataclass
class Fleet:
    """What one run needs that outlives it: the sandbox, Redis, the database, a key."""

    sandbox_url: str
    database_url: str
    redis_url: str | None
    workdir: Path
    services: Sequence[Place]
    tiers: str = "rest"  # "rest", or "default" (MCP first, then the SDK, then REST)
    concurrency: int = CAP
    key: str = ""

    def env(self, redis: bool) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("SERGAS_", "ZOHO_"))}
        env = {
            **base,
            **client_env(self.sandbox_url),
            "SERGAS_DATABASE_URL": self.database_url,
            "SERGAS_TOKEN_KEY": TOKEN_KEY,
            "SERGAS_DATA_DIR": str(self.workdir),
            "ZOHO_CONCURRENCY": str(self.concurrency),
            "SERGAS_LOG_FORMAT": "json",
            "SERGAS_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT / "src"),
        }
        if self.tiers == "rest":
            env |= {"ENABLE_TIER1_MCP": "false", "ENABLE_TIER2_SDK": "false"}
        if redis and self.redis_url:
            env["SERGAS_REDIS_URL"] = self.redis_url
        return env


TOKEN_KEY = "jvAWhXuQtZsI6ExJbdWpnFMUpZBnpUpWmgaFXc8sGTE="  # a fixed Fernet key for the run


@dataclass
class Result:
    label: str
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    sandbox: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.ok / self.seconds

    @property
    def rejected_429(self) -> int:
        return int(self.sandbox.get("rejected_429", 0))

    @property
    def peak(self) -> int:
        return int(self.sandbox.get("peak_concurrency", 0))

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def sergas(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "sergas", *args], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return done.stdout


@contextlib.contextmanager
def services(fleet: Fleet, redis: bool) -> Iterator[list[str]]:
    """The fleet's `sergas serve` processes; their URLs."""
    env = fleet.env(redis)
    procs, urls = [], []
    try:
        for n, place in enumerate(fleet.services):
            port = free_port("127.0.0.1") if not place.prefix else 8080 + n
            log = (fleet.workdir / f"service-{n}.log").open("wb")
            proc = subprocess.Popen(
                [*place.prefix, sys.executable, "-m", "sergas", "serve"],
                env={**env, "SERGAS_SERVICE_HOST": place.host, "SERGAS_SERVICE_PORT": str(port)},
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
            log.close()
            procs.append(proc)
            urls.append(f"http://{place.host}:{port}")
        for proc, url, place in zip(procs, urls, fleet.services, strict=True):
            wait_port(place.host, int(url.rsplit(":", 1)[1]), proc, f"sergas serve at {url}")
        yield urls
    finally:
        for proc in procs:
            stop(proc)


async def load(
    urls: list[str], key: str, ids: list[str], clients: int, seconds: float, result: Result
) -> None:
    """`clients` loops spread over `urls`, each sending its next request at once."""
    per = max(1, clients // len(urls))
    deadline = time.perf_counter() + seconds
    headers = {"Authorization": f"Bearer {key}"}

    async def client(http: httpx2.AsyncClient, n: int) -> None:
        i = n
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            try:
                response = await http.get(f"/v1/accounts/{ids[i % len(ids)]}")
            except httpx2.HTTPError as exc:
                kind = type(exc).__name__
                result.errors[kind] = result.errors.get(kind, 0) + 1
                continue
            finally:
                i += clients
            if response.status_code == 200:
                result.latencies.append(time.perf_counter() - start)
            else:
                kind = str(response.status_code)
                result.errors[kind] = result.errors.get(kind, 0) + 1

    limits = httpx2.Limits(max_connections=per, max_keepalive_connections=per)
    async with contextlib.AsyncExitStack() as stack:
        https = [
            await stack.enter_async_context(
                httpx2.AsyncClient(
                    base_url=url, headers=headers, limits=limits, timeout=60, trust_env=False
                )
            )
            for url in urls
        ]
        await asyncio.gather(*(client(https[n % len(https)], n) for n in range(clients)))


def account_ids(sandbox_url: str, count: int = 1000) -> list[str]:
    from benchmarks._common import access_token

    token = access_token(sandbox_url)
    ids: list[str] = []
    page = 1
    while len(ids) < count:
        response = httpx2.get(
            sandbox_url + "/crm/v8/Accounts",
            params={"fields": "Account_Name", "per_page": 200, "page": page},
            headers={"Authorization": f"Zoho-oauthtoken {token}"},
            trust_env=False,
        )
        data = response.json().get("data", []) if response.status_code == 200 else []
        if not data:
            break
        ids += [r["id"] for r in data]
        page += 1
    return ids[:count]


def run_fleet(
    fleet: Fleet, *, redis: bool, clients: int, seconds: float, label: str, warmup: float = 2.0
) -> Result:
    """One run: the sandbox reset (its tokens too: the services start on a fresh one), the
    services started (with or without Redis) and warmed up by the same `clients` for
    `warmup` seconds, then `seconds` of load. The sandbox's 429s are those of the measured
    part; its peak concurrency is the whole run's."""
    ids = account_ids(fleet.sandbox_url)
    httpx2.post(fleet.sandbox_url + "/__sandbox/reset", json={"records": False}, trust_env=False)
    with services(fleet, redis) as urls:
        asyncio.run(load(urls, fleet.key, ids, clients, warmup, Result("warm-up", warmup)))
        before = httpx2.get(fleet.sandbox_url + "/__sandbox/stats", trust_env=False).json()
        result = Result(label, seconds)
        started = time.perf_counter()
        asyncio.run(load(urls, fleet.key, ids, clients, seconds, result))
        result.seconds = time.perf_counter() - started
        stats = httpx2.get(fleet.sandbox_url + "/__sandbox/stats", trust_env=False).json()
        stats["rejected_429"] -= before["rejected_429"]
        result.sandbox = stats
    return result


def prepare(fleet: Fleet) -> None:
    """The schema and an API key in the fleet's database (a new one for each run: Sergas
    keeps Zoho's 10 refreshes per 10 minutes, and every run starts on a fresh token)."""
    env = fleet.env(redis=False)
    sergas(env, "db", "upgrade")
    fleet.key = json.loads(sergas(env, "apikeys", "create", "--name", "fleet", "--json"))["key"]


@contextlib.contextmanager
def sandbox_server(
    host: str, latency_ms: float, accounts: int, *prefix: str
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port(host)
    proc = subprocess.Popen(
        [*prefix, sys.executable, "-m", "sergas", "sandbox", "serve", "--host", host,
         "--port", str(port), "--accounts", str(accounts), "--edition", "enterprise",
         "--latency-ms", str(latency_ms)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )  # fmt: skip
    try:
        wait_port(host, port, proc, "the sandbox")
        yield f"http://{host}:{port}", proc
    finally:
        stop(proc)


@contextlib.contextmanager
def redis_server(host: str, workdir: Path) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    port = free_port(host)
    proc = subprocess.Popen(
        [binary, "--bind", host, "--port", str(port), "--save", "", "--appendonly", "no",
         "--dir", str(workdir), "--protected-mode", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_port(host, port, proc, "redis-server")
        yield f"redis://{host}:{port}/0"
    finally:
        stop(proc)


def row(result: Result, latency_ms: float) -> list[str]:
    limit = CAP / (latency_ms / 1000)
    errors = str(result.error_count) + (f" {result.errors}" if result.errors else "")
    return [
        result.label,
        f"{result.rate:,.1f}",
        f"{result.rate / limit:.0%}",
        f"{result.rejected_429:,}",
        errors,
        f"{result.percentile(0.5) * 1000:,.0f}",
        f"{result.percentile(0.99) * 1000:,.0f}",
        str(result.peak),
    ]


HEADERS = ["run", "requests/s", "of cap÷latency", "429s", "client errors", "p50 ms", "p99 ms",
           "peak"]  # fmt: skip


def main() -> None:
    from benchmarks._common import machine, table
    from sergas.db.testing import find_test_postgres, temporary_database

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=3)
    parser.add_argument("--clients", type=int, default=120)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each; medians reported")
    parser.add_argument("--routing", choices=["rest", "default", "both"], default="both")
    args = parser.parse_args()
    postgres, why = find_test_postgres()
    if postgres is None:
        sys.exit(why)
    routings = ["rest", "default"] if args.routing == "both" else [args.routing]
    rows = []
    load_before = os.getloadavg()
    with (
        tempfile.TemporaryDirectory() as tmp,
        sandbox_server("127.0.0.1", args.latency_ms, 2000) as (sandbox_url, _),
        redis_server("127.0.0.1", Path(tmp)) as redis_url,
    ):

        def once(routing: str, redis: bool, name: str) -> Result:
            with temporary_database(postgres, "sergas_fleet") as database:
                places = [Place() for _ in range(args.services)]
                fleet = Fleet(sandbox_url, database, redis_url, Path(tmp), places, routing)
                prepare(fleet)
                return run_fleet(
                    fleet, redis=redis, clients=args.clients, seconds=args.seconds, label=name
                )

        cases = [
            (routing, redis, ("REST only" if routing == "rest" else "default (MCP first)")
             + (", Redis" if redis else ", no Redis"))
            for routing in routings
            for redis in (False, True)
        ]  # fmt: skip
        measured: dict[str, list[Result]] = {name: [] for _, _, name in cases}
        for _ in range(args.repeat):  # in turns, so a busy spell hits every case alike
            for routing, redis, name in cases:
                measured[name].append(once(routing, redis, name))
        for name, runs in measured.items():
            runs.sort(key=lambda r: r.rate)
            rows.append(row(runs[len(runs) // 2], args.latency_ms))
            if args.repeat > 1:
                each = ", ".join(
                    f"{r.rate:.1f}/s {r.rejected_429}×429 {r.error_count} errors peak {r.peak}"
                    for r in runs
                )
                print(f"{name}, each run: {each}", file=sys.stderr)
    load_after = os.getloadavg()
    print(f"machine: {machine()}")
    print(
        f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}; "
        f"after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}"
    )
    print(
        f"{args.services} `sergas serve` (ZOHO_CONCURRENCY={CAP} each), {args.clients} clients, "
        f"{args.seconds:.0f} s, sandbox enterprise (cap {CAP}), latency {args.latency_ms:.0f} ms; "
        f"cap÷latency = {CAP / (args.latency_ms / 1000):.0f}/s"
        + (f"; median of {args.repeat} runs" if args.repeat > 1 else "")
        + "\n"
    )
    print(table(HEADERS, rows))


if __name__ == "__main__":
    main()
