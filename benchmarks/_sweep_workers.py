"""A queued sweep on 1, 2 and 4 workers (`sergas worker`), against its cap-limited minimum.

One sandbox in its own process (enterprise edition: 20 calls in flight per org, 10 of them
heavy: COQL and writes of more than 10 records), 50 ms latency on every call. For each
worker count: a new PostgreSQL database, the sandbox reset to its seeded CRM, N workers
(`--concurrency 1`, so that a worker runs the sweep or one shard, never both;
`SERGAS_SWEEP_SHARDS=N`), one `sergas jobs enqueue sweep`, timed from
the enqueue until the job succeeded. Peak RSS per worker is each process's VmHWM.

The cap-limited minimum: the org's cap on calls in flight bounds the calls per second
(cap ÷ latency), so a sweep that needs H heavy and L light calls takes at least
H * latency / 10 + L * latency / 20 seconds, plus the time Zoho spends on bulk read jobs
when the sweep uses them (the sandbox's `bulk_job_seconds`, the three jobs running at once).
H and L are counted by the sandbox (/__sandbox/stats, per endpoint). For reference, the
same sweep as a plain `sergas sweep` (no queue, same database) is timed first.

The workers share the org's limits through a Redis of their own (`SERGAS_REDIS_URL`,
`ZOHO_CONCURRENCY=20`): together they keep at most 20 calls, 10 of them heavy, in flight,
whatever their number.

Where the machine's CPU went is reported beside the time: the sandbox's (its
`process_cpu_seconds`), the workers' (or the plain sweep's) and PostgreSQL's and Redis's
(their processes' user and system time from /proc, backends that exited during the run left
out). On a machine of C cores no arrangement of the work finishes in less than their sum ÷ C.

Run by `benchmarks.sweep --workers 1,2,4` (see there).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2
from cryptography.fernet import Fernet

from benchmarks._common import machine, sandbox_process, table
from benchmarks.fleet import redis_server
from sergas.db import create_engine, upgrade
from sergas.db.testing import find_test_postgres, temporary_database
from sergas.jobs.queue import ACTIVE, open_queue
from sergas.runtime import zoho_scope
from sergas.sandbox.config import client_env
from sergas.settings import load_settings

HEAVY = ("/coql", "PUT /crm/v8/", "/search")  # COQL, writes of 100 records, search
BULK_JOB_SECONDS = 1.0
CORES = os.cpu_count() or 1


def stats(url: str) -> dict[str, Any]:
    data: dict[str, Any] = httpx2.get(url + "/__sandbox/stats", timeout=60).json()
    return data


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of a live process (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def services_cpu(names: tuple[str, ...] = ("postgres", "redis-server")) -> float:
    """CPU seconds of every live PostgreSQL and Redis process (exited backends are missed)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                comm = (entry / "comm").read_text().strip()
            except OSError:
                continue
            if comm in names:
                total += cpu_seconds(int(entry.name))
    return total


def migrate(url: str) -> None:
    async def run() -> None:
        engine = create_engine(url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())


async def queued_sweep(env: dict[str, str]) -> dict[str, Any]:
    """Queue a sweep with the workers' settings; wait for it to end; the job as shown."""
    settings = load_settings(**{k: v for k, v in env.items() if k.startswith(("SERGAS_", "ZOHO_"))})
    async with open_queue(settings) as queue:
        job_id = await queue.enqueue_sweep(zoho_scope(settings))
        for _ in range(18_000):  # an hour at most
            status = await queue.app.job_manager.get_job_status_async(job_id)
            if status.value not in ACTIVE:
                break
            await asyncio.sleep(0.2)
        return await queue.show(job_id)


