"""The org's limits in front of every call to Zoho: slots, credits, backoff, in one `run`.

    OrgLimiter.run(heavy, credits, attempt)
      background work?  the credit reserve (CreditReserveError), Redis reachable
                        (CoordinationError: background work fails closed)
      a slot            of the org's cap, and of the sub-concurrency of 10 for heavy calls:
                        Redis's leased slots shared by every process (SERGAS_REDIS_URL), else
                        this process's own; none within SERGAS_SLOT_TIMEOUT → SlotTimeoutError
      attempt()         Zoho's X-API-CREDITS-REMAINING corrects the ledger; a 429 from Zoho
                        (another client of the org) backs every process off, honouring
                        Retry-After; `answered()`, called from inside it, gives the slot back
                        early (see below)
      credits           recorded org-wide after a successful call

The slot is given back when `attempt()` returns, or earlier, once: a tier whose library still
has work to do after Zoho's answer has arrived (the MCP tier: reading the JSON-RPC answer,
validating the tool's result) calls `answered()` from its HTTP layer as soon as a successful
answer is in, and the org's slot goes to the next caller while that work is done. Nothing
more is sent to Zoho in that call after it; an error or a 429 is never "answered", so those
keep the slot until `attempt()` ends, as every call without the hook does.

When Redis is configured but down, interactive calls degrade to this process's limits (a
warning in the log, `sergas_org_degraded` 1 in /metrics) and Redis is tried again a second
later; background work is refused until it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import structlog

from sergas.errors import (
    CoordinationError,
    CreditReserveError,
    RateLimitError,
    SlotTimeoutError,
)
from sergas.org.client import client_id, credits_observer
from sergas.org.credits import CreditLedger
from sergas.org.work import current_work

if TYPE_CHECKING:
    import redis.asyncio as aioredis

__all__ = [
    "DEFAULT_BACKOFF",
    "RETRY_REDIS_AFTER",
    "LocalSlots",
    "OrgLimiter",
    "SharedSlots",
    "answered",
    "awaiting_answer",
]

T = TypeVar("T")
log = structlog.get_logger("sergas.org")

DEFAULT_BACKOFF = 1.0  # seconds every process holds off after a 429 without Retry-After
RETRY_REDIS_AFTER = 1.0  # seconds between tries of a Redis that failed
Release = Callable[[], Awaitable[None]]

# The slot of the call `OrgLimiter.run` is sending from this context: its early release.
_answered: ContextVar[Release | None] = ContextVar("sergas_org_answered", default=None)


def awaiting_answer() -> bool:
    """Whether a call sent from here holds a slot that `answered()` would give back."""
    return _answered.get() is not None


async def answered() -> None:
    """Zoho has answered the current call successfully and nothing more of it will be sent:
    its org slot goes back now rather than when the tier's call returns. Once per call; later
    calls, and calls outside `OrgLimiter.run`, do nothing."""
    release = _answered.get()
    if release is not None:
        await release()


def redis_down() -> tuple[type[BaseException], ...]:
    """What a failed Redis call raises: the socket's errors and redis-py's own. redis-py is
    imported only once Redis is configured (it takes ~0.2 s), and until then nothing can
    raise its errors, so they are looked up where they would be, not imported here."""
    exceptions = sys.modules.get("redis.exceptions")
    if exceptions is None:
        return (OSError,)
    return (exceptions.RedisError, OSError)


class LocalSlots:
    """This process's slots (asyncio's semaphores wake waiters in FIFO order)."""

    def __init__(self, cap: int, heavy_cap: int) -> None:
        self.cap, self.heavy_cap = cap, heavy_cap
        self._slots = asyncio.Semaphore(cap)
        self._heavy = asyncio.Semaphore(heavy_cap)
        self._backoff_until = 0.0
        self.in_use = 0
        self.waiting = 0

    async def acquire(self, heavy: bool, max_wait: float | None) -> Release:
        if self._free(heavy):  # nothing to wait for: no deadline to arm (most calls)
            await self._slots.acquire()
            if heavy:
                await self._heavy.acquire()
            return self._held(heavy)
        self.waiting += 1
        try:
            async with asyncio.timeout(max_wait):
                left = self._backoff_until - time.monotonic()
                if left > 0:
                    await asyncio.sleep(left)
                if heavy:
                    await self._heavy.acquire()
                try:
                    await self._slots.acquire()
                except BaseException:
                    if heavy:
                        self._heavy.release()
                    raise
        finally:
            self.waiting -= 1
        return self._held(heavy)

    def _free(self, heavy: bool) -> bool:
        return (
            not self._slots.locked()
            and not (heavy and self._heavy.locked())
            and self._backoff_until <= time.monotonic()
        )

    def _held(self, heavy: bool) -> Release:
        self.in_use += 1

        async def release() -> None:
            self.in_use -= 1
            self._slots.release()
            if heavy:
                self._heavy.release()

        return release

    def backoff(self, seconds: float) -> float:
        self._backoff_until = max(self._backoff_until, time.monotonic() + seconds)
        return self._backoff_until - time.monotonic()

    def snapshot(self) -> dict[str, Any]:
        me = client_id()
        return {
            "cap": self.cap,
            "in_use": self.in_use,
            "in_use_by_client": {me: self.in_use} if self.in_use else {},
            "waiting": self.waiting,
            "waiting_by_client": {me: self.waiting} if self.waiting else {},
        }


class SharedSlots:
    """The org's slots in Redis: the cap and the heavy sub-concurrency, as leased semaphores,
    woken by one pub/sub subscription per process."""

    def __init__(
        self, client: aioredis.Redis, org: str, cap: int, heavy_cap: int, *, lease: float
    ) -> None:
        from sergas.org.semaphore import LeasedSemaphore  # redis, only when configured

        self.client = client
        self.channel = f"sergas:{{{org}}}:released"
        backoff = f"sergas:{{{org}}}:backoff"
        common: dict[str, Any] = {
            "owner": client_id(),
            "backoff_key": backoff,
            "channel": self.channel,
            "lease": lease,
        }
        self.general = LeasedSemaphore(client, f"sergas:{{{org}}}:slots", cap, **common)
        self.heavy = LeasedSemaphore(client, f"sergas:{{{org}}}:heavy", heavy_cap, **common)
        self._listener: asyncio.Task[None] | None = None

    async def acquire(self, heavy: bool, max_wait: float | None) -> Release:
        self._listen()
        loop = asyncio.get_running_loop()
        deadline = None if max_wait is None else loop.time() + max_wait
        heavy_token = await self.heavy.acquire(max_wait) if heavy else None
        try:
            left = None if deadline is None else max(0.0, deadline - loop.time())
            token = await self.general.acquire(left)
        except BaseException:
            if heavy_token is not None:
                with contextlib.suppress(*redis_down()):
                    await self.heavy.release(heavy_token)
            raise

        async def release() -> None:
            with contextlib.suppress(*redis_down()):  # else the leases expire
                await self.general.release(token)
                if heavy_token is not None:
                    await self.heavy.release(heavy_token)

        return release

    async def backoff(self, seconds: float) -> float:
        return await self.general.backoff(seconds)

    async def snapshot(self) -> dict[str, Any]:
        general = await self.general.snapshot()
        heavy = await self.heavy.snapshot()
        raw = await self.client.pttl(self.general.backoff_key)
        return {**general, "heavy": heavy, "backoff_left": max(0, int(raw)) / 1000}

    async def aclose(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        await self.general.aclose()
        await self.heavy.aclose()

    def _listen(self) -> None:
        if self._listener is None or self._listener.done():
            self._listener = asyncio.create_task(self._listen_forever(), name="sergas-org-pubsub")

    async def _listen_forever(self) -> None:
        """Wake the waiting tickets whenever a slot is released anywhere; reconnect after a
        Redis failure (the pumps poll meanwhile)."""
        while True:
            try:
                async with self.client.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self.channel)
                    async for message in pubsub.listen():
                        if message is not None:
                            data = message["data"]
                            owners = data.decode() if isinstance(data, bytes) else str(data)
                            self.general.wake(owners)
                            self.heavy.wake(owners)
            except redis_down():
                await asyncio.sleep(RETRY_REDIS_AFTER)


class OrgLimiter:
    """Every call to one Zoho org from this process passes `run` (see the module docstring).
    `shared` None: this process's limits only (the embedded default)."""

    def __init__(
        self,
        *,
        local: LocalSlots,
        ledger: CreditLedger,
        shared: SharedSlots | None = None,
        reserve: int = 0,
        slot_timeout: float | None = 120.0,
        org: str = "",
    ) -> None:
        self.local = local
        self.shared = shared
        self.ledger = ledger
        self.reserve = reserve
        self.slot_timeout = slot_timeout
        self.org = org
        self._down_until = 0.0
        self.degraded_since: float | None = None
        self.stats: dict[str, float] = {
            "calls": 0,
            "wait_seconds": 0.0,
            "slot_timeouts": 0,
            "refused_reserve": 0,
            "refused_coordination": 0,
            "backoffs": 0,
        }
        self.waiting = 0
        self.in_use = 0

    @property
    def mode(self) -> str:
        if self.shared is None:
            return "local"
        return "degraded" if self.degraded_since is not None else "redis"

    async def run(self, heavy: bool, credits: int, attempt: Callable[[], Awaitable[T]]) -> T:
        work = current_work()
        if work is not None:
            await self._check_reserve(work, credits)
        release = self._once(await self._acquire(heavy, work))
        reported: list[int] = []  # Zoho's X-API-CREDITS-REMAINING, this call included
        early = _answered.set(release)
        try:
            with credits_observer(reported.append):
                result = await attempt()
        except RateLimitError as exc:
            if _from_zoho(exc):
                await self.back_off(exc.retry_after or DEFAULT_BACKOFF)
            raise
        finally:
            _answered.reset(early)
            await release()
        await self._record(credits, reported[-1] if reported else None)
        return result

    async def back_off(self, seconds: float) -> None:
        """Hold every process of the org (this one only, without Redis) for `seconds`."""
        self.stats["backoffs"] += 1
        left = self.local.backoff(seconds)
        if self.shared is not None and self.degraded_since is None:
            with contextlib.suppress(*redis_down()):
                left = await self.shared.backoff(seconds)
        log.warning("Zoho answered 429: the org backs off", seconds=round(left, 3))

    async def snapshot(self) -> dict[str, Any]:
        """The org as this process sees it now (Redis's view when shared)."""
        slots: dict[str, Any]
        if self.shared is not None and self.degraded_since is None:
            try:
                slots = await self.shared.snapshot()
            except redis_down() as exc:
                self._degrade(exc)
                slots = self._local_snapshot()
        else:
            slots = self._local_snapshot()
        try:
            credits = await self.ledger.snapshot()
        except redis_down():
            credits = {"budget": self.ledger.budget, "spent_by_this_process": self.ledger.spent}
        return {
            "mode": self.mode,
            "client": client_id(),
            "slots": slots,
            "credits": {**credits, "reserve": self.reserve},
            "this_process": {**self.stats, "in_use": self.in_use, "waiting": self.waiting},
        }

    async def aclose(self) -> None:
        if self.shared is not None:
            await self.shared.aclose()
        await self.ledger.aclose()

    # -- internals --------------------------------------------------------------------------

    def _once(self, release: Release) -> Release:
        """The slot's release, counted in use until then; a second call does nothing (the
        call's end, after `answered()` gave it back)."""
        self.in_use += 1
        done = False

        async def release_once() -> None:
            nonlocal done
            if done:
                return
            done = True
            self.in_use -= 1
            await release()

        return release_once

    async def _check_reserve(self, work: str, credits: int) -> None:
        if self.shared is not None and not self._redis_usable():
            self._refuse_background(work, None)
        if not self.reserve:
            return
        try:
            remaining = await self.ledger.remaining()
        except redis_down() as exc:
            self._degrade(exc)
            self._refuse_background(work, exc)
        if remaining - credits < self.reserve:
            self.stats["refused_reserve"] += 1
            raise CreditReserveError(
                f"{work}: refused, the org has {remaining:,} API credits left today and "
                f"{self.reserve:,} are kept for interactive calls (SERGAS_CREDIT_RESERVE); "
                "run it when credits free up (Zoho's window is a rolling 24 hours)",
                details={"remaining": remaining, "reserve": self.reserve, "work": work},
            )

    def _refuse_background(self, work: str, exc: BaseException | None) -> NoReturn:
        self.stats["refused_coordination"] += 1
        raise CoordinationError(
            f"{work}: refused, the org's shared limits (SERGAS_REDIS_URL) cannot be reached"
            + (f" ({type(exc).__name__})" if exc else "")
            + "; background work waits for Redis rather than run unaccounted",
            details={"work": work},
        )

    async def _acquire(self, heavy: bool, work: str | None) -> Release:
        start = time.perf_counter()
        self.waiting += 1
        try:
            if self.shared is not None and self._redis_usable():
                try:
                    release = await self.shared.acquire(heavy, self.slot_timeout)
                except TimeoutError:  # the deadline (an OSError too, so first)
                    raise
                except redis_down() as exc:
                    self._degrade(exc)
                else:
                    self._restored()
                    return release
            if self.shared is not None and work is not None:
                self._refuse_background(work, None)
            return await self.local.acquire(heavy, self.slot_timeout)
        except TimeoutError:
            self.stats["slot_timeouts"] += 1
            raise SlotTimeoutError(
                f"no slot of the org's {self.local.cap} concurrent calls to Zoho within "
                f"{self.slot_timeout:g} s (SERGAS_SLOT_TIMEOUT); nothing was sent, try again "
                "later",
                details={"cap": self.local.cap, "timeout": self.slot_timeout},
            ) from None
        finally:
            self.waiting -= 1
            self.stats["calls"] += 1
            self.stats["wait_seconds"] += time.perf_counter() - start

    def _redis_usable(self) -> bool:
        return self.degraded_since is None or time.monotonic() >= self._down_until

    def _degrade(self, exc: BaseException) -> None:
        self._down_until = time.monotonic() + RETRY_REDIS_AFTER
        if self.degraded_since is None:
            self.degraded_since = time.time()
            log.warning(
                "Redis unreachable: interactive calls use this process's own limits, "
                "background work is refused until it is back",
                error=f"{type(exc).__name__}: {exc}",
            )

    def _restored(self) -> None:
        if self.degraded_since is not None:
            log.warning("Redis reachable again: the org's shared limits are back")
            self.degraded_since = None

    async def _record(self, credits: int, reported: int | None) -> None:
        if self.shared is not None and self.degraded_since is not None:
            self.ledger.unrecorded += credits
            self.ledger.spent += credits
            return
        self.ledger.record(credits)
        if reported is not None:
            try:
                await self.ledger.observe(reported)
            except redis_down() as exc:
                self._degrade(exc)

    def _local_snapshot(self) -> dict[str, Any]:
        heavy = {"cap": self.local.heavy_cap}
        left = max(0.0, self.local._backoff_until - time.monotonic())
        return {**self.local.snapshot(), "heavy": heavy, "backoff_left": left}


def _from_zoho(exc: RateLimitError) -> bool:
    """Zoho's own 429 (concurrency or credits), not Sergas's refusals or the token throttle."""
    if isinstance(exc, SlotTimeoutError | CreditReserveError):
        return False
    return exc.code == "TOO_MANY_REQUESTS" or exc.http_status == 429
