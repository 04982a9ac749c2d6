"""A counting semaphore shared by every process of an org, on Redis: leased slots, FIFO waiting.

Why by hand: the libraries that offer a Redis semaphore either hold slots with no expiry (a
killed process leaks its slot for good), or expire them on each client's own clock, or let
waiters poll in no order (a busy process with many waiters starves a quiet one), or are
synchronous. What is needed here is small: three sorted sets and three Lua scripts.

Keys (`prefix` is per org and per pool: the org's cap, and Zoho's sub-concurrency):

    <prefix>:holders   token  -> lease expiry (ms, Redis TIME)
    <prefix>:queue     ticket -> arrival number (INCR of <prefix>:seq): the FIFO order
    <prefix>:alive     ticket -> expiry of the waiter (ms): dead processes leave the queue
    <backoff>          ms (Redis TIME) until which nobody is granted a slot (a 429 from Zoho)

- Leases are read and written on Redis's clock (`TIME` inside the scripts), so clock skew
  between processes and hosts cannot shorten or stretch them.
- A holder renews every lease it holds (and its place in the queue) every `lease / 3`
  seconds; a process that dies (kill -9, a lost host) stops renewing and its slots are free
  again within `lease` seconds. A renewal also re-registers what this process holds, so after
  Redis restarts empty the slots really in use are counted again within one renewal.
- Waiting is FIFO across processes: a free slot goes to the oldest live ticket, whoever holds
  it. Each process has one pump task that tries for its waiting tickets in one script call,
  woken by a release elsewhere (a pub/sub message naming the processes whose waiters are
  next in line, sent only when a slot is left for them), by a new waiter, or by a short
  poll (slots freed by expiry announce nothing). A release is the same script: it frees the
  slot and, in the same call, hands it to this process's waiter when that waiter is the
  oldest, with no second round trip.
- Each such call names only this process's oldest `cap` waiting tickets, and the new ones
  the queue has not seen yet: one call grants at most `cap` slots, to the queue's oldest
  tickets, and a process's younger tickets queue behind its own older ones, so they could
  not be among them. The script's work per call stays bounded however long the queue grows
  (a busy service has dozens waiting); the renewer keeps every waiting ticket alive.
- A process sends its script calls for one semaphore one at a time, each naming what the
  answers before it left: a call slowed on its way (a new connection, a busy machine) could
  otherwise name a ticket that another call has since granted and given back, and queue it
  again (at the queue's head it would hold back a free slot from every process until it
  expired), or renew a lease already released (a slot lost for a lease).
- A caller that waits past its deadline leaves the queue and gets `SlotTimeoutError`.

Redis errors are raised to the caller as `redis.RedisError` (the limiter decides what then:
see `sergas.org.limiter`); leases already granted simply expire if they cannot be released.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from typing import Any

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

__all__ = ["LeasedSemaphore"]

log = structlog.get_logger("sergas.org")

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# KEYS: holders, queue, alive, seq, backoff
# ARGV: cap, lease_ms, alive_ms, token to release or "", channel, ticket...
# -> {granted tickets, ms of org-wide backoff left}
ACQUIRE = (
    _NOW
    + """
local cap, lease, alive = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local released = ARGV[4] ~= '' and redis.call('ZREM', KEYS[1], ARGV[4]) == 1
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local dead = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
for _, ticket in ipairs(dead) do
  redis.call('ZREM', KEYS[2], ticket)
  redis.call('ZREM', KEYS[3], ticket)
end
local mine = {}
for i = 6, #ARGV do
  local ticket = ARGV[i]
  if not redis.call('ZSCORE', KEYS[1], ticket) then
    mine[ticket] = true
    if not redis.call('ZSCORE', KEYS[2], ticket) then
      redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[4]), ticket)
    end
    redis.call('ZADD', KEYS[3], now + alive, ticket)
  end
end
local until_ms = tonumber(redis.call('GET', KEYS[5]) or '0')
if until_ms > now then
  return {{}, until_ms - now}
