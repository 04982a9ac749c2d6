"""What the integration manager adds per call: get_account through the manager, through the
REST tier directly, and through a raw httpx2 client with a static token.

Same sandbox (its own process, no injected latency), same process, one run. The three
clients take turns call by call, so drift on the machine lands on all three alike; each makes
`-n` sequential calls (default 2,000) after a warm-up. Besides wall time, the client process's
CPU time per call is reported: it is what the layers cost, whatever the server is doing.
The manager has only the REST tier enabled, metrics on (in memory and Prometheus),
and logging at INFO as a service would run it. Target: manager ÷ raw ≤ 1.10 (medians).
Run: `.venv/bin/python -m benchmarks.manager`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx2

from benchmarks._common import access_token, machine, sandbox_process, table
from sergas.crypto import TokenCipher
from sergas.log import configure_logging
from sergas.manager import IntegrationConfig
from sergas.runtime import open_runtime
from sergas.sandbox.config import client_env
from sergas.settings import load_settings
from sergas.tiers.rest import ZohoRESTClient

Call = Callable[[str], Awaitable[Any]]
Samples = tuple[dict[str, list[float]], dict[str, list[float]]]


async def record_ids(url: str, token: str, count: int) -> list[str]:
    headers = {"Authorization": f"Zoho-oauthtoken {token}"}
    ids: list[str] = []
    async with httpx2.AsyncClient(base_url=url, headers=headers) as http:
        page = 1
        while len(ids) < count:
            reply = await http.get(
                "/crm/v8/Accounts", params={"fields": "id", "per_page": 200, "page": page}
            )
            ids += [r["id"] for r in reply.json()["data"]]
            page += 1
    return ids[:count]


async def run(url: str, n: int, warmup: int) -> Samples:
    with tempfile.TemporaryDirectory() as tmp:
        env = {k.lower(): v for k, v in client_env(url).items()}
        settings = load_settings(data_dir=tmp, token_key=TokenCipher.generate_key(), **env)
        config = IntegrationConfig.from_env(ENABLE_TIER1_MCP=False, ENABLE_TIER2_SDK=False)
        async with open_runtime(settings, config) as runtime:
            manager = runtime.manager
            rest = ZohoRESTClient(settings, runtime.tokens)
            raw_token = access_token(url)
            raw = httpx2.AsyncClient(
                base_url=url, headers={"Authorization": f"Zoho-oauthtoken {raw_token}"}
            )

            async def raw_get(record_id: str) -> Any:
                reply = await raw.get(f"/crm/v8/Accounts/{record_id}")
                reply.raise_for_status()
                return reply.json()["data"][0]

            clients: dict[str, Call] = {
                "manager": lambda rid: manager.get_account(rid),
                "REST tier": lambda rid: rest.get_account(rid),
                "raw httpx2": raw_get,
            }
            try:
                ids = await record_ids(url, raw_token, 2000)
                return await measure(clients, ids, n, warmup)
            finally:
                await raw.aclose()
                await rest.aclose()


async def measure(clients: dict[str, Call], ids: list[str], n: int, warmup: int) -> Samples:
    """Wall and CPU seconds per call for each client. The clients take turns call by call,
    starting with a different one each round, so drift on a shared machine (other work, the
    sandbox's garbage collector) falls on all of them alike."""
    wall: dict[str, list[float]] = {name: [] for name in clients}
    cpu: dict[str, list[float]] = {name: [] for name in clients}
    for call in clients.values():
        for rid in ids[:warmup]:
            await call(rid)
    names = list(clients)
    for i in range(n):
        rid = ids[i % len(ids)]
        k = i % len(names)
        for name in names[k:] + names[:k]:
            started, cpu_started = time.perf_counter(), time.process_time()
            await clients[name](rid)
            cpu[name].append(time.process_time() - cpu_started)
            wall[name].append(time.perf_counter() - started)
    return wall, cpu


def report(wall: dict[str, list[float]], cpu: dict[str, list[float]]) -> str:
    raw = statistics.median(wall["raw httpx2"])
    raw_cpu = statistics.median(cpu["raw httpx2"])
    rows = []
    for name, values in wall.items():
        med = statistics.median(values)
        p95 = statistics.quantiles(values, n=100, method="inclusive")[94]
        med_cpu = statistics.median(cpu[name])
        rows.append(
            [
                name,
                str(len(values)),
                f"{med * 1e3:.3f} ms",
                f"{p95 * 1e3:.3f} ms",
                f"{med / raw:.3f}",
                f"{med_cpu * 1e6:.0f} µs",
                f"{(med_cpu - raw_cpu) * 1e6:+.0f} µs",
            ]
        )
    headers = ["client", "calls", "median", "p95", "÷ raw", "client CPU", "CPU vs raw"]
    return table(headers, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000, help="calls per client")
    parser.add_argument("--warmup", type=int, default=100, help="untimed calls per client")
    args = parser.parse_args()
    configure_logging("console", "INFO")
    with sandbox_process(accounts=2000) as url:
        httpx2.post(url + "/__sandbox/faults", json={"latency_ms": 0})
        wall, cpu = asyncio.run(run(url, args.n, args.warmup))
    ratio = statistics.median(wall["manager"]) / statistics.median(wall["raw httpx2"])
    print(f"manager overhead — get_account, {args.n} sequential calls per client, {machine()}")
    print(report(wall, cpu))
    verdict = "met" if ratio <= 1.10 else "NOT met"
    print(f"manager ÷ raw = {ratio:.3f} (target ≤ 1.10: {verdict})")


if __name__ == "__main__":
    main()
