"""The tiers against Zoho's SDK used naively, and against the practical limit (issue 4 §7).

One sandbox in its own process: 20,000 accounts, 50 ms latency per call, the enterprise
edition (20 concurrent calls, 10 heavy), bulk jobs taking `--bulk-job-seconds`.

- export: every account (FIELDS) through each tier and strategy: records paging
  (`iter_accounts`), COQL (`bulk_read_accounts` under its threshold), Bulk Read (threshold 0);
- update: 5,000 accounts through each tier and strategy: PUTs of 100, Bulk Write (threshold 0).

Baseline: the official SDK used naively in its own process (sequential get_records pages;
sequential update_records of 100; see benchmarks/_naive_sdk.py). Practical limit: a bare
httpx2 client with a fixed token issuing the same optimal plan at the same concurrency (a
COQL count, then COQL pages of 2,000 at every offset, 10 in flight; PUTs of 100, 10 in
flight). Credits come from the sandbox's stats. Run: `.venv/bin/python -m benchmarks.tiers`.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
from cryptography.fernet import Fernet

from benchmarks._common import access_token, machine, sandbox_process, table
from sergas.auth import TokenManager, token_manager
from sergas.db import create_engine, upgrade
from sergas.log import configure_logging
from sergas.sandbox.config import client_env
from sergas.settings import Settings, load_settings
from sergas.tiers.base import TierName, ZohoTier
from sergas.tiers.factory import TIERS, build_tier

FIELDS = ["Account_Name", "Industry", "Owner", "Annual_Revenue", "Employees", "Modified_Time"]
NEVER = 10**9  # a threshold no run reaches


@dataclass
class Run:
    task: str
    tier: str
    strategy: str
    seconds: float
    credits: int
    records: int


class Bench:
    def __init__(self, url: str, workdir: Path, tokens: TokenManager, base: dict[str, str]):
        self.url = url
        self.workdir = workdir
        self.tokens = tokens
        self.base = base
        self.runs: list[Run] = []
        # One access token for the bare client and the naive SDK processes: Zoho allows 10
        # refreshes per refresh token in 10 minutes, and each would spend one.
        self.token = access_token(url)

    def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = httpx2.get(self.url + "/__sandbox/stats", timeout=10).json()
        return stats

    def credits(self) -> int:
        return int(self.stats()["credits"]["total_used"])

    def settings(self, **overrides: Any) -> Settings:
        return load_settings(**{**self.base, **{k: str(v) for k, v in overrides.items()}})

    async def measure(
        self, task: str, tier: str, strategy: str, fn: Callable[[], Awaitable[tuple[int, str]]]
    ) -> Run:
        """`fn()` timed; a tier's strategy is what the sandbox saw it call (`ran`)."""
        before = self.stats()
        started = time.perf_counter()
        records, shown = await fn()
        seconds = time.perf_counter() - started
        after = self.stats()
        credits = int(after["credits"]["total_used"]) - int(before["credits"]["total_used"])
        run = Run(task, tier, shown or ran(task, before, after), seconds, credits, records)
        self.runs.append(run)
        print(f"  {task:6} {tier:5} {run.strategy:10} {seconds:7.2f} s {run.credits:6} credits")
        return run

    def naive(self, task: str, *args: str) -> Run:
        before = self.credits()
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks._naive_sdk", task, self.url, *args],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "SERGAS_BENCH_ACCESS_TOKEN": self.token},
        ).stdout
        result = json.loads(out.strip().splitlines()[-1])
        run = Run(
            task,
            "naive SDK",
            "sequential",
            result["seconds"],
            self.credits() - before,
            result["records"],
        )
        self.runs.append(run)
        print(f"  {task:6} naive SDK            {run.seconds:7.2f} s {run.credits:6} credits")
        return run


async def with_tier(
    bench: Bench, name: TierName, overrides: dict[str, Any], use: Callable[[ZohoTier], Any]
) -> tuple[int, str]:
    tier = build_tier(name, bench.settings(**overrides), bench.tokens)
    try:
        return await use(tier), ""  # the strategy: what the sandbox saw (see `ran`)
    finally:
        await tier.aclose()


def _tools(stats: dict[str, Any]) -> Counter[str]:
    """MCP tool calls by tool, from the sandbox's per-endpoint counts ("MCP <tool>")."""
    prefix = "MCP "
    return Counter(
        {k.removeprefix(prefix): v for k, v in stats["endpoints"].items() if k.startswith(prefix)}
    )