def plain_run(base: dict[str, str], sandbox: str, pg: str, tmp: Path) -> dict[str, Any]:
    """`sergas sweep --json` on the same database, for reference."""
    httpx2.post(sandbox + "/__sandbox/reset", json={"records": True}, timeout=600)
    with temporary_database(pg, prefix="sergas_bench") as url:
        migrate(url)
        env = base | client_env(sandbox)
        env |= {
            "SERGAS_DATABASE_URL": url,
            "SERGAS_TOKEN_KEY": Fernet.generate_key().decode(),
            "SERGAS_DATA_DIR": str(tmp / "data-plain"),
        }
        before, services = stats(sandbox), services_cpu()
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "sergas", "sweep", "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert proc.stdout is not None
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        proc.stdout.close()
        wall = time.perf_counter() - started
        after, services = stats(sandbox), services_cpu() - services
    if proc.returncode != 0:
        raise SystemExit(f"sergas sweep failed ({proc.returncode})")
    result = _result(0, json.loads(out), wall, before, after, [usage.ru_maxrss / 1024])
    result["cpu"] = (
        after["process_cpu_seconds"] - before["process_cpu_seconds"],
        usage.ru_utime + usage.ru_stime,
        services,
    )
    return result


def one_run(
    base: dict[str, str], sandbox: str, pg: str, redis: str, workers: int, tmp: Path
) -> dict[str, Any]:
    httpx2.post(sandbox + "/__sandbox/reset", json={"records": True}, timeout=600)
    with temporary_database(pg, prefix="sergas_bench") as url:
        migrate(url)
        env = (
            base
            | client_env(sandbox)
            | {
                "SERGAS_DATABASE_URL": url,
                "SERGAS_TOKEN_KEY": Fernet.generate_key().decode(),
                "SERGAS_DATA_DIR": str(tmp / f"data-{workers}"),
                "SERGAS_SWEEP_SHARDS": str(workers),
                "SERGAS_REDIS_URL": redis,  # the org's 20 calls (10 heavy) shared by all
                "ZOHO_CONCURRENCY": "20",
                "SERGAS_JOBS_APPROVALS_SCHEDULE": "",
                "SERGAS_JOBS_CHECK_SECONDS": "0.5",
                "SERGAS_LOG_LEVEL": "INFO",  # the sweep job's phases, to the workers' logs
            }
        )
        procs = []
        for i in range(workers):
            log = (tmp / f"worker-{workers}-{i}.log").open("wb")
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "sergas", "worker", "--concurrency", "1"],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                )
            )
            log.close()
        time.sleep(6)  # workers up
        before, services = stats(sandbox), services_cpu()
        workers_cpu = [cpu_seconds(p.pid) for p in procs]
        started = time.perf_counter()
        # Queued and followed from here (a `sergas jobs` process per poll would take the
        # CPU the workers need on a small machine).
        job = asyncio.run(queued_sweep(env))
        wall = time.perf_counter() - started
        after, services = stats(sandbox), services_cpu() - services
        workers_cpu = [cpu_seconds(p.pid) - c for p, c in zip(procs, workers_cpu, strict=True)]
        rss = [peak_rss_mib(p.pid) for p in procs]
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=120)
    if job["status"] != "succeeded":
        logs = "\n".join(p.read_text()[-3000:] for p in sorted(tmp.glob(f"worker-{workers}-*")))
        raise SystemExit(f"the sweep ended {job['status']}: {json.dumps(job, indent=1)}\n{logs}")
    result = _result(workers, job["summary"], wall, before, after, rss)
    sandbox_cpu = after["process_cpu_seconds"] - before["process_cpu_seconds"]
    result["cpu"] = (sandbox_cpu, sum(workers_cpu), services)
    result["phases"] = phases(tmp.glob(f"worker-{workers}-*.log"), job["finished_at"])
    return result


def phases(logs: Any, finished_at: str) -> str:
    """read / score and plan / write and finish, from the sweep job's log lines
    ("<ISO time>Z [info ] sweep job N: read (3)")."""
    starts: dict[str, datetime] = {}
    for path in logs:
        for line in Path(path).read_text(errors="replace").splitlines():
            found = re.search(r"sweep job \d+: (read|score|write) \(", line)
            if found:
                at = datetime.fromisoformat(line.split()[0].rstrip("Z")).replace(tzinfo=UTC)
                starts.setdefault(found.group(1), at)
    end = datetime.fromisoformat(finished_at)
    if set(starts) != {"read", "score", "write"}:
        return "–"
    marks = [starts["read"], starts["score"], starts["write"], end]
    return " / ".join(f"{(b - a).total_seconds():.1f}" for a, b in itertools.pairwise(marks))


