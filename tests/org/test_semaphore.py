"""The org's leased semaphore on a real Redis, with real processes: the cap holds across
processes, a killed holder's slots come back within the lease, waiting is FIFO across
processes, a deadline ends the wait, a Redis restart is survived, and a host's wrong clock
changes nothing (leases run on Redis's clock)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from tests.helpers import wait_until_async
from tests.org.conftest import RedisServer
from tests.org.slot_worker import semaphore

from sergas.org.semaphore import LeasedSemaphore

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def client(redis_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    redis = aioredis.from_url(redis_server.url)
    yield redis
    await redis.aclose()


@pytest.fixture
def workers() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def worker(started: list[subprocess.Popen[str]], *args: object) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.org.slot_worker", *map(str, args)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    started.append(proc)
    return proc


def wait_for_line(proc: subprocess.Popen[str], expected: str, timeout: float = 20) -> None:
    """The worker's next line (it prints one when ready); fails if it dies first."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    line = proc.stdout.readline().strip()
    assert line == expected, f"worker said {line!r} (exit {proc.poll()})"
    assert time.monotonic() < deadline


async def test_the_cap_holds_across_processes(
    redis_server: RedisServer, client: aioredis.Redis, workers: list[subprocess.Popen[str]]
) -> None:
    procs = [worker(workers, "churn", redis_server.url, "t:cap", 5, 5, 8, 15) for _ in range(3)]
    for proc in procs:
        assert proc.wait(timeout=60) == 0
    # Used to the full (each task's first slot waits for it, so a process scheduled late
    # cannot leave the peak short), and never past it.
    assert int(await client.get("t:cap:peak")) == 5
    assert int(await client.get("t:cap:inflight")) == 0
    snapshot = await semaphore(client, "t:cap", 5, 5).snapshot()
    assert snapshot["in_use"] == 0 and snapshot["waiting"] == 0


async def test_a_killed_holder_frees_its_slots_within_the_lease(
    redis_server: RedisServer, client: aioredis.Redis, workers: list[subprocess.Popen[str]]
) -> None:
    lease = 1.0
    proc = worker(workers, "hold", redis_server.url, "t:kill", 3, lease, 3)
    wait_for_line(proc, "held")
    sem = semaphore(client, "t:kill", 3, lease)
    await asyncio.sleep(2 * lease)  # past one lease: the holder's renewals keep its slots
    snapshot = await sem.snapshot()
    assert snapshot["in_use_by_client"] == {f"{os.uname().nodename}:{proc.pid}": 3}
    with pytest.raises(TimeoutError):
        await sem.acquire(0.3)

    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    killed = time.monotonic()
    tokens = [await sem.acquire(5) for _ in range(3)]
    assert time.monotonic() - killed < lease + 1.0  # the lease, and a busy machine's slack
    for token in tokens:
        await sem.release(token)
    await sem.aclose()


async def test_waiting_is_first_come_first_served_across_processes(
    redis_server: RedisServer,
) -> None:
    """A busy process with many waiters cannot starve a quiet one: a free slot goes to the
    oldest waiter, whichever process it belongs to."""
    busy_client = aioredis.from_url(redis_server.url)
    quiet_client = aioredis.from_url(redis_server.url)
    busy = semaphore(busy_client, "t:fifo", 1, 5)
    busy.owner = "busy:1"
    quiet = semaphore(quiet_client, "t:fifo", 1, 5)
    quiet.owner = "quiet:2"
    order: list[str] = []

    async def take(sem: LeasedSemaphore, name: str) -> None:
        token = await sem.acquire(10)
        order.append(name)
        await asyncio.sleep(0.03)
        await sem.release(token)

    first = await busy.acquire(1)
    tasks = [asyncio.create_task(take(busy, "busy-1"))]
    await asyncio.sleep(0.15)
    tasks.append(asyncio.create_task(take(quiet, "quiet")))
    await asyncio.sleep(0.15)
    tasks += [asyncio.create_task(take(busy, f"busy-{n}")) for n in range(2, 6)]
    await asyncio.sleep(0.15)
    await busy.release(first)
    await asyncio.gather(*tasks)
    assert order == ["busy-1", "quiet", "busy-2", "busy-3", "busy-4", "busy-5"]
    for sem in (busy, quiet):
        await sem.aclose()
    await busy_client.aclose()
    await quiet_client.aclose()


