"""The tiers' breakers shared through a real Redis: an outage found by one process opens the
breaker in the other, only one of them sends the half-open trial calls, and its verdict
closes (or reopens) the breaker everywhere."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from tests.helpers import wait_until_async
from tests.org.conftest import RedisServer

from sergas.errors import CircuitOpenError, ServerError
from sergas.manager.breaker import BreakerState, CircuitBreaker
from sergas.org import redis_client
from sergas.org.breakers import SharedBreakers, share_breakers


@contextlib.asynccontextmanager
async def process(url: str, name: str) -> AsyncIterator[tuple[CircuitBreaker, SharedBreakers]]:
    """One process's REST breaker, shared (its client id is `name`)."""
    client = redis_client(url)
    breaker = CircuitBreaker("rest", failure_threshold=2, recovery_timeout=1.0, success_threshold=1)
    async with share_breakers(client, "org", {"rest": breaker}) as shared:
        assert shared is not None
        shared.me = name
        yield breaker, shared
    await client.aclose()


def fail(breaker: CircuitBreaker) -> None:
    breaker.record_failure(breaker.acquire(), ServerError("Zoho failed"))


async def test_an_outage_found_once_opens_every_process_and_one_runs_the_trials(
    redis_server: RedisServer,
) -> None:
    async with (
        process(redis_server.url, "host-a:1") as (a, _),
        process(redis_server.url, "host-b:2") as (b, _),
    ):
        await asyncio.sleep(0.1)
        fail(a)
        fail(a)
        assert a.state is BreakerState.OPEN
        await wait_until_async(lambda: b.is_open(), what="b to open", timeout=3)
        with pytest.raises(CircuitOpenError):
            b.acquire()

        # After the recovery timeout exactly one process may send trial calls.
        await asyncio.sleep(1.2)
        await wait_until_async(
            lambda: BreakerState.HALF_OPEN in (a.state, b.state), what="a trial", timeout=3
        )
        states = sorted([a.state.value, b.state.value])
        assert states == ["half_open", "open"]
        trial = a if a.state is BreakerState.HALF_OPEN else b
        other = b if trial is a else a
        with pytest.raises(CircuitOpenError):
            other.acquire()
        trial.record_success(trial.acquire())
        assert trial.state is BreakerState.CLOSED
        await wait_until_async(
            lambda: other.state is BreakerState.CLOSED, what="the other to close", timeout=3
        )


async def test_a_failed_trial_reopens_every_process(redis_server: RedisServer) -> None:
    async with (
        process(redis_server.url, "host-a:1") as (a, _),
        process(redis_server.url, "host-b:2") as (b, _),
    ):
        await asyncio.sleep(0.1)
        fail(a)
        fail(a)
        await wait_until_async(lambda: b.is_open(), what="b to open", timeout=3)
        await asyncio.sleep(1.2)
        await wait_until_async(
            lambda: BreakerState.HALF_OPEN in (a.state, b.state), what="a trial", timeout=3
        )
        trial = a if a.state is BreakerState.HALF_OPEN else b
        other = b if trial is a else a
        fail(trial)
        assert trial.state is BreakerState.OPEN
        # The other hears it: open again, for a new recovery timeout.
        await wait_until_async(
            lambda: (other.status()["retry_in"] or 0) > 0.5, what="the other to reopen", timeout=3
        )
        assert other.state is BreakerState.OPEN
