"""Load on the HTTP service: concurrent clients on GET /v1/accounts/{id} over loopback.

Three processes: the sandbox (`sergas sandbox serve`, ultimate edition so the credit budget
outlasts the run), the service (`sergas serve`, REST tier only, logging at INFO as JSON to
a file, embedded SQLite for its keys and tokens), and this load generator: `--clients`
asyncio tasks (default 100) on one HTTP client with as many connections, each sending its
next request as soon as the last one answered, for `--seconds` (default 30) after a 3 s
warm-up. Ids rotate over 1,000 accounts.

Reported: requests/s, latency p50/p99 as the clients saw it, errors (non-200 or transport
failures; target 0), and the service's resident memory (VmRSS) at the start of the
measured run, at 10 s and at the end (target: < 10% growth from 10 s to the end). For
scale, the same load generator first runs 10 s straight at the sandbox: the ceiling the
service works under on the machine.

Run: `.venv/bin/python -m benchmarks.service` (Linux: RSS is read from /proc).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx2

from benchmarks._common import access_token, free_port, machine, sandbox_process, table
from sergas.sandbox.config import client_env


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sergas(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "sergas", *args], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    return done.stdout


def wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the service exited")
        try:
            if httpx2.get(url + "/readyz", timeout=5).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the service did not become ready")


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    service_cpu: float = 0.0  # seconds of the service process's CPU during the run
    error_kinds: dict[str, int] = field(default_factory=dict)

    def error(self, kind: str) -> None:
        self.errors += 1
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1


async def load(
    url: str,
    headers: dict[str, str],
    path: str,
    ids: list[str],
    clients: int,
    seconds: float,
    tally: Tally | None,
) -> None:
    """`clients` loops, each sending GET `path` (formatted with an id) back to back."""
    limits = httpx2.Limits(max_connections=clients, max_keepalive_connections=clients)
    deadline = time.perf_counter() + seconds
    async with httpx2.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=30) as http:

        async def client(n: int) -> None:
            i = n
            while time.perf_counter() < deadline:
                record_id = ids[i % len(ids)]
                i += clients
                start = time.perf_counter()
                try:
                    response = await http.get(path.format(record_id))
                except httpx2.HTTPError as exc:
                    if tally is not None:
                        tally.error(type(exc).__name__)
                    continue
                if tally is None:
                    continue
                if response.status_code == 200:
                    tally.latencies.append(time.perf_counter() - start)
                else:
                    tally.error(str(response.status_code))

        await asyncio.gather(*(client(n) for n in range(clients)))


async def sample_rss(pid: int, at: list[float], into: dict[float, float]) -> None:
    start = time.perf_counter()
    for mark in at:
        await asyncio.sleep(max(0.0, start + mark - time.perf_counter()))
        into[mark] = rss_mib(pid)


async def baseline(sandbox_url: str, ids: list[str], clients: int, seconds: float) -> float:
    """The same load straight at the sandbox (GET /crm/v8/Accounts/{id}): the ceiling the
    service runs under on this machine. Requests/s."""
    headers = {"Authorization": f"Zoho-oauthtoken {access_token(sandbox_url)}"}
    tally = Tally()
    started = time.perf_counter()
    await load(sandbox_url, headers, "/crm/v8/Accounts/{}", ids, clients, seconds, tally)
    return len(tally.latencies) / (time.perf_counter() - started)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(
    url: str, key: str, ids: list[str], clients: int, seconds: float, pid: int
) -> tuple[Tally, dict[float, float], float]:
    headers, path = {"Authorization": f"Bearer {key}"}, "/v1/accounts/{}"
    await load(url, headers, path, ids, clients, 3.0, None)  # warm-up: connections, caches
    tally, rss = Tally(), {0.0: rss_mib(pid)}
    started, cpu = time.perf_counter(), cpu_seconds(pid)
    await asyncio.gather(
        load(url, headers, path, ids, clients, seconds, tally),
        sample_rss(pid, [10.0, seconds - 0.5], rss),
    )
    tally.service_cpu = cpu_seconds(pid) - cpu
    return tally, rss, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--accounts", type=int, default=2_000)
    parser.add_argument(
        "--zoho-concurrency", type=int, default=None, help="ZOHO_CONCURRENCY (default 10)"
    )
    args = parser.parse_args()

    with (
        sandbox_process("--edition", "ultimate", accounts=args.accounts) as sandbox_url,
        tempfile.TemporaryDirectory() as tmp,
    ):
        port = free_port()
        base = {k: v for k, v in os.environ.items() if not k.startswith(("SERGAS_", "ZOHO_"))}
        env = {
            **base,
            **client_env(sandbox_url),
            "SERGAS_DATA_DIR": tmp,
            "ENABLE_TIER1_MCP": "false",
            "ENABLE_TIER2_SDK": "false",
            "SERGAS_SERVICE_PORT": str(port),
        }
        if args.zoho_concurrency:
            env["ZOHO_CONCURRENCY"] = str(args.zoho_concurrency)
        key = json.loads(sergas(env, "apikeys", "create", "--name", "load", "--json"))["key"]
        url = f"http://127.0.0.1:{port}"
        with (Path(tmp) / "service.log").open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "sergas", "serve"], env=env, stdout=log, stderr=log
            )
            try:
                wait_ready(url, proc)
                listed = httpx2.get(
                    url + "/v1/accounts",
                    params={"fields": "Account_Name", "per_page": 200},
                    headers={"Authorization": f"Bearer {key}"},
                ).json()["data"]
                ids = [r["id"] for r in listed]
                for page in range(2, 6):
                    ids += [
                        r["id"]
                        for r in httpx2.get(
                            url + "/v1/accounts",
                            params={"fields": "Account_Name", "per_page": 200, "page": page},
                            headers={"Authorization": f"Bearer {key}"},
                        ).json()["data"]
                    ]
                ceiling = asyncio.run(baseline(sandbox_url, ids[:1000], args.clients, 10.0))
                httpx2.post(sandbox_url + "/__sandbox/reset", json={"records": False})
                tally, rss, elapsed = asyncio.run(
                    measure(url, key, ids[:1000], args.clients, args.seconds, proc.pid)
                )
                tiers = httpx2.get(
                    url + "/v1/tiers/metrics", headers={"Authorization": f"Bearer {key}"}
                ).json()["tiers"]
            finally:
                proc.terminate()
                proc.wait(timeout=30)

    done = len(tally.latencies)
    growth = (rss[args.seconds - 0.5] - rss[10.0]) / rss[10.0] * 100
    print(f"machine: {machine()}")
    print(
        f"{args.clients} clients, {args.seconds:.0f} s, GET /v1/accounts/{{id}} over loopback, "
        "REST tier, sandbox in its own process\n"
    )
    print(
        table(
            [
                "requests/s",
                "p50 ms",
                "p99 ms",
                "errors",
                "RSS start MiB",
                "RSS 10 s MiB",
                f"RSS {args.seconds:.0f} s MiB",
                "growth 10 s→end",
            ],
            [
                [
                    f"{done / elapsed:,.0f}",
                    f"{percentile(tally.latencies, 0.50) * 1000:.1f}",
                    f"{percentile(tally.latencies, 0.99) * 1000:.1f}",
                    f"{tally.errors}" + (f" {tally.error_kinds}" if tally.errors else ""),
                    f"{rss[0.0]:.1f}",
                    f"{rss[10.0]:.1f}",
                    f"{rss[args.seconds - 0.5]:.1f}",
                    f"{growth:+.1f}%",
                ]
            ],
        )
    )
    print(f"\n{done:,} requests answered 200 in {elapsed:.1f} s")
    rest = tiers["rest"]
    print(
        f"inside the service, the REST tier's get_account (manager metrics, whole run): "
        f"p50 {rest.get('p50_ms')} ms, p99 {rest.get('p99_ms')} ms over {rest.get('total')} calls"
    )
    print(
        f"service CPU: {tally.service_cpu:.1f} s in {elapsed:.1f} s "
        f"({tally.service_cpu / max(done, 1) * 1000:.2f} ms per request)"
    )
    print(
        f"The same load straight at the sandbox (GET /crm/v8/Accounts/{{id}}, 10 s): "
        f"{ceiling:,.0f} requests/s"
    )


if __name__ == "__main__":
    main()