async def test_a_deadline_ends_the_wait_and_leaves_the_queue(client: aioredis.Redis) -> None:
    sem = semaphore(client, "t:deadline", 1, 5)
    token = await sem.acquire(1)
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        await sem.acquire(0.3)
    assert 0.25 < time.monotonic() - start < 1.0
    assert await client.zcard("t:deadline:queue") == 0
    await sem.release(token)
    assert await sem.acquire(0.5)
    await sem.aclose()


async def test_holders_are_counted_again_after_redis_restarts_empty(
    redis_server: RedisServer, workers: list[subprocess.Popen[str]]
) -> None:
    lease = 1.5
    proc = worker(workers, "hold", redis_server.url, "t:restart", 3, lease, 2)
    wait_for_line(proc, "held")
    redis_server.restart()  # no persistence: every key is gone
    client = aioredis.from_url(redis_server.url)
    sem = semaphore(client, "t:restart", 3, lease)
    await asyncio.sleep(lease / 3 + 0.5)  # one renewal of the holder
    snapshot = await sem.snapshot()
    assert snapshot["in_use"] == 2
    token = await sem.acquire(1)  # the one slot left
    with pytest.raises(TimeoutError):
        await sem.acquire(0.3)
    await sem.release(token)
    await sem.aclose()
    await client.aclose()


@pytest.mark.parametrize("skew", [3600.0, -3600.0])
async def test_a_hosts_wrong_clock_neither_stretches_nor_shortens_a_lease(
    skew: float,
    redis_server: RedisServer,
    client: aioredis.Redis,
    workers: list[subprocess.Popen[str]],
) -> None:
    lease = 1.0
    proc = worker(workers, "hold", redis_server.url, "t:skew", 1, lease, 1, skew)
    wait_for_line(proc, "held")
    sem = semaphore(client, "t:skew", 1, lease)
    await asyncio.sleep(2 * lease)  # an hour ahead or behind, its lease is still renewed
    with pytest.raises(TimeoutError):
        await sem.acquire(0.3)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    killed = time.monotonic()
    token = await sem.acquire(5)  # and it still expires a lease after the holder died
    assert time.monotonic() - killed < lease + 1.0  # the lease, and a busy machine's slack
    await sem.release(token)
    await sem.aclose()


async def held_with_a_waiter(
    client: aioredis.Redis, prefix: str
) -> tuple[LeasedSemaphore, str, asyncio.Task[str]]:
    """A one-slot semaphore: its slot held, and a second caller's ticket in the queue."""
    sem = semaphore(client, prefix, 1, 5)
    token = await sem.acquire(1)
    waiter = asyncio.create_task(sem.acquire(10))
    await wait_until_async(
        lambda: client.zcard(f"{prefix}:queue"), what="the waiter's ticket in the queue"
    )
    return sem, token, waiter


async def test_a_cancelled_waiter_leaves_the_queue_and_takes_no_slot(
    client: aioredis.Redis,
) -> None:
    sem, token, waiter = await held_with_a_waiter(client, "t:cancel")
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert await client.zcard("t:cancel:queue") == 0
    assert sem.waiting == 0
    await sem.release(token)
    assert await client.zcard("t:cancel:holders") == 0  # nobody holds the slot
    again = await sem.acquire(0.5)
    await sem.release(again)
    await sem.aclose()


async def test_a_waiter_cancelled_as_its_slot_is_granted_gives_it_back(
    client: aioredis.Redis,
) -> None:
    sem, token, waiter = await held_with_a_waiter(client, "t:granted")
    await sem.release(token)  # hands the slot to the waiter in the same script call...
    assert sem.held == 1 and not waiter.done()
    waiter.cancel()  # ...which is cancelled before it could run again
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert await client.zcard("t:granted:holders") == 0  # given back, not leaked
    assert sem.held == 0
    again = await sem.acquire(0.5)
    await sem.release(again)
    await sem.aclose()


