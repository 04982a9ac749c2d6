"""A real process using the org's leased semaphore, for the tests of `sergas.org.semaphore`.

python -m tests.org.slot_worker hold URL PREFIX CAP LEASE N [SKEW]
    take N slots, print "held", keep them (renewing) until killed; SKEW seconds are
    added to this process's wall clock first (a host whose clock is wrong)
python -m tests.org.slot_worker churn URL PREFIX CAP LEASE TASKS ROUNDS
    TASKS tasks each take a slot ROUNDS times, count themselves in flight in Redis
    (`<PREFIX>:inflight`, its peak in `<PREFIX>:peak`) for 20 ms, and give it back; with
    their first slot they also wait until the peak has reached the cap (so that a run
    shows the cap used to the full, however the processes are scheduled)
"""

from __future__ import annotations

import asyncio
import sys
import time

import redis.asyncio as aioredis

from sergas.org.client import client_id
from sergas.org.semaphore import LeasedSemaphore

PEAK = """
local n = redis.call('INCR', KEYS[1])
if n > tonumber(redis.call('GET', KEYS[2]) or '0') then redis.call('SET', KEYS[2], n) end
return n
"""


def semaphore(client: aioredis.Redis, prefix: str, cap: int, lease: float) -> LeasedSemaphore:
    return LeasedSemaphore(
        client,
        prefix,
        cap,
        owner=client_id(),
        backoff_key=f"{prefix}:backoff",
        channel=f"{prefix}:released",
        lease=lease,
        poll=0.05,
    )


async def hold(url: str, prefix: str, cap: int, lease: float, n: int) -> None:
    client = aioredis.from_url(url)
    sem = semaphore(client, prefix, cap, lease)
    for _ in range(n):
        await sem.acquire(10)
    print("held", flush=True)
    await asyncio.sleep(3600)


async def churn(url: str, prefix: str, cap: int, lease: float, tasks: int, rounds: int) -> None:
    client = aioredis.from_url(url)
    sem = semaphore(client, prefix, cap, lease)
    peak = client.register_script(PEAK)

    async def full() -> None:
        for _ in range(3000):
            if int(await client.get(f"{prefix}:peak") or 0) >= cap:
                return
            await asyncio.sleep(0.01)
        raise TimeoutError(f"the cap of {cap} was never in use at once")

    async def task() -> None:
        for n in range(rounds):
            token = await sem.acquire(30)
            await peak(keys=[f"{prefix}:inflight", f"{prefix}:peak"])
            if n == 0:
                await full()
            await asyncio.sleep(0.02)
            await client.decr(f"{prefix}:inflight")
            await sem.release(token)

    await asyncio.gather(*(task() for _ in range(tasks)))
    await sem.aclose()
    await client.aclose()
    print("done", flush=True)


def main() -> None:
    mode, url, prefix, cap, lease, *rest = sys.argv[1:]
    if mode == "hold":
        if len(rest) > 1:
            real, skew = time.time, float(rest[1])
            time.time = lambda: real() + skew  # this process's wall clock is wrong
        asyncio.run(hold(url, prefix, int(cap), float(lease), int(rest[0])))
    else:
        asyncio.run(churn(url, prefix, int(cap), float(lease), int(rest[0]), int(rest[1])))


if __name__ == "__main__":
    main()
