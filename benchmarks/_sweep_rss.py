"""Peak RSS of one `sergas sweep` at two sizes, and what each additional account costs.

For each size: a sandbox in its own process with that many seeded accounts (and their
contacts, deals, tasks, calls, meetings and notes), a fresh data directory (SQLite), one
`sergas sweep --json --out DIR` process; its peak RSS is the kernel's `ru_maxrss` for it
(`os.wait4`). The cost per additional account is the difference of the peaks divided by the
difference of the sizes: what the sweep keeps per account, the interpreter and libraries
cancelling out.

Run by `benchmarks.sweep --rss 10000,100000` (see there).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._common import machine, sandbox_process, table
from sergas.sandbox.config import client_env


def one(size: int, latency_ms: float, tmp: Path) -> dict[str, Any]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SERGAS_", "ZOHO_"))}
    with sandbox_process("--latency-ms", str(latency_ms), accounts=size) as url:
        env = base | client_env(url) | {"SERGAS_DATA_DIR": str(tmp / f"data-{size}")}
        command = [sys.executable, "-m", "sergas", "sweep", "--json", "--out"]
        command.append(str(tmp / f"briefs-{size}"))
        started = time.perf_counter()
        with (tmp / f"stderr-{size}").open("wb") as errors:
            proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=errors)
            assert proc.stdout is not None
            out = proc.stdout.read()
            proc.stdout.close()
            # wait4, not wait(): the process's own peak RSS (ru_maxrss), not its children's.
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
    if proc.returncode not in (0, 3):
        text = (tmp / f"stderr-{size}").read_text(errors="replace")[-3000:]
        raise SystemExit(f"sergas sweep failed ({proc.returncode}):\n{text}")
    summary: dict[str, Any] = json.loads(out)
    rss = usage.ru_maxrss / 1024
    return {"size": size, "rss": rss, "wall": wall, "summary": summary}


def main(args: argparse.Namespace) -> None:
    sizes = [int(s) for s in args.rss.split(",")]
    load_before = os.getloadavg()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            runs.append(one(size, args.latency_ms, Path(tmp)))
            print(f"{size:,} accounts: {runs[-1]['rss']:.0f} MiB", file=sys.stderr)
    print(f"{args.latency_ms:g} ms latency per call; {machine()}")
    print(f"load average at the start: {load_before}; at the end: {os.getloadavg()}")
    rows = [
        [
            f"{r['size']:,}",
            f"{r['summary']['accounts']['scored']:,}",
            f"{r['summary']['accounts']['written']:,}",
            f"{r['summary']['duration_s']:.1f} s",
            f"{r['rss']:,.0f}",
        ]
        for r in runs
    ]
    print(table(["accounts", "scored", "written", "sweep's own duration", "peak RSS (MiB)"], rows))
    for a, b in itertools.pairwise(runs):
        per = (b["rss"] - a["rss"]) * 1024 * 1024 / (b["size"] - a["size"])
        print(f"{a['size']:,} → {b['size']:,}: {per / 1024:.2f} KiB per additional account")