async def test_each_call_names_only_the_oldest_waiters_and_all_are_served_in_order(
    redis_server: RedisServer, client: aioredis.Redis
) -> None:
    """A process with many more waiters than the cap: each script call names its oldest
    `cap` tickets and the ones the queue has not seen, and every waiter is still served
    in the order it came."""
    cap = 2
    # One connection: the scripts' answers come back in the order Redis ran them, so the
    # waiters wake in the order they were granted.
    serial = aioredis.from_url(redis_server.url, single_connection_client=True)
    sem = semaphore(serial, "t:bounded", cap, 5)
    named: list[int] = []
    script = sem._acquire

    async def counting(*, keys: list[str], args: list[object]) -> object:
        named.append(len(args) - 5)  # cap, lease, alive, release, channel, tickets...
        return await script(keys=keys, args=args)

    sem._acquire = counting  # type: ignore[assignment]
    held = [await sem.acquire(1) for _ in range(cap)]
    order: list[int] = []

    async def take(n: int) -> None:
        token = await sem.acquire(30)
        order.append(n)
        await sem.release(token)

    waiters = []
    for n in range(12):
        waiters.append(asyncio.create_task(take(n)))
        await wait_until_async(  # one at a time: the order they came in is known
            lambda n=n: _at_least(client.zcard("t:bounded:queue"), n + 1),
            what=f"{n + 1} tickets in the queue",
        )
    named.clear()
    for token in held:
        await sem.release(token)
    await asyncio.gather(*waiters)
    assert order == list(range(12))
    assert named and max(named) <= cap
    await sem.aclose()
    await serial.aclose()


async def _at_least(count: Awaitable[int], n: int) -> bool:
    return await count >= n


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class HeldBack:
    """A semaphore's script, its next call held back until `go` (a call slowed on its way
    to Redis: a new connection, a busy machine)."""

    def __init__(self, script: Any) -> None:
        self.script = script
        self.go = asyncio.Event()
        self.waiting = asyncio.Event()  # the held call is waiting for `go`
        self.done = asyncio.Event()  # it has reached Redis and come back
        self.hold_next = True

    async def __call__(self, *, keys: list[str], args: list[object]) -> Any:
        if not self.hold_next:
            return await self.script(keys=keys, args=args)
        self.hold_next = False
        self.waiting.set()
        await self.go.wait()
        try:
            return await self.script(keys=keys, args=args)
        finally:
            self.done.set()


async def test_a_ticket_named_by_a_late_call_is_not_queued_again_once_served(
    client: aioredis.Redis,
) -> None:
    """A call naming a waiting ticket reaches Redis only after that ticket was granted by
    another call and given back: the ticket must not wait in the queue again (at its head
    it would keep a free slot from every process until it expired)."""
    sem = semaphore(client, "t:late", 1, 5)
    other = semaphore(client, "t:late", 1, 5)
    other.owner = "other:1"
    token = await sem.acquire(1)
    waiter = asyncio.create_task(sem.acquire(10))
    await wait_until_async(lambda: client.zcard("t:late:queue"), what="the waiter queued")
    late = HeldBack(sem._acquire)
    sem._acquire = late  # type: ignore[assignment]
    sem.wake()  # the pump's next call names the waiter, and is held back
    await late.waiting.wait()
    release = asyncio.create_task(sem.release(token))  # grants the slot to the waiter
    done, _ = await asyncio.wait([waiter], timeout=1)
    others: list[str] = []
    if done:  # served and given back, and the slot taken elsewhere, before the late call
        await sem.release(waiter.result())
        others.append(await other.acquire(1))
    late.go.set()
    await release
    if not done:
        await sem.release(await waiter)
    await late.done.wait()
    queued = [_text(t) for t in await client.zrange("t:late:queue", 0, -1)]
    assert not [t for t in queued if t.startswith(sem.owner)]
    for held in others:
        await other.release(held)
    assert await client.zcard("t:late:holders") == 0
    await sem.aclose()
    await other.aclose()


async def test_a_late_renewal_does_not_bring_back_a_released_slot(
    client: aioredis.Redis,
) -> None:
    sem = semaphore(client, "t:renew", 1, 3)
    token = await sem.acquire(1)
    late = HeldBack(sem._renew)
    sem._renew = late  # type: ignore[assignment]
    await late.waiting.wait()  # the renewer's call names the held slot, and is held back
    release = asyncio.create_task(sem.release(token))
    await asyncio.wait([release], timeout=1)  # given back before the late renewal arrives
    late.go.set()
    await release
    await late.done.wait()
    assert await client.zcard("t:renew:holders") == 0
    await sem.aclose()
