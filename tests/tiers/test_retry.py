"""RetryPolicy: which errors are retried, for reads and for inserts, and how often.
(tests/tiers/conftest.py keeps stamina in testing mode: attempts as configured, no sleeps.)"""

from __future__ import annotations

import pytest

from sergas import errors
from sergas.settings import load_settings
from sergas.tiers.retry import RetryPolicy, should_retry, should_retry_insert


class Flaky:
    """Fails with the given errors in turn, then returns "done"; counts its calls."""

    def __init__(self, *failures: errors.SergasError) -> None:
        self.failures = list(failures)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "done"


def server() -> errors.SergasError:
    return errors.ServerError("boom", http_status=503)


async def test_retryable_errors_are_retried_until_success() -> None:
    flaky = Flaky(server(), errors.ConnectionError("down"), errors.TimeoutError("slow"))
    assert await RetryPolicy(attempts=4).call(flaky) == "done"
    assert flaky.calls == 4


async def test_attempts_run_out_with_the_last_error() -> None:
    flaky = Flaky(server(), server(), errors.RateLimitError("slow down"))
    with pytest.raises(errors.RateLimitError):
        await RetryPolicy(attempts=3).call(flaky)
    assert flaky.calls == 3


@pytest.mark.parametrize(
    "error",
    [
        errors.InvalidDataError("bad"),
        errors.NotFoundError("gone"),
        errors.AuthError("no"),
        errors.TokenExpiredError("refreshed once already"),  # retryable, but an AuthError
    ],
)
async def test_business_and_auth_errors_are_not_retried(error: errors.SergasError) -> None:
    flaky = Flaky(error)
    with pytest.raises(type(error)):
        await RetryPolicy(attempts=4).call(flaky)
    assert flaky.calls == 1


async def test_an_insert_is_retried_after_429_only() -> None:
    throttled = Flaky(errors.RateLimitError("slow down"))
    assert await RetryPolicy(attempts=4).call(throttled, idempotent=False) == "done"
    assert throttled.calls == 2
    for error in (errors.TimeoutError("slow"), errors.ConnectionError("reset"), server()):
        maybe_done = Flaky(error)
        with pytest.raises(type(error)):
            await RetryPolicy(attempts=4).call(maybe_done, idempotent=False)
        assert maybe_done.calls == 1


def test_hooks_honour_retry_after() -> None:
    assert should_retry(errors.RateLimitError("x", retry_after=7)) == 7.0
    assert should_retry(errors.RateLimitError("x")) is True
    assert should_retry_insert(errors.RateLimitError("x", retry_after=2)) == 2.0
    assert should_retry(ValueError("not ours")) is False


def test_policy_from_settings() -> None:
    settings = load_settings(
        SERGAS_RETRY_ATTEMPTS=6,
        SERGAS_RETRY_WAIT_INITIAL=0.2,
        SERGAS_RETRY_WAIT_MAX=3,
        SERGAS_RETRY_TIMEOUT=30,
    )
    policy = RetryPolicy.from_settings(settings)
    assert (policy.attempts, policy.wait_initial, policy.wait_max, policy.timeout) == (
        6,
        0.2,
        3.0,
        30.0,
    )