end
local granted = {}
local free = cap - redis.call('ZCARD', KEYS[1])
if free > 0 then
  for _, ticket in ipairs(redis.call('ZRANGE', KEYS[2], 0, free - 1)) do
    if mine[ticket] then
      redis.call('ZREM', KEYS[2], ticket)
      redis.call('ZREM', KEYS[3], ticket)
      redis.call('ZADD', KEYS[1], now + lease, ticket)
      granted[#granted + 1] = ticket
    end
  end
end
if released and free > #granted then
  local owners, seen = {}, {}
  for _, ticket in ipairs(redis.call('ZRANGE', KEYS[2], 0, free - #granted - 1)) do
    local owner = string.match(ticket, '^(.*):[^:]*$') or ticket
    if not seen[owner] then
      seen[owner] = true
      owners[#owners + 1] = owner
    end
  end
  if #owners > 0 then
    redis.call('PUBLISH', ARGV[5], table.concat(owners, ' '))
  end
end
return {granted, 0}
"""
)

# KEYS: holders, queue, alive; ARGV: lease_ms, alive_ms, n_held, held..., waiting...
RENEW = (
    _NOW
    + """
local lease, alive, held = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
for i = 4, 3 + held do
  redis.call('ZADD', KEYS[1], now + lease, ARGV[i])
end
for i = 4 + held, #ARGV do
  if redis.call('ZSCORE', KEYS[2], ARGV[i]) then
    redis.call('ZADD', KEYS[3], now + alive, ARGV[i])
  end
end
return redis.call('ZCARD', KEYS[1])
"""
)

# KEYS: backoff; ARGV: ms -> the ms until the backoff ends (the longer of the two wins)
BACKOFF = (
    _NOW
    + """
local until_ms = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current >= until_ms then
  return current - now
end
redis.call('SET', KEYS[1], until_ms, 'PX', tonumber(ARGV[1]) + 1000)
return until_ms - now
"""
)

# KEYS: holders, queue, alive -> {holders with lease ms left..., waiting, now}
SNAPSHOT = (
    _NOW
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local holders = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local waiting = redis.call('ZRANGE', KEYS[2], 0, -1)
return {holders, waiting, now}
"""
)


class LeasedSemaphore:
    """`cap` slots shared under `prefix` by every process using the same Redis.

    `token = await sem.acquire(max_wait)`; `await sem.release(token)`. `max_wait` None waits
    without limit; past it, `TimeoutError` (the limiter turns it into
    `SlotTimeoutError`). `owner` (the process's client id) prefixes every token, so a
    snapshot tells which process holds what.
    """

    def __init__(
        self,
        client: aioredis.Redis,
        prefix: str,
        cap: int,
        *,
        owner: str,
        backoff_key: str,
        channel: str,
        lease: float = 10.0,
        poll: float = 0.1,
    ) -> None:
        if cap < 1 or lease <= 0:
            raise ValueError("a semaphore needs a cap of at least 1 and a positive lease")
        self.client = client
        self.cap = cap
        self.owner = owner
        self.lease = lease
        self.poll = poll
        self.channel = channel
        self.keys = [f"{prefix}:holders", f"{prefix}:queue", f"{prefix}:alive", f"{prefix}:seq"]
        self.backoff_key = backoff_key
        self._acquire = client.register_script(ACQUIRE)
        self._renew = client.register_script(RENEW)
        self._backoff = client.register_script(BACKOFF)
        self._snapshot = client.register_script(SNAPSHOT)
        self._numbers = itertools.count(1)
        self._waiting: dict[str, asyncio.Future[None]] = {}  # oldest first
        self._unsent: dict[str, None] = {}  # waiting tickets the queue has not seen yet
        self._held: set[str] = set()
        self._wake = asyncio.Event()
        self._calls = asyncio.Lock()  # one script call at a time (see the module docstring)
        self._pump: asyncio.Task[None] | None = None
        self._renewer: asyncio.Task[None] | None = None
        self.lost = 0  # renewals that failed (leases that may have expired while held)

    @property
    def held(self) -> int:
        return len(self._held)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def wake(self, owners: str | None = None) -> None:
        """Try again now for the waiting tickets: a slot was released somewhere and this
        process is among `owners` (space-separated; None: whoever)."""
        if owners is None or self.owner in owners.split(" "):
            self._wake.set()

    async def acquire(self, max_wait: float | None = None) -> str:
        """A slot's token, waiting in FIFO order; `TimeoutError` after `max_wait` seconds."""
        ticket = f"{self.owner}:{next(self._numbers)}"
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[ticket] = future
        self._unsent[ticket] = None
        self._start()
        self._wake.set()
        try:
            async with asyncio.timeout(max_wait):
                await future
        except BaseException:
            # Cancelled or past the deadline: the future is cancelled with us, unless the
            # slot was granted just before; then it is given back.
            self._waiting.pop(ticket, None)
            self._unsent.pop(ticket, None)
            if future.done() and not future.cancelled() and future.exception() is None:
                self._held.discard(ticket)
                await self._give_back(ticket)  # granted as the deadline passed
            else:
                future.cancel()
                with contextlib.suppress(RedisError, OSError):
                    async with self._calls:  # after any call that named it
                        await self.client.zrem(self.keys[1], ticket)
            raise
        return ticket

    async def release(self, token: str) -> None:
        """Give the slot back (a Redis error here is raised; the lease then expires)."""
        self._held.discard(token)
        await self._give_back(token)

    async def backoff(self, seconds: float) -> float:
        """Grant no slot, org-wide, for `seconds` (a longer backoff already set wins);
        the seconds it now lasts."""
        left = await self._backoff(keys=[self.backoff_key], args=[max(1, int(seconds * 1000))])
        return int(left) / 1000

    async def snapshot(self) -> dict[str, Any]:
        """Holders by process, leases, and the queue, as Redis has them now."""
        holders, waiting, now = await self._snapshot(keys=self.keys[:3])
        by_owner: dict[str, int] = {}
        leases = []
        for token, expiry in zip(holders[::2], holders[1::2], strict=True):
            owner = _owner(_text(token))
            by_owner[owner] = by_owner.get(owner, 0) + 1
            leases.append((float(expiry) - int(now)) / 1000)
        waiting_by: dict[str, int] = {}
        for ticket in waiting:
            owner = _owner(_text(ticket))
            waiting_by[owner] = waiting_by.get(owner, 0) + 1
        return {
            "cap": self.cap,
            "in_use": sum(by_owner.values()),
            "in_use_by_client": by_owner,
            "waiting": len(waiting),
            "waiting_by_client": waiting_by,
            "lease_left_min": min(leases) if leases else None,
        }

    async def aclose(self) -> None:
        """Stop this process's tasks; waiting callers get `RedisError`; held leases expire."""
        for task in (self._pump, self._renewer):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, RedisError, OSError):
                    await task
        self._pump = self._renewer = None
        self._fail_waiters(RedisError("the org's semaphore was closed"))

    # -- internals --------------------------------------------------------------------------

    def _start(self) -> None:
        if self._pump is None or self._pump.done():
            self._pump = asyncio.create_task(self._run_pump(), name="sergas-org-slots")
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.create_task(self._run_renewer(), name="sergas-org-leases")

    async def _run_pump(self) -> None:
        try:
            while self._waiting:
                self._wake.clear()
                backoff_ms = await self._exchange("")
                if not self._waiting:
                    break
                wait = max(self.poll, int(backoff_ms) / 1000) if backoff_ms else self.poll
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await self._wake.wait()
        except (RedisError, OSError) as exc:
            self._fail_waiters(exc)

    def _fail_waiters(self, exc: BaseException) -> None:
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(exc)
                future.exception()  # retrieved: a caller that left must not warn
        self._waiting.clear()
        self._unsent.clear()

    async def _run_renewer(self) -> None:
        interval = self.lease / 3
        while self._held or self._waiting:
            await asyncio.sleep(interval)
            try:
                await self._renew_all()
            except (RedisError, OSError) as exc:
                self.lost += 1
                log.warning("could not renew the org's slot leases", error=str(exc))

    async def _renew_all(self) -> None:
        async with self._calls:
            held, waiting = list(self._held), list(self._waiting)
            if not held and not waiting:
                return
            await self._renew(
                keys=self.keys[:3],
                args=[
                    int(self.lease * 1000),
                    int(self.lease * 1000),
                    len(held),
                    *held,
                    *waiting,
                ],
            )

    def _candidates(self) -> list[str]:
        """The tickets one call names: the oldest `cap` waiting, and any the queue has not
        seen (in the order they came, which becomes their place in the queue)."""
        oldest = list(itertools.islice(self._waiting, self.cap))
        return oldest + [t for t in self._unsent if t not in oldest]

    async def _give_back(self, token: str) -> None:
        await self._exchange(token)

    async def _exchange(self, release: str) -> int:
        """Release `release` (if not ""), try for the waiting tickets, hand the granted ones
        to their callers; the ms of org-wide backoff left."""
        releases = [release]
        async with self._calls:
            while True:
                tickets = self._candidates()
                granted, backoff_ms = await self._acquire(
                    keys=[*self.keys, self.backoff_key],
                    args=[
                        self.cap,
                        int(self.lease * 1000),
                        int(self.lease * 1000),
                        releases.pop(0),
                        self.channel,
                        *tickets,
                    ],
                )
                for ticket in tickets:
                    self._unsent.pop(ticket, None)
                for raw in granted:
                    ticket = _text(raw)
                    future = self._waiting.pop(ticket, None)
                    if future is None or future.done():
                        releases.append(ticket)  # its caller left meanwhile
                    else:
                        self._held.add(ticket)
                        future.set_result(None)
                if not releases:
                    return int(backoff_ms)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _owner(token: str) -> str:
    """`host:pid` from `host:pid:n`."""
    return token.rsplit(":", 1)[0]
