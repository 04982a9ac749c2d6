"""The org's daily API credits: what every call cost, org-wide, over Zoho's rolling 24 hours.

The window is `limits`' sliding-window counter (a day's count plus the weighted count of the
day before: two keys per org, whatever the traffic), in memory for one process or in Redis
for all of them; Redis keeps its time on its own clock, so hosts need not agree on the time.

Zoho's own count wins when it sends one: an answer carrying `X-API-CREDITS-REMAINING` (sent
once half of the day's credits are used) is kept as an observation, and until it is an hour
old the remaining credits are that figure less what Sergas spent since. That corrects the
ledger for the org's other API clients, which Sergas cannot see.

`remaining()` is what the reserve is checked against (`sergas.org.limiter`). Recording does
not wait: credits are added by one task per process, started `COALESCE_SECONDS` after the
first credit not yet sent and sending everything recorded meanwhile, and again while its
last write was under way (at most one write per round trip, however busy the process,
rather than a task and a window update for every call). Reading sends what is pending at
once and waits for it, so this process's reads are exact; other processes see its credits
up to `COALESCE_SECONDS` late.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any

from limits import RateLimitItemPerDay
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

if TYPE_CHECKING:
    import redis.asyncio as aioredis

__all__ = ["COALESCE_SECONDS", "OBSERVATION_TTL", "CreditLedger"]

OBSERVATION_TTL = 3600.0  # seconds Zoho's figure is trusted, counting our spending since
COALESCE_SECONDS = 0.05  # credits recorded within this are sent in one write


class CreditLedger:
    """Credits spent by every process of one org (`key`), against a daily `budget`."""

    def __init__(
        self,
        budget: int,
        key: str,
        *,
        client: aioredis.Redis | None = None,
    ) -> None:
        """Shared through `client`'s connection pool when given, else in this process."""
        self.budget = budget
        self.key = key
        self.item = RateLimitItemPerDay(budget)
        self.storage: Storage = (
            _redis_storage(
                "async+redis://",  # the connection comes from the pool, not this URL
                implementation="redispy",
                key_prefix="sergas:credits",
                connection_pool=client.connection_pool,  # passed on to redis-py
            )
            if client is not None
            else MemoryStorage()
        )
        self.window = SlidingWindowCounterRateLimiter(self.storage)
        self.client = client  # where Zoho's observation is kept, when shared
        self._observed: tuple[int, int, float] | None = None  # remaining, our used, when
        self.spent = 0  # by this process
        self.unrecorded = 0  # credits whose write failed (Redis down)
        self._pending = 0
        self._writer: asyncio.Task[None] | None = None
        self._soon: asyncio.TimerHandle | None = None

    @property
    def shared(self) -> bool:
        return self.client is not None

    def record(self, credits: int) -> None:
        """Count `credits` spent now (a day that is already spent stays at its budget)."""
        if credits <= 0:
            return
        self.spent += credits
        self._pending += credits
        if self._soon is None and not self._writing():  # a running write takes them too
            self._soon = asyncio.get_running_loop().call_later(COALESCE_SECONDS, self._start)

    async def flush(self) -> None:
        """Write the credits recorded so far now, and wait for them."""
        if self._soon is not None:
            self._soon.cancel()
            self._start()
        if self._writer is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._writer)

    def _writing(self) -> bool:
        return self._writer is not None and not self._writer.done()

    def _start(self) -> None:
        self._soon = None
        if not self._writing():
            self._writer = asyncio.get_running_loop().create_task(self._write())

    async def _write(self) -> None:
        while self._pending:
            credits, self._pending = self._pending, 0
            try:
                await self.window.hit(self.item, self.key, cost=min(credits, self.budget))
            except Exception:  # Redis down: counted as unrecorded, shown in the org's status
                self.unrecorded += credits

    async def used(self) -> int:
        """Credits the ledger counts in the last 24 hours."""
        await self.flush()
        stats = await self.window.get_window_stats(self.item, self.key)
        return self.budget - stats.remaining

    async def observe(self, remaining: int) -> None:
        """Zoho said `remaining` credits are left now."""
        used = await self.used()
        if self.client is not None:
            await self.client.set(
                self._observation_key, f"{remaining}:{used}", px=int(OBSERVATION_TTL * 1000)
            )
        else:
            self._observed = (remaining, used, time.monotonic())

    async def remaining(self) -> int:
        """The org's credits left: Zoho's latest figure less our spending since, else ours."""
        used = await self.used()
        ours = max(0, self.budget - used)
        observed = await self._observation()
        if observed is None:
            return ours
        remaining, used_then = observed
        return max(0, min(ours, remaining - max(0, used - used_then)))

    async def snapshot(self) -> dict[str, Any]:
        used = await self.used()
        return {
            "budget": self.budget,
            "used": used,
            "remaining": await self.remaining(),
            "spent_by_this_process": self.spent,
            "unrecorded": self.unrecorded,
            "zoho_reported": await self._observation() is not None,
        }

    async def aclose(self) -> None:
        """Finish the writes under way; stop the in-memory window's expiry task."""
        await self.flush()
        timer = getattr(self.storage, "timer", None)
        if timer is not None:
            timer.cancel()

    @property
    def _observation_key(self) -> str:
        return f"sergas:credits:{self.key}:zoho"

    async def _observation(self) -> tuple[int, int] | None:
        if self.client is None:
            if self._observed is None:
                return None
            remaining, used, when = self._observed
            if time.monotonic() - when > OBSERVATION_TTL:
                self._observed = None
                return None
            return remaining, used
        raw = await self.client.get(self._observation_key)
        if raw is None:
            return None
        left, spent = (raw.decode() if isinstance(raw, bytes) else raw).split(":")
        return int(left), int(spent)


def _redis_storage(*args: Any, **kwargs: Any) -> Storage:
    """`limits`' Redis storage, imported only when Redis is configured."""
    from limits.aio.storage import RedisStorage

    return RedisStorage(*args, **kwargs)