def ran(task: str, before: dict[str, Any], after: dict[str, Any]) -> str:
    """The strategy a run used, from the sandbox's per-endpoint (and per-tool) call counts."""
    calls = Counter(after["calls"]) - Counter(before["calls"])
    tools = _tools(after) - _tools(before)
    if task == "export":
        if calls["POST /crm/bulk/v8/read"]:
            return "bulk"
        return "pages" if calls["GET /crm/v8/Accounts"] or tools["list_records"] else "coql"
    jobs = calls["POST /crm/bulk/v8/write"]
    puts = calls["PUT /crm/v8/Accounts"] or tools["bulk_update_records"]
    return "+".join(s for s, used in (("bulk", jobs), ("put", puts)) if used)


async def export_all(tier: ZohoTier) -> int:
    return sum([1 async for _ in tier.iter_accounts(fields=FIELDS)])


async def bare_export(url: str, token: str) -> tuple[int, str]:
    headers = {"Authorization": f"Zoho-oauthtoken {token}"}
    limits = httpx2.Limits(max_connections=20, max_keepalive_connections=20)
    gate = asyncio.Semaphore(10)
    async with httpx2.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=60) as http:

        async def coql(text: str) -> list[dict[str, Any]]:
            async with gate:
                reply = await http.post("/crm/v8/coql", json={"select_query": text})
            return [] if reply.status_code == 204 else list(reply.json()["data"])

        where = "where id is not null"
        total = int((await coql(f"select COUNT(id) from Accounts {where}"))[0]["COUNT(id)"])
        columns = ", ".join(FIELDS)
        pages = await asyncio.gather(
            *(
                coql(
                    f"select {columns} from Accounts {where} order by id asc limit 2000 offset {o}"
                )
                for o in range(0, total, 2000)
            )
        )
    return sum(len(p) for p in pages), "coql"


async def bare_update(url: str, token: str, ids: list[str], value: int) -> tuple[int, str]:
    headers = {"Authorization": f"Zoho-oauthtoken {token}"}
    limits = httpx2.Limits(max_connections=20, max_keepalive_connections=20)
    gate = asyncio.Semaphore(10)
    async with httpx2.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=60) as http:

        async def put(chunk: list[str]) -> int:
            body = {"data": [{"id": rid, "Health_Score": value} for rid in chunk]}
            async with gate:
                reply = await http.put("/crm/v8/Accounts", json=body)
            return sum(1 for item in reply.json()["data"] if item["status"] == "success")

        done = await asyncio.gather(*(put(ids[i : i + 100]) for i in range(0, len(ids), 100)))
    return sum(done), "put"


async def run(args: argparse.Namespace) -> list[Run]:
    sandbox_args = ["--latency-ms", str(args.latency_ms), "--bulk-job-seconds", str(args.bulk_job)]
    with (
        sandbox_process(*sandbox_args, accounts=args.accounts) as url,
        tempfile.TemporaryDirectory() as tmp,
    ):
        workdir = Path(tmp)
        base = {
            **client_env(url),
            "SERGAS_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'bench.db'}",
            "SERGAS_TOKEN_KEY": Fernet.generate_key().decode(),
            "ZOHO_CONCURRENCY": "20",
            "SERGAS_BULK_POLL_INITIAL": "0.25",
            "SERGAS_HTTP_TIMEOUT": "120",
        }
        settings = load_settings(**base)
        engine = create_engine(settings.effective_database_url)
        await upgrade(engine)
        tokens = token_manager(settings, engine=engine)
        bench = Bench(url, workdir, tokens, base)
        tiers = [t for t in TIERS if t in args.tiers]
        try:
            # Rounds interleave every contender, so drift on the machine hits all alike.
            for _ in range(args.rounds):
                await exports(bench, tiers)
            ids = await first_ids(bench, args.updates)
            for n in range(args.rounds):
                await updates(bench, tiers, ids, 100 * n)
        finally:
            await tokens.aclose()
            await engine.dispose()
        return bench.runs


async def exports(bench: Bench, tiers: list[TierName]) -> None:
    print("export")
    bench.naive("export", ",".join(FIELDS))
    await bench.measure("export", "bare", "coql", lambda: bare_export(bench.url, bench.token))
    for name in tiers:
        plans: list[tuple[str, dict[str, Any], Callable[[ZohoTier], Any]]] = [
            ("pages", {}, export_all),
            ("coql", {"SERGAS_BULK_READ_THRESHOLD": NEVER}, bulk_read),
            ("bulk", {"SERGAS_BULK_READ_THRESHOLD": 0}, bulk_read),
        ]
        for strategy, overrides, use in plans:
            await bench.measure(
                "export", name, strategy, functools.partial(with_tier, bench, name, overrides, use)
            )


