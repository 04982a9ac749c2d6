"""The dashboard's pages at 10,000 accounts: latency per page under light concurrency.

Setup, as a new user gets it: `sergas sweep` twice on the embedded default (10,000 accounts,
SQLite in the data directory), then `--history` more finished runs copied from the last one
with earlier dates (so the trend and each account's score over time read as many runs, and
`sweep_history` holds runs x 8,711 rows), `--proposals` pending proposals, and `sergas serve`
in its own process. The load generator signs in once through the form (a session cookie,
as a browser) and sends `--clients` concurrent requests, each client its next request as
soon as the last one answered, `--requests` per page, at each level of `--clients`
(default 1, then 4):

- overview `/`; the owner page of the owner with the most accounts; the approval queue;
- an account page, first view: every request a different account, so each reads the
  account, its contacts, deals and tasks from the CRM (the embedded sandbox, in a child
  process the service starts) after the page's first part, what the sweep stored, was sent;
- the same account pages again, within SERGAS_WEB_RELATED_CACHE_SECONDS (600 s here, so
  the whole first pass stays cached): one part, the stored data and the cached CRM records.

With `--sandbox served` the CRM is `sergas sandbox serve`, started apart from the service and
reached with its credentials as Zoho would be, instead of the embedded one the service starts
on its data directory.

Reported per page, as the client saw them: p50, p95, p99 of the time until the page had
arrived (for a first view, its first part: everything but the CRM's records, which the
browser shows meanwhile), the whole response's p50 and p95 (the same for a page sent in
one part), and non-200 answers (target 0). The target is p95 <= 100 ms.
Run: `.venv/bin/python -m benchmarks.dashboard`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import sqlite3
import statistics
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import httpx2
from tests.web.demo import demo_service, propose, sweep

from benchmarks._common import machine, sandbox_process, table
from sergas.sandbox.config import client_env

TARGET_MS = 100.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def copy_runs(database: Path, runs: int) -> None:
    """`runs` more finished runs like the newest, a day apart before it (their scores moved
    a little, so the lines are not flat)."""
    with sqlite3.connect(database) as conn:
        newest = conn.execute(
            "select * from sweep_runs where state = 'done' order by checked_at desc limit 1"
        ).fetchone()
        columns = [d[0] for d in conn.execute("select * from sweep_runs limit 0").description]
        row = dict(zip(columns, newest, strict=True))
        when = datetime.fromisoformat(row["checked_at"])
        for n in range(1, runs + 1):
            copy = dict(row)
            copy["id"] = uuid.uuid4().hex
            stamp = (when - timedelta(days=n)).isoformat(sep=" ")
            copy.update(started_at=stamp, checked_at=stamp, finished_at=stamp)
            conn.execute(
                f"insert into sweep_runs ({', '.join(copy)}) values ({', '.join('?' * len(copy))})",
                list(copy.values()),
            )
            conn.execute(
                "insert into sweep_history (run_id, account_id, score, status) "
                "select ?, account_id, max(0, min(100, score + (abs(random()) % 7) - 3)), status "
                "from sweep_history where run_id = ?",
                (copy["id"], row["id"]),
            )


async def sign_in(client: httpx2.AsyncClient, key: str) -> None:
    form = await client.get("/signin")
    token = re.search(r'name="form" value="([^"]+)"', form.text)
    assert token is not None
    done = await client.post("/signin", data={"api_key": key, "form": token.group(1)})
    assert done.status_code == 303, done.text


# The end of what an account page sends before its CRM part (`page_in_two_parts`).
FIRST_PART_END = b'class="crm-loading"'


async def load(
    client: httpx2.AsyncClient, paths: list[str], clients: int
) -> tuple[list[float], list[float], int]:
    """Every path once, `clients` at a time: ms until the page's first part had arrived
    (the whole page, for a page sent in one part), ms until the whole page had, and the
    non-200 answers."""
    queue = list(reversed(paths))
    first: list[float] = []
    whole: list[float] = []
    errors = 0

    async def worker() -> None:
        nonlocal errors
        while queue:
            path = queue.pop()
            started = time.perf_counter()
            first_at = None
            async with client.stream("GET", path) as response:
                seen = b""
                async for chunk in response.aiter_raw():
                    seen += chunk
                    if first_at is None and FIRST_PART_END in seen:
                        first_at = time.perf_counter()
            ended = time.perf_counter()
            first.append(((first_at or ended) - started) * 1000)
            whole.append((ended - started) * 1000)
            if response.status_code != 200:
                errors += 1

    await asyncio.gather(*(worker() for _ in range(clients)))
    return first, whole, errors


async def measure(
    url: str, key: str, database: Path, levels: list[int], requests: int
) -> list[list[str]]:
    with sqlite3.connect(database) as conn:
        run_id = conn.execute(
            "select id from sweep_runs where state = 'done' and summary is not null "
            "order by checked_at desc limit 1"
        ).fetchone()[0]
        owner = conn.execute(
            "select owner_id from sweep_scores where run_id = ? group by owner_id "
            "order by count(*) desc limit 1",
            (run_id,),
        ).fetchone()[0]
        accounts = [
            r[0]
            for r in conn.execute(
                "select account_id from sweep_scores where run_id = ? order by random() limit ?",
                (run_id, requests * len(levels)),
            )
        ]
    rows = []
    async with httpx2.AsyncClient(
        base_url=url, limits=httpx2.Limits(max_connections=max(levels)), timeout=60
    ) as client:
        await sign_in(client, key)
        await load(client, ["/", f"/owners/{owner}", "/approvals"] * 5, 1)  # warm-up
        for n, clients in enumerate(levels):
            mine = accounts[n * requests : (n + 1) * requests]
            pages = {
                "overview `/`": ["/"] * requests,
                "owner `/owners/{id}`": [f"/owners/{owner}"] * requests,
                "approvals `/approvals`": ["/approvals"] * requests,
                "account, first view (CRM read)": [f"/accounts/{a}" for a in mine],
                "account, again (cached CRM records)": [f"/accounts/{a}" for a in mine],
            }
            for name, paths in pages.items():
                first, whole, errors = await load(client, paths, clients)
                p95 = percentile(first, 95)
                rows.append(
                    [
                        name,
                        str(clients),
                        f"{len(first):,}",
                        f"{statistics.median(first):.1f} ms",
                        f"{p95:.1f} ms",
                        f"{percentile(first, 99):.1f} ms",
                        f"{statistics.median(whole):.1f} / {percentile(whole, 95):.1f} ms",
                        str(errors),
                        "met" if p95 <= TARGET_MS else "**missed**",
                    ]
                )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--history", type=int, default=28, help="runs copied (default 28)")
    parser.add_argument("--proposals", type=int, default=20)
    parser.add_argument("--clients", default="1,4", help="concurrency levels, e.g. 1,4")
    parser.add_argument("--requests", type=int, default=400, help="per page")
    parser.add_argument(
        "--sandbox",
        choices=["embedded", "served"],
        default="embedded",
        help="embedded (default): started by the service on its data directory, as after "
        "`make demo`; served: `sergas sandbox serve` started apart, reached as Zoho would be",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        setup = time.perf_counter()
        crm: dict[str, str] = {}
        with contextlib.ExitStack() as stack:
            if args.sandbox == "served":
                crm = client_env(stack.enter_context(sandbox_process(accounts=args.accounts)))
            # The cached pass repeats the first within the cache's time (the default is 60 s).
            demo = stack.enter_context(
                demo_service(data, args.accounts, SERGAS_WEB_RELATED_CACHE_SECONDS="600", **crm)
            )
            sweep(demo.env)
            database = data / "sergas.db"
            copy_runs(database, args.history)
            with sqlite3.connect(database) as conn:
                ids = [
                    r[0]
                    for r in conn.execute(
                        "select account_id from sweep_scores limit ?", (args.proposals,)
                    )
                ]
            for i, record_id in enumerate(ids):
                propose(demo.env, record_id, {"Rating": "Active", "Description": f"#{i}"}, "bench")
            setup = time.perf_counter() - setup
            load_before = os.getloadavg()
            levels = [int(c) for c in args.clients.split(",")]
            rows = asyncio.run(measure(demo.url, demo.write_key, database, levels, args.requests))
            load_after = os.getloadavg()
            with sqlite3.connect(database) as conn:
                history = conn.execute("select count(*) from sweep_history").fetchone()[0]
                runs = conn.execute("select count(*) from sweep_runs").fetchone()[0]
    print(
        f"machine: {machine()}; load average before {load_before[0]:.2f}, after {load_after[0]:.2f}"
    )
    print(
        f"{args.accounts:,} accounts ({args.sandbox} sandbox), {runs} finished runs, "
        f"{history:,} history rows, {args.proposals} pending proposals; clients {args.clients}; "
        f"setup {setup:.0f} s"
    )
    print()
    print(
        table(
            [
                "page",
                "clients",
                "requests",
                "p50",
                "p95",
                "p99",
                "whole page p50 / p95",
                "non-200",
                "p95 ≤ 100 ms",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()
