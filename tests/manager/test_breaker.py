"""The circuit breaker's states, driven by a clock that moves only when told to."""

from __future__ import annotations

import asyncio
import threading

import pytest
from tests.manager.support import FakeClock

from sergas import errors
from sergas.manager.breaker import BreakerState, CircuitBreaker, StateChange


def make(clock: FakeClock, success_threshold: int = 2) -> tuple[CircuitBreaker, list[StateChange]]:
    changes: list[StateChange] = []
    breaker = CircuitBreaker(
        "rest",
        failure_threshold=5,
        recovery_timeout=60,
        success_threshold=success_threshold,
        clock=clock,
        listeners=[changes.append],
    )
    return breaker, changes


def fail(breaker: CircuitBreaker, exc: Exception | None = None) -> None:
    breaker.record_failure(breaker.acquire(), exc or errors.ServerError("boom"))


def succeed(breaker: CircuitBreaker) -> None:
    breaker.record_success(breaker.acquire())


def test_opens_after_five_consecutive_tier_health_failures(clock: FakeClock) -> None:
    breaker, changes = make(clock)
    for _ in range(4):
        fail(breaker)
    assert breaker.state is BreakerState.CLOSED
    fail(breaker, errors.TimeoutError("slow"))
    assert breaker.state is BreakerState.OPEN
    assert [(c.old, c.new) for c in changes] == [(BreakerState.CLOSED, BreakerState.OPEN)]
    with pytest.raises(errors.CircuitOpenError, match="rest: circuit open"):
        breaker.acquire()


def test_a_success_resets_the_consecutive_count(clock: FakeClock) -> None:
    breaker, _ = make(clock)
    for _ in range(4):
        fail(breaker)
    succeed(breaker)
    for _ in range(4):
        fail(breaker)
    assert breaker.state is BreakerState.CLOSED


@pytest.mark.parametrize(
    "exc",
    [
        errors.NotFoundError("no such record"),
        errors.InvalidDataError("bad field"),
        errors.AuthError("no scope"),
        errors.RateLimitError("credits"),
    ],
)
def test_business_errors_never_trip_it(clock: FakeClock, exc: Exception) -> None:
    breaker, _ = make(clock)
    for _ in range(20):
        fail(breaker, exc)
    assert breaker.state is BreakerState.CLOSED
    assert breaker.status()["failure_count"] == 0


def test_half_open_after_the_timeout_without_sleeping(clock: FakeClock) -> None:
    breaker, changes = make(clock)
    for _ in range(5):
        fail(breaker)
    clock.advance(59.9)
    assert breaker.state is BreakerState.OPEN
    assert breaker.status()["retry_in"] == pytest.approx(0.1)
    clock.advance(0.1)
    assert breaker.state is BreakerState.HALF_OPEN
    assert changes[-1].new is BreakerState.HALF_OPEN


def test_closes_after_two_trial_successes(clock: FakeClock) -> None:
    breaker, changes = make(clock)
    for _ in range(5):
        fail(breaker)
    clock.advance(60)
    succeed(breaker)
    assert breaker.state is BreakerState.HALF_OPEN
    succeed(breaker)
    assert breaker.state is BreakerState.CLOSED
    assert [c.new for c in changes] == [
        BreakerState.OPEN,
        BreakerState.HALF_OPEN,
        BreakerState.CLOSED,
    ]
    # closed again: it takes five new failures to reopen
    for _ in range(4):
        fail(breaker)
    assert breaker.state is BreakerState.CLOSED


def test_a_half_open_failure_reopens_for_a_full_timeout(clock: FakeClock) -> None:
    breaker, _ = make(clock)
    for _ in range(5):
        fail(breaker)
    clock.advance(60)
    succeed(breaker)
    fail(breaker)
    assert breaker.state is BreakerState.OPEN
    assert breaker.status()["times_opened"] == 2
    clock.advance(59)
    with pytest.raises(errors.CircuitOpenError):
        breaker.acquire()
    clock.advance(1)
    assert breaker.state is BreakerState.HALF_OPEN


