"""The tiers' circuit breakers, shared by every process of the org through Redis.

A Zoho outage is found once: when one process opens a tier's breaker, it writes
`sergas:{org}:breaker:<tier>` (expiring after the breaker's recovery timeout, on Redis's
clock) and announces it; every other process opens its own breaker for the time left. When
that time has passed, one process only wins `…:<tier>:trial` (SET NX, leased for the
recovery timeout) and runs the half-open trial calls; the others stay open. Its verdict is
announced: closed (the others close) or open again (the others open again). A trial process
that dies leaves the lease to expire, and another wins it.

Failures are counted per process (each process's own consecutive failures open the breaker);
the open state and the trials are what is shared. Messages carry the sender's client id, so
a process ignores its own. Redis failures leave each breaker working on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

import structlog

from sergas.org.client import client_id

if TYPE_CHECKING:
    import redis.asyncio as aioredis

__all__ = ["POLL", "Breaker", "SharedBreakers", "share_breakers"]


class Breaker(Protocol):
    """What is shared of `sergas.manager.breaker.CircuitBreaker` (this package sits below
    the manager, so it names no manager type)."""

    recovery_timeout: float

    @property
    def state(self) -> Any: ...  # a BreakerState: "closed", "open" or "half_open"

    def is_open(self) -> bool: ...
    def add_listener(self, listener: Callable[[Any], None]) -> None: ...
    def set_trial_gate(self, gate: Callable[[], bool] | None) -> None: ...
    def force_open(self, retry_in: float, reason: str) -> None: ...
    def force_close(self, reason: str) -> None: ...


log = structlog.get_logger("sergas.org")
POLL = 0.5  # seconds between looks at the shared state (the messages are the fast path)


class SharedBreakers:
    def __init__(self, client: aioredis.Redis, org: str, breakers: Mapping[str, Breaker]) -> None:
        self.client = client
        self.breakers = dict(breakers)
        self.prefix = f"sergas:{{{org}}}:breaker"
        self.channel = f"{self.prefix}s"
        self.me = client_id()
        self._trial: dict[str, bool] = dict.fromkeys(self.breakers, False)
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop = asyncio.get_running_loop()
        for name, breaker in self.breakers.items():
            breaker.add_listener(self._announce)
            breaker.set_trial_gate(self._gate(name))

    def _gate(self, name: str) -> Callable[[], bool]:
        return lambda: self._trial[name]

    async def run(self) -> None:
        """Follow the other processes' transitions until cancelled."""
        from redis.exceptions import RedisError  # only with Redis configured

        while True:
            try:
                async with self.client.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self.channel)
                    while True:
                        await self._poll()
                        message = await pubsub.get_message(timeout=POLL)
                        while message is not None:
                            self._apply(message["data"])
                            message = await pubsub.get_message(timeout=0)
            except (RedisError, OSError) as exc:
                log.warning("shared circuit breakers unreachable", error=str(exc))
                await asyncio.sleep(1.0)

    async def _poll(self) -> None:
        """Open what is open org-wide; when an org-wide opening has run out, try to become
        the process that sends the trial calls."""
        for name, breaker in self.breakers.items():
            key = f"{self.prefix}:{name}"
            left = int(await self.client.pttl(key))
            if left > 0:
                if breaker.state == "closed":
                    breaker.force_open(left / 1000, "open in another process")
                continue
            if breaker.is_open() and not self._trial[name]:
                won = await self.client.set(
                    f"{key}:trial", self.me, nx=True, px=int(breaker.recovery_timeout * 1000)
                )
                self._trial[name] = bool(won)

    def _apply(self, raw: bytes | str) -> None:
        try:
            message = json.loads(raw)
            breaker = self.breakers[message["tier"]]
        except (ValueError, KeyError, TypeError):
            return
        if message.get("client") == self.me:
            return
        if message["state"] == "open":
            breaker.force_open(float(message["retry_in"]), "open in another process")
        elif message["state"] == "closed":
            breaker.force_close("closed by another process's trial calls")

    def _announce(self, change: Any) -> None:  # a StateChange
        if change.remote or change.new == "half_open":
            return
        task = self._loop.create_task(self._publish(change))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _publish(self, change: Any) -> None:
        name, breaker = change.breaker, self.breakers[change.breaker]
        key = f"{self.prefix}:{name}"
        timeout = breaker.recovery_timeout
        from redis.exceptions import RedisError

        with contextlib.suppress(RedisError, OSError):
            async with self.client.pipeline(transaction=True) as pipe:
                if change.new == "open":
                    pipe.set(key, self.me, px=int(timeout * 1000))
                else:
                    pipe.delete(key)
                pipe.delete(f"{key}:trial")
                state = "open" if change.new == "open" else "closed"
                body = {"tier": name, "state": state, "client": self.me, "retry_in": timeout}
                pipe.publish(self.channel, json.dumps(body))
                await pipe.execute()
        self._trial[name] = False


@contextlib.asynccontextmanager
async def share_breakers(
    client: aioredis.Redis | None, org: str, breakers: Mapping[str, Breaker]
) -> AsyncIterator[SharedBreakers | None]:
    """Share `breakers` through `client` until the block ends (nothing without a client)."""
    if client is None:
        yield None
        return
    shared = SharedBreakers(client, org, breakers)
    task = asyncio.get_running_loop().create_task(shared.run(), name="sergas-org-breakers")
    try:
        yield shared
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        for breaker in breakers.values():
            breaker.set_trial_gate(None)