async def bulk_read(tier: ZohoTier) -> int:
    return len(await tier.bulk_read_accounts(fields=FIELDS))


async def first_ids(bench: Bench, count: int) -> list[str]:
    ids: list[str] = []
    while len(ids) < count:  # the first `count` ids, paged by id
        ids += await more_ids(bench.url, bench.token, ids[-1] if ids else "0", count - len(ids))
    (bench.workdir / "ids.json").write_text(json.dumps(ids))
    return ids


async def updates(bench: Bench, tiers: list[TierName], ids: list[str], base: int) -> None:
    print("update")
    bench.naive("update", str(bench.workdir / "ids.json"), str(base + 11))
    await bench.measure(
        "update", "bare", "put", lambda: bare_update(bench.url, bench.token, ids, base + 12)
    )
    value = base + 13
    for name in tiers:
        for strategy, threshold in (("put", NEVER), ("bulk", 0)):
            value += 1

            async def update(tier: ZohoTier, v: int = value) -> int:
                result = await tier.bulk_update_accounts(
                    [{"id": rid, "Health_Score": v} for rid in ids]
                )
                return len(result.succeeded)

            overrides = {"SERGAS_BULK_WRITE_THRESHOLD": threshold}
            await bench.measure(
                "update",
                name,
                strategy,
                functools.partial(with_tier, bench, name, overrides, update),
            )


async def more_ids(url: str, token: str, after: str, wanted: int) -> list[str]:
    async with httpx2.AsyncClient(
        base_url=url, headers={"Authorization": f"Zoho-oauthtoken {token}"}
    ) as http:
        reply = await http.post(
            "/crm/v8/coql",
            json={
                "select_query": f"select id from Accounts where id > {int(after)} "
                f"order by id asc limit {min(wanted, 2000)}"
            },
        )
    return [r["id"] for r in reply.json()["data"]]


def medians(runs: list[Run]) -> list[Run]:
    """One Run per contender: the median wall time of its rounds, in first-seen order."""
    groups: dict[tuple[str, str, str], list[Run]] = {}
    for r in runs:
        groups.setdefault((r.task, r.tier, r.strategy), []).append(r)
    return [
        Run(
            task,
            tier,
            strategy,
            statistics.median(r.seconds for r in group),
            max(r.credits for r in group),
            min(r.records for r in group),
        )
        for (task, tier, strategy), group in groups.items()
    ]


def report(runs: list[Run], args: argparse.Namespace) -> str:
    lines = [
        f"Machine: {machine()}. {args.accounts:,} accounts, {args.latency_ms:g} ms latency, "
        f"bulk jobs {args.bulk_job:g} s, enterprise caps (20 / 10 heavy); median of "
        f"{args.rounds} interleaved rounds.",
        "",
    ]
    for task in ("export", "update"):
        mine = [r for r in medians(runs) if r.task == task]
        naive = next(r for r in mine if r.tier == "naive SDK")
        bare = next(r for r in mine if r.tier == "bare")
        rows = [
            [
                r.tier,
                r.strategy,
                f"{r.seconds:.2f} s",
                str(r.credits),
                f"{r.records:,}",
                f"{naive.seconds / r.seconds:.1f}×",
                f"{r.seconds / bare.seconds:.2f}",
            ]
            for r in mine
        ]
        lines += [
            f"### {task}",
            "",
            table(
                ["tier", "strategy", "wall", "credits", "records", "vs naive SDK", "÷ bare"], rows
            ),
            "",
        ]
        tiered = [r for r in mine if r.tier in TIERS and r.records == naive.records]
        if tiered:
            best = min(tiered, key=lambda r: r.seconds)
            target = 10 if task == "export" else 5
            lines.append(
                f"Best: {best.tier} {best.strategy}, {naive.seconds / best.seconds:.1f}× the naive "
                f"SDK (target ≥ {target}×), {best.credits} credits vs {naive.credits} "
                f"(target ≤), {best.seconds / bare.seconds:.2f} × bare (target ≤ 1.25)."
            )
            lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--updates", type=int, default=5_000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--bulk-job", type=float, default=1.0, help="seconds a bulk job runs")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tiers", default="rest,sdk,mcp", type=lambda s: s.split(","))
    args = parser.parse_args()
    configure_logging("console", "WARNING")
    runs = asyncio.run(run(args))
    print()
    print(report(runs, args))


if __name__ == "__main__":
    main()
