"""One CLI command, start to finish: `sergas accounts get ID --tier rest`, wall and CPU time
per run, in two settings:

- embedded: no Zoho credentials, so the command serves the sandbox in its own process, its
  10,000-account CRM read from the state file that a first `sergas accounts list` wrote;
- served: the sandbox in a process of its own (`sergas sandbox serve`), reached with its
  credentials, as Zoho would be.

Each setting gets a fresh data directory and a first `accounts list` (untimed), then
`--runs` timed runs. Target: median wall time ≤ 0.9 s.

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
from pathlib import Path

from benchmarks._common import machine, sandbox_process, table
from sergas.sandbox.config import client_env

TARGET_S = 0.9
SERGAS = Path(sys.executable).with_name("sergas")  # the command a user types, not `python -m`
Ran = tuple[subprocess.CompletedProcess[str], float, float]


def sergas(env: dict[str, str], *args: str) -> Ran:
    """Run `sergas ARGS`; (the process, its wall seconds, its CPU seconds)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [str(SERGAS), *args],
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


def measure(extra: dict[str, str], runs: int) -> list[tuple[float, float]]:
    """(wall, CPU) of each timed `get`, after a first `list` in a fresh data directory."""
    with tempfile.TemporaryDirectory() as tmp:
        # Without PYTHONDONTWRITEBYTECODE: a user's second command loads compiled bytecode.
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SERGAS_", "ZOHO_")) and k != "PYTHONDONTWRITEBYTECODE"
        }
        env |= {"SERGAS_DATA_DIR": tmp, **extra}
        first, _, _ = sergas(env, "accounts", "list", "--limit", "1", "--json")
        record_id = json.loads(first.stdout)[0]["id"]
        return [
            sergas(env, "accounts", "get", record_id, "--tier", "rest", "--json")[1:]
            for _ in range(runs)
        ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    before = os.getloadavg()[0]
    results = {"embedded": measure({}, args.runs)}
    with sandbox_process() as url:
        results["served"] = measure(client_env(url), args.runs)
    print(
        f"sergas accounts get ID --tier rest — {machine()}, load average {before:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after"
    )
    rows = []
    for setting, runs in results.items():
        walls = [wall for wall, _ in runs]
        rows.append(
            [
                setting,
                ", ".join(f"{w:.2f}" for w in walls),
                f"{statistics.median(walls):.2f} s",
                f"{statistics.median(cpu for _, cpu in runs):.2f} s",
                "met" if statistics.median(walls) <= TARGET_S else "missed",
            ]
        )
    print(table(["sandbox", "wall per run (s)", "median wall", "median CPU", "≤ 0.9 s"], rows))


if __name__ == "__main__":
    main()
