"""How fast the sandbox seeds its CRM, and serves records: GET pages of 200 and COQL pages
of 2,000.

10 concurrent clients, latency injection off, the sandbox in its own process.
Target: at least 20,000 records/s, so the sandbox is never the bottleneck of the other
benchmarks. Run: `.venv/bin/python -m benchmarks.sandbox`.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable

import httpx2

from benchmarks._common import access_token, machine, median, sandbox_process, table

CLIENTS = 10


async def load(
    url: str, token: str, seconds: float, fetch: Callable[[httpx2.AsyncClient, int], Awaitable[int]]
) -> float:
    """Records per second with CLIENTS clients, each on its own connection."""
    deadline = time.perf_counter() + seconds
    counts = [0] * CLIENTS

    async def client(index: int) -> None:
        headers = {"Authorization": f"Zoho-oauthtoken {token}"}
        async with httpx2.AsyncClient(base_url=url, headers=headers, timeout=30) as http:
            step = 0
            while time.perf_counter() < deadline:
                counts[index] += await fetch(http, index * 7 + step)
                step += 1

    started = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(CLIENTS)))
    return sum(counts) / (time.perf_counter() - started)


async def get_page(http: httpx2.AsyncClient, step: int) -> int:
    response = await http.get(
        "/crm/v8/Accounts",
        params={
            "fields": "Account_Name,Owner,Industry,Annual_Revenue,Last_Activity_Time",
            "per_page": 200,
            "page": step % 10 + 1,
        },
    )
    response.raise_for_status()
    count: int = response.json()["info"]["count"]
    return count


async def coql_page(http: httpx2.AsyncClient, step: int) -> int:
    query = (
        "select Account_Name, Owner, Industry, Annual_Revenue, Last_Activity_Time "
        f"from Accounts limit {step % 5 * 2000}, 2000"
    )
    response = await http.post("/crm/v8/coql", json={"select_query": query})
    response.raise_for_status()
    count: int = response.json()["info"]["count"]
    return count


def seeding(accounts: int = 10_000, rounds: int = 5) -> tuple[list[float], dict[str, int]]:
    """Seconds to seed `accounts` accounts and everything around them, per round; and the
    records per module."""
    from sergas.sandbox.schema import MODULES
    from sergas.sandbox.seed import build_users, seed_store
    from sergas.sandbox.store import RecordStore

    users = build_users(42)
    times: list[float] = []
    counts: dict[str, int] = {}
    for _ in range(rounds):
        store = RecordStore(MODULES)
        started = time.perf_counter()
        seed_store(store, seed=42, accounts=accounts, users=users, now=1_790_000_000.0)
        times.append(time.perf_counter() - started)
        counts = {m: store.count(m) for m in MODULES}
    return times, counts


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed-only", action="store_true", help="only time the seeding")
    args = parser.parse_args()
    times, counts = seeding()
    print(
        f"Seeding 10,000 accounts ({sum(counts.values()):,} records: "
        + ", ".join(f"{m} {n:,}" for m, n in counts.items())
        + f"): median {median(times):.2f} s, min {min(times):.2f} s over {len(times)} rounds"
    )
    if args.seed_only:
        return
    with sandbox_process("--seed", "42") as url:
        httpx2.post(url + "/__sandbox/faults", json={"latency_ms": 0})
        token = access_token(url)
        rows = []
        for name, fetch in (
            ("GET /crm/v8/Accounts, 200 per page", get_page),
            ("POST /crm/v8/coql, 2,000 per page", coql_page),
        ):
            rates = [await load(url, token, args.seconds, fetch) for _ in range(args.rounds)]
            rows.append(
                [
                    name,
                    f"{median(rates):,.0f}",
                    f"{min(rates):,.0f}",
                    f"{max(rates):,.0f}",
                    "yes" if median(rates) >= 20_000 else "NO",
                ]
            )
        stats = httpx2.get(url + "/__sandbox/stats").json()
    print(
        f"Sandbox throughput — {CLIENTS} concurrent clients, {args.rounds} rounds of "
        f"{args.seconds:g} s, {machine()}"
    )
    print(table(["workload", "records/s (median)", "min", "max", "≥ 20,000"], rows))
    print(
        f"peak concurrency seen by the sandbox: {stats['peak_concurrency']}, "
        f"429s: {stats['rejected_429']}"
    )


if __name__ == "__main__":
    asyncio.run(main())
