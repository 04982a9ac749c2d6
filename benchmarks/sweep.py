"""The health sweep over 10,000 accounts: `sergas sweep` against a straightforward official-SDK
baseline, on the same sandbox (its own process, 50 ms latency per call), one run each.

Both start from the same seeded CRM (the sandbox is reset in between), both score with the
same rules and both write the same changed accounts. Credits and HTTP requests come from the
sandbox's /__sandbox/stats. Target: at least 5x faster, and no more credits.

    .venv/bin/python -m benchmarks.sweep [--accounts 10000] [--latency-ms 50]

With `--workers 1,2,4` it measures instead a queued sweep (`sergas worker`, PostgreSQL) on
that many workers against its cap-limited minimum, with peak RSS per worker
(`benchmarks/_sweep_workers.py` says how):

    .venv/bin/python -m benchmarks.sweep --workers 1,2,4 --accounts 100000

With `--rss 10000,100000` it measures instead the peak RSS of a plain `sergas sweep` at each
size and what each additional account costs (`benchmarks/_sweep_rss.py`):

    .venv/bin/python -m benchmarks.sweep --rss 10000,100000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx2

from benchmarks._common import machine, sandbox_process, table
from sergas.sandbox.config import client_env


def stats(url: str) -> dict[str, Any]:
    data: dict[str, Any] = httpx2.get(url + "/__sandbox/stats", timeout=30).json()
    return data


def measured(
    url: str, command: list[str], env: dict[str, str], *, last_line: bool = False
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run `command`; returns (its JSON output with wall seconds, the sandbox's costs)."""
    before = stats(url)
    started = time.perf_counter()
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=3600)
    wall = time.perf_counter() - started
    if proc.returncode not in (0, 3):
        raise SystemExit(f"{command[2]} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    after = stats(url)
    text = proc.stdout.strip().splitlines()[-1] if last_line else proc.stdout
    output: dict[str, Any] = json.loads(text)
    costs = {
        "credits": after["credits"]["total_used"] - before["credits"]["total_used"],
        "requests": after["total_calls"] - before["total_calls"],
        "written": after["records_written"].get("Accounts", 0)
        - before["records_written"].get("Accounts", 0),
        "process_seconds": wall,
    }
    return output, costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--workers", help="e.g. 1,2,4: a queued sweep on that many workers")
    parser.add_argument("--rss", help="e.g. 10000,100000: peak RSS of a sweep at each size")
    parser.add_argument("--no-plain", action="store_true", help="with --workers: no plain row")
    args = parser.parse_args()
    if args.rss:
        from benchmarks import _sweep_rss

        _sweep_rss.main(args)
        return
    if args.workers:
        from benchmarks import _sweep_workers

        _sweep_workers.main(args)
        return
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("SERGAS_", "ZOHO_"))}
    runs: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    with (
        sandbox_process("--latency-ms", str(args.latency_ms), accounts=args.accounts) as url,
        tempfile.TemporaryDirectory() as tmp,
    ):
        for label, tier in (
            ("`sergas sweep`", "rest"),
            ("`sergas sweep`, tier auto (SDK)", "auto"),
        ):
            # A fresh database each time: no previous sweep, every account to write.
            env = (
                base_env
                | client_env(url)
                | {
                    "SERGAS_DATA_DIR": str(Path(tmp) / f"data-{tier}"),
                    "SERGAS_SWEEP_TIER": tier,
                }
            )
            out = str(Path(tmp) / f"briefs-{tier}")
            command = [sys.executable, "-m", "sergas", "sweep", "--json", "--out", out]
            ours, costs = measured(url, command, env)
            runs.append((label, ours, costs))
            httpx2.post(url + "/__sandbox/reset", json={"records": True}, timeout=300)
        baseline = [sys.executable, "-m", "benchmarks._sweep_baseline", url]
        base, base_costs = measured(url, baseline, base_env, last_line=True)

    n, base_seconds = args.accounts, base["seconds"]
    rows = [_row(label, ours["duration_s"], costs, n, base_seconds) for label, ours, costs in runs]
    rows.append(_row("official SDK, sequential", base_seconds, base_costs, n, base_seconds))
    print(f"{n:,} accounts, {args.latency_ms:g} ms latency per call; {machine()}")
    headers = [
        "run",
        "sweep time",
        "accounts/s",
        "speed-up",
        "process wall time",
        "credits",
        "HTTP requests",
        "accounts written",
    ]
    print(table(headers, rows))
    _, ours, costs = runs[0]
    print(
        f"\nspeed-up {base_seconds / ours['duration_s']:.1f}x (sweep time), "
        f"{base_costs['process_seconds'] / costs['process_seconds']:.1f}x (process wall time); "
        f"credits {costs['credits']:,} vs {base_costs['credits']:,} "
        f"({'within' if costs['credits'] <= base_costs['credits'] else 'OVER'} the baseline)"
    )
    for label, ours, _ in runs:
        calls = {t: v["calls"] for t, v in ours["tiers"].items()}
        print(f"{label}: manager calls per tier {json.dumps(calls)}")


def _row(
    label: str, seconds: float, costs: dict[str, Any], n: int, base_seconds: float
) -> list[str]:
    return [
        label,
        f"{seconds:.1f} s",
        f"{n / seconds:,.0f}",
        f"{base_seconds / seconds:.1f}x",
        f"{costs['process_seconds']:.1f} s",
        f"{costs['credits']:,}",
        f"{costs['requests']:,}",
        f"{costs['written']:,}",
    ]


if __name__ == "__main__":
    main()