def test_half_open_admits_only_as_many_trials_as_it_needs(clock: FakeClock) -> None:
    breaker, _ = make(clock)
    for _ in range(5):
        fail(breaker)
    clock.advance(60)
    first, second = breaker.acquire(), breaker.acquire()
    assert first.trial and second.trial
    with pytest.raises(errors.CircuitOpenError, match="trial calls are in flight"):
        breaker.acquire()
    breaker.release(first)  # e.g. cancelled: frees its slot, no verdict
    third = breaker.acquire()
    breaker.record_success(second)
    breaker.record_success(third)
    assert breaker.state is BreakerState.CLOSED


def test_outcomes_from_before_a_transition_are_ignored(clock: FakeClock) -> None:
    breaker, _ = make(clock)
    slow = breaker.acquire()  # started while closed
    for _ in range(5):
        fail(breaker)
    breaker.record_success(slow)  # finishes after the breaker opened
    assert breaker.state is BreakerState.OPEN


def test_reset_closes_and_forgets(clock: FakeClock) -> None:
    breaker, changes = make(clock)
    for _ in range(5):
        fail(breaker)
    breaker.reset()
    assert breaker.state is BreakerState.CLOSED
    assert changes[-1].reason == "reset"
    assert breaker.status()["failure_count"] == 0


def test_status_is_a_plain_dict(clock: FakeClock) -> None:
    breaker, _ = make(clock)
    fail(breaker)
    status = breaker.status()
    assert status == {
        "name": "rest",
        "state": "closed",
        "failure_count": 1,
        "success_count": 0,
        "failure_threshold": 5,
        "success_threshold": 2,
        "recovery_timeout": 60,
        "retry_in": None,
        "times_opened": 0,
        "rejected": 0,
        "last_failure": "INTERNAL_ERROR",
    }


def test_a_failing_listener_does_not_break_the_call(clock: FakeClock) -> None:
    def bad(change: StateChange) -> None:
        raise RuntimeError("listener bug")

    seen: list[StateChange] = []
    breaker = CircuitBreaker("sdk", failure_threshold=1, clock=clock, listeners=[bad, seen.append])
    fail(breaker)
    assert breaker.state is BreakerState.OPEN
    assert len(seen) == 1


async def test_call_wraps_a_coroutine(clock: FakeClock) -> None:
    breaker, _ = make(clock)

    async def ok() -> str:
        return "ok"

    async def down() -> str:
        raise errors.ConnectionError("refused")

    assert await breaker.call(ok) == "ok"
    for _ in range(5):
        with pytest.raises(errors.ConnectionError):
            await breaker.call(down)
    with pytest.raises(errors.CircuitOpenError):
        await breaker.call(ok)


async def test_cancelled_trial_frees_its_slot(clock: FakeClock) -> None:
    breaker, _ = make(clock, success_threshold=1)
    for _ in range(5):
        fail(breaker)
    clock.advance(60)
    in_trial, never = asyncio.Event(), asyncio.Event()

    async def hold_the_slot() -> None:
        in_trial.set()
        await never.wait()  # until cancelled

    task = asyncio.create_task(breaker.call(hold_the_slot))
    await in_trial.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert breaker.state is BreakerState.HALF_OPEN
    succeed(breaker)  # the slot is free again
    assert breaker.state is BreakerState.CLOSED


def test_consistent_under_threads(clock: FakeClock) -> None:
    breaker = CircuitBreaker("rest", failure_threshold=10**9, clock=clock)
    barrier = threading.Barrier(8)

    def work() -> None:
        barrier.wait()
        for _ in range(2_000):
            fail(breaker)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert breaker.status()["failure_count"] == 16_000


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="thresholds"):
        CircuitBreaker("rest", failure_threshold=0)
