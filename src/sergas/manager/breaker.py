"""A circuit breaker per tier: CLOSED → OPEN → HALF_OPEN → CLOSED, in pybreaker's shape.

Why not a library: pybreaker holds a threading lock across the call and runs async calls only
through Tornado; aiobreaker (unmaintained since 2021) and purgatory read `datetime`/`time.time`
directly, so tests would sleep, and both close after a single trial success. We need asyncio,
an injected clock, an exclusion predicate, listeners, and M trial successes, so this is a
small class instead.

- CLOSED counts consecutive tier-health failures; at `failure_threshold` it opens.
- OPEN rejects at once (`CircuitOpenError`) until `recovery_timeout` has passed on the clock.
- HALF_OPEN lets up to `success_threshold` trial calls through at a time; that many successes
  close it, one failure reopens it.

Shared state (pybreaker's shape, where a breaker's state lives in a storage that several
processes can share): `force_open` / `force_close` apply a transition another process made,
and a `trial_gate` decides whether this process may run the half-open trials, so that with
`sergas.org.breakers` an outage found by one process opens the breaker in all of them and
only one process sends trial calls. Without it the breaker is this process's alone.

Only errors for which `counts(exc)` is true are failures (by default Sergas errors flagged
`tier_health`: 5xx, timeouts, connection errors). Any other Sergas error means the tier
answered, so it counts as a success, as in pybreaker's `exclude=`.

Thread- and task-safe: state changes happen under a `threading.Lock` that is never held
across an `await`. Each call takes a `Ticket` stamped with the state's generation; an outcome
arriving after the state moved on (a slow call from before the breaker opened) is ignored.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

import structlog

from sergas.errors import CircuitOpenError, SergasError

__all__ = [
    "BreakerState",
    "CircuitBreaker",
    "StateChange",
    "StateListener",
    "Ticket",
    "is_tier_health",
]

T = TypeVar("T")
log = structlog.get_logger("sergas.manager")


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class StateChange:
    """Sent to listeners after every transition."""

    breaker: str
    old: BreakerState
    new: BreakerState
    reason: str
    remote: bool = False  # made by another process (force_open / force_close)


StateListener = Callable[[StateChange], None]


@dataclass(frozen=True, slots=True)
class Ticket:
    """Permission for one call: the state generation it started in, and whether it is a trial."""

    generation: int
    trial: bool


def is_tier_health(exc: BaseException) -> bool:
    """The default predicate: does this error count against the tier's health?"""
    return isinstance(exc, SergasError) and exc.tier_health


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        recovery_timeout: float = 60.0,
        success_threshold: int = 2,
        clock: Callable[[], float] = time.monotonic,
        counts: Callable[[BaseException], bool] = is_tier_health,
        listeners: Iterable[StateListener] = (),
    ) -> None:
        if failure_threshold < 1 or success_threshold < 1 or recovery_timeout <= 0:
            raise ValueError("thresholds must be at least 1 and the timeout positive")
        self.name = name
        self.failure_threshold = failure_threshold
        self.recovery_timeout = recovery_timeout
        self.success_threshold = success_threshold
        self._clock = clock
        self._counts = counts
        self._listeners = list(listeners)
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._generation = 0
        self._failures = 0  # consecutive, while closed
        self._successes = 0  # trial successes, while half-open
        self._trials = 0  # trial calls in flight
        self._opened_at = 0.0
        self._times_opened = 0
        self._rejected = 0
        self._last_failure: str | None = None
        self._trial_gate: Callable[[], bool] | None = None

    def set_trial_gate(self, gate: Callable[[], bool] | None) -> None:
        """`gate()` is asked when the open timeout has passed: may this process run the
        trial calls? Until it says yes the breaker stays open here (another process tries)."""
        with self._lock:
            self._trial_gate = gate

    def force_open(self, retry_in: float, reason: str) -> None:
        """Open now because another process did; trial calls in `retry_in` seconds."""
        with self._lock:
            if self._state is BreakerState.OPEN:
                changes: list[StateChange] = []
            else:
                changes = self._move(BreakerState.OPEN, reason, remote=True)
            self._opened_at = self._clock() - self.recovery_timeout + retry_in
        self._notify(changes)

    def force_close(self, reason: str) -> None:
        """Close because another process's trial calls succeeded."""
        with self._lock:
            changes = (
                [] if self._state is BreakerState.CLOSED
                else self._move(BreakerState.CLOSED, reason, remote=True)
            )  # fmt: skip
        self._notify(changes)

    def add_listener(self, listener: StateListener) -> None:
        with self._lock:
            self._listeners.append(listener)

    @property
    def state(self) -> BreakerState:
        """The state now (an open breaker whose timeout has passed reads as half-open)."""
        with self._lock:
            changes = self._refresh()
            state = self._state
        self._notify(changes)
        return state

    def is_open(self) -> bool:
        """True while calls are rejected outright (half-open admits trials, so it is not)."""
        if self._state is BreakerState.CLOSED:  # the common case, read without the lock
            return False
        return self.state is BreakerState.OPEN

    def acquire(self) -> Ticket:
        """Permission to call, or `CircuitOpenError` at once."""
        with self._lock:
            changes = self._refresh()
            ticket = self._admit()
        self._notify(changes)
        if ticket is None:
            raise self._open_error()
        return ticket

    def record_success(self, ticket: Ticket) -> None:
        with self._lock:
            changes = self._settle(ticket, failed=False)
        self._notify(changes)

    def record_failure(self, ticket: Ticket, exc: BaseException) -> None:
        """An error ended the call: a failure if `counts(exc)`, else the tier answered."""
        failed = self._counts(exc)
        with self._lock:
            if failed:
                self._last_failure = getattr(exc, "code", type(exc).__name__)
            changes = self._settle(ticket, failed=failed)
        self._notify(changes)

    def release(self, ticket: Ticket) -> None:
        """The call ended with no verdict (cancelled, or a bug outside the tier's contract)."""
        with self._lock:
            if ticket.trial and ticket.generation == self._generation:
                self._trials -= 1

    def reset(self) -> None:
        """Close the breaker and forget its counts (an operator's decision)."""
        with self._lock:
            changes = self._move(BreakerState.CLOSED, "reset")
        self._notify(changes)

    async def call(self, func: Callable[[], Awaitable[T]]) -> T:
        """Run `func()` under the breaker."""
        ticket = self.acquire()
        try:
            result = await func()
        except Exception as exc:
            self.record_failure(ticket, exc)
            raise
        except BaseException:
            self.release(ticket)
            raise
        self.record_success(ticket)
        return result

    def status(self) -> dict[str, Any]:
        """A JSON-ready snapshot."""
        state = self.state
        with self._lock:
            retry_in = None
            if state is BreakerState.OPEN:
                retry_in = max(0.0, self._opened_at + self.recovery_timeout - self._clock())
            return {
                "name": self.name,
                "state": state.value,
                "failure_count": self._failures,
                "success_count": self._successes,
                "failure_threshold": self.failure_threshold,
                "success_threshold": self.success_threshold,
                "recovery_timeout": self.recovery_timeout,
                "retry_in": retry_in,
                "times_opened": self._times_opened,
                "rejected": self._rejected,
                "last_failure": self._last_failure,
            }

    # Everything below runs with the lock held, and returns transitions to announce.

    def _refresh(self) -> list[StateChange]:
        if self._state is BreakerState.OPEN and (
            self._clock() >= self._opened_at + self.recovery_timeout
        ):
            if self._trial_gate is not None and not self._trial_gate():
                return []  # another process runs the trials
            return self._move(BreakerState.HALF_OPEN, "recovery timeout passed")
        return []

    def _admit(self) -> Ticket | None:
        if self._state is BreakerState.CLOSED:
            return Ticket(self._generation, trial=False)
        if self._state is BreakerState.HALF_OPEN and self._trials < self.success_threshold:
            self._trials += 1
            return Ticket(self._generation, trial=True)
        self._rejected += 1
        return None

    def _settle(self, ticket: Ticket, *, failed: bool) -> list[StateChange]:
        if ticket.generation != self._generation:
            return []  # the state moved on while this call ran
        if ticket.trial:
            self._trials -= 1
        if self._state is BreakerState.CLOSED:
            self._failures = self._failures + 1 if failed else 0
            if self._failures >= self.failure_threshold:
                return self._move(BreakerState.OPEN, f"{self._failures} consecutive failures")
        elif self._state is BreakerState.HALF_OPEN:
            if failed:
                return self._move(BreakerState.OPEN, "a trial call failed")
            self._successes += 1
            if self._successes >= self.success_threshold:
                return self._move(BreakerState.CLOSED, f"{self._successes} trial successes")
        return []

    def _move(self, new: BreakerState, reason: str, *, remote: bool = False) -> list[StateChange]:
        old = self._state
        self._state = new
        self._generation += 1
        self._failures = self._successes = self._trials = 0
        if new is BreakerState.OPEN:
            self._opened_at = self._clock()
            self._times_opened += 1
        if old is new:
            return []
        return [StateChange(self.name, old, new, reason, remote)]

    def _open_error(self) -> CircuitOpenError:
        with self._lock:
            state = self._state
            retry_in = max(0.0, self._opened_at + self.recovery_timeout - self._clock())
        if state is BreakerState.HALF_OPEN:
            text = f"tier {self.name}: circuit half-open and its trial calls are in flight"
        else:
            text = f"tier {self.name}: circuit open; trial calls in {retry_in:.0f}s"
        return CircuitOpenError(text, details={"tier": self.name, "state": state.value})

    def _notify(self, changes: list[StateChange]) -> None:
        for change in changes:
            log.info(
                "circuit breaker state changed",
                tier=change.breaker,
                old=change.old.value,
                new=change.new.value,
                reason=change.reason,
            )
            for listener in list(self._listeners):
                try:
                    listener(change)
                except Exception:  # a listener must never break a call
                    log.exception("circuit breaker listener failed", tier=change.breaker)
