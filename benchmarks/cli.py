"""One CLI command, start to finish: `sergas accounts get ID --tier rest` on the embedded
default (no Zoho credentials: the sandbox is served in the command's own process, its CRM
read from the state file the first command wrote), wall and CPU time per run.

A first `sergas accounts list` creates a fresh data directory (seeding the sandbox's
10,000-account CRM and the database); then `--runs` timed runs of `get`. Target: median
wall time ≤ 0.9 s.

    .venv/bin/python -m benchmarks.cli [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

from benchmarks._common import machine, table

TARGET_S = 0.9
Ran = tuple[subprocess.CompletedProcess[str], float, float]


def sergas(env: dict[str, str], *args: str) -> Ran:
    """Run `sergas ARGS`; (the process, its wall seconds, its CPU seconds)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "sergas", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    return done, wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SERGAS_", "ZOHO_"))}
        env["SERGAS_DATA_DIR"] = tmp
        first, first_wall, _ = sergas(env, "accounts", "list", "--limit", "1", "--json")
        record_id = json.loads(first.stdout)[0]["id"]
        rows, walls = [], []
        for run in range(1, args.runs + 1):
            _, wall, cpu = sergas(env, "accounts", "get", record_id, "--tier", "rest", "--json")
            walls.append(wall)
            rows.append([str(run), f"{wall:.2f} s", f"{cpu:.2f} s"])
    load = os.getloadavg()[0]
    print(
        f"sergas accounts get ID --tier rest, embedded default — {machine()}, "
        f"load average {load:.1f}; first `accounts list` (seeding) {first_wall:.1f} s"
    )
    print(table(["run", "wall", "CPU"], rows))
    median = statistics.median(walls)
    verdict = "met" if median <= TARGET_S else "missed"
    print(f"median wall = {median:.2f} s (target ≤ {TARGET_S} s: {verdict})")


if __name__ == "__main__":
    main()
