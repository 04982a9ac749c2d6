"""Retries for every tier: exponential backoff with jitter, through `stamina`.

    policy = RetryPolicy.from_settings(settings)
    records = await policy.call(lambda: fetch_page(3))                  # a read: retried
    created = await policy.call(lambda: insert(rows), idempotent=False)  # an insert

What is retried is decided by the error, never by the caller's guess:

- `SergasError.retryable` errors only: connection errors, timeouts, 5xx, 429;
- never an `AuthError` (TokenExpiredError included): the auth hook has already refreshed and
  resent once, so another attempt would only burn Zoho's 10-refreshes-in-10-minutes budget;
- never an error already `retried` by the layer that raised it: a token that could not be
  had (the refresh retries its own connection), so the two policies never multiply;
- a non-idempotent call (an insert, a bulk job creation) is retried only after a 429, which
  Zoho answers before doing any work; after a timeout or a dropped connection the insert may
  have happened, so the error goes to the caller instead of a blind resend.

A `RateLimitError` carrying `retry_after` waits exactly that long; otherwise waits grow from
SERGAS_RETRY_WAIT_INITIAL towards SERGAS_RETRY_WAIT_MAX, for at most SERGAS_RETRY_ATTEMPTS
attempts within SERGAS_RETRY_TIMEOUT seconds. Tests call `stamina.set_testing(True, ...)` so
nothing sleeps. Each attempt re-runs the wrapped coroutine function, so with an httpx2 client
every retry goes through the auth hook again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import stamina

from sergas.errors import AuthError, RateLimitError, SergasError

if TYPE_CHECKING:
    from sergas.settings import Settings

__all__ = ["RetryPolicy", "should_retry", "should_retry_insert"]

T = TypeVar("T")


def should_retry(exc: Exception) -> bool | float:
    """stamina's backoff hook for idempotent calls: False, True, or a wait in seconds."""
    if not isinstance(exc, SergasError) or not exc.retryable or exc.retried:
        return False
    if isinstance(exc, AuthError):
        return False
    if isinstance(exc, RateLimitError) and exc.retry_after:
        return float(exc.retry_after)
    return True


def should_retry_insert(exc: Exception) -> bool | float:
    """The hook for non-idempotent calls: only Zoho's 429, which proves nothing was done."""
    return should_retry(exc) if isinstance(exc, RateLimitError) else False


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry one logical operation."""

    attempts: int = 4
    wait_initial: float = 0.5
    wait_max: float = 10.0
    wait_jitter: float = 1.0
    timeout: float | None = 120.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            attempts=settings.retry_attempts,
            wait_initial=settings.retry_wait_initial,
            wait_max=settings.retry_wait_max,
            wait_jitter=min(1.0, settings.retry_wait_initial or 1.0),
            timeout=settings.retry_timeout,
        )

    async def call(self, fn: Callable[[], Awaitable[T]], *, idempotent: bool = True) -> T:
        """Await `fn()` until it succeeds, raises a non-retryable error, or attempts run out
        (then the last error is raised unchanged).

        The first attempt runs outside stamina: the calls that succeed (nearly all) then pay
        nothing for the retry machinery (about 40 µs a call). After a retryable failure,
        stamina takes over with that failure replayed as its first attempt, so it counts the
        attempts, waits, and reports retries exactly as if it had run them all."""
        hook = should_retry if idempotent else should_retry_insert
        try:
            return await fn()
        except Exception as exc:
            if not hook(exc):
                raise
            first: Exception | None = exc
        async for attempt in stamina.retry_context(
            on=hook,
            attempts=self.attempts,
            timeout=self.timeout,
            wait_initial=self.wait_initial,
            wait_max=self.wait_max,
            wait_jitter=self.wait_jitter,
        ):
            with attempt:
                if first is not None:
                    failed, first = first, None
                    raise failed
                return await fn()
        raise AssertionError("unreachable: stamina re-raises the last error")  # pragma: no cover