def _result(
    workers: int,
    summary: dict[str, Any],
    wall: float,
    before: dict[str, Any],
    after: dict[str, Any],
    rss: list[float],
) -> dict[str, Any]:
    calls: dict[str, int] = {}
    for name, count in after["endpoints"].items():
        calls[name] = count - before["endpoints"].get(name, 0)
    heavy = sum(n for name, n in calls.items() if any(h in name for h in HEAVY))
    light = sum(calls.values()) - heavy
    return {
        "workers": workers,
        "summary": summary,
        "wall": wall,
        "heavy": heavy,
        "light": light,
        "calls": calls,
        "rss": rss,
        "written": after["records_written"].get("Accounts", 0)
        - before["records_written"].get("Accounts", 0),
        "twice": after["records_written_more_than_once"],
    }


def main(args: argparse.Namespace) -> None:
    pg, reason = find_test_postgres()
    if pg is None:
        raise SystemExit(reason)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SERGAS_", "ZOHO_"))}
    latency = args.latency_ms / 1000
    load_before = os.getloadavg()
    runs = []
    with (
        sandbox_process(
            "--latency-ms",
            str(args.latency_ms),
            "--bulk-job-seconds",
            str(BULK_JOB_SECONDS),
            accounts=args.accounts,
        ) as url,
        tempfile.TemporaryDirectory() as tmp,
        redis_server("127.0.0.1", Path(tmp)) as redis,
    ):
        if not args.no_plain:
            runs.append(plain_run(base, url, pg, Path(tmp)))
            print(f"plain sweep done: {runs[-1]['wall']:.1f} s", file=sys.stderr)
        for n in (int(w) for w in args.workers.split(",")):
            runs.append(one_run(base, url, pg, redis, n, Path(tmp)))
            print(f"{n} workers done: {runs[-1]['wall']:.1f} s", file=sys.stderr)
    print(f"{args.accounts:,} accounts, {args.latency_ms:g} ms latency per call; {machine()}")
    print(f"load average at the start: {load_before}; at the end: {os.getloadavg()}")
    rows = []
    for run in runs:
        bulk = any("/crm/bulk/" in name for name in run["calls"])
        minimum = run["heavy"] * latency / 10 + run["light"] * latency / 20
        minimum += BULK_JOB_SECONDS if bulk else 0
        rss = ", ".join(f"{r:,.0f}" for r in run["rss"])
        cpu = run["cpu"]
        rows.append(
            [
                str(run["workers"]) if run["workers"] else "`sergas sweep`, no queue",
                f"{run['wall']:.1f} s",
                f"{run['summary']['duration_s']:.1f} s",
                run.get("phases", "–"),
                f"{run['heavy']:,} + {run['light']:,}",
                f"{minimum:.1f} s",
                f"{run['wall'] / minimum:.2f}x",
                " / ".join(f"{c:.1f}" for c in cpu),
                f"{sum(cpu) / CORES:.1f} s",
                rss,
                f"{run['written']:,}",
                str(run["twice"]),
            ]
        )
    headers = [
        "workers",
        "enqueue → succeeded (process wall time without a queue)",
        "sweep's own duration",
        "read / score, plan / write, finish (s)",
        "calls (heavy + light)",
        "cap-limited minimum",
        "time ÷ minimum",
        "CPU s: sandbox / sweep / PostgreSQL + Redis",
        f"CPU ÷ {CORES} cores",
        "peak RSS per worker (MiB)",
        "accounts written",
        "written twice",
    ]
    print(table(headers, rows))
    for run in runs:
        print(f"{run['workers'] or 'no queue'}: calls {json.dumps(run['calls'])}")
