"""Small helpers shared by tests."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import httpx2
import pytest
from starlette.applications import Starlette

from sergas.sandbox.config import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN
from sergas.sandbox.server import asgi_client

T = TypeVar("T")

# How often the waits below look again; short, since what they wait for is usually quick.
POLL_SECONDS = 0.01


def wait_until(predicate: Callable[[], T], *, what: str, timeout: float = 10.0) -> T:
    """Call `predicate` until it returns something truthy, and return that.

    For waits on observable state (the sandbox's /__sandbox/stats, a log line, a file, a
    process) instead of a sleep of a guessed length. After `timeout` seconds the test fails,
    saying what it waited for and what it saw last. `what` reads after "waited for": "the
    sandbox to answer".
    """
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            pytest.fail(f"waited {timeout:g} s for {what}; last saw {result!r}")
        time.sleep(POLL_SECONDS)


async def wait_until_async(
    predicate: Callable[[], T | Awaitable[T]],
    *,
    what: str,
    timeout: float = 10.0,  # noqa: ASYNC109 - on expiry the test fails saying `what`
) -> T:
    """`wait_until` inside an event loop: the loop runs other tasks between looks, and
    `predicate` may be a coroutine function."""
    deadline = time.monotonic() + timeout
    while True:
        found = predicate()
        result = await found if inspect.isawaitable(found) else found
        if result:
            return result
        if time.monotonic() >= deadline:
            pytest.fail(f"waited {timeout:g} s for {what}; last saw {result!r}")
        await asyncio.sleep(POLL_SECONDS)


REFRESH_FORM = {
    "grant_type": "refresh_token",
    "client_id": CLIENT_ID,
    "client_secret": CLIENT_SECRET,
    "refresh_token": REFRESH_TOKEN,
}


async def new_token(client: httpx2.AsyncClient) -> str:
    response = await client.post("/oauth/v2/token", data=REFRESH_FORM)
    token: str = response.json()["access_token"]
    return token


async def reauthorize(client: httpx2.AsyncClient) -> None:
    """Swap the client's token for a fresh one (after a clock move or a reset)."""
    client.headers["Authorization"] = f"Zoho-oauthtoken {await new_token(client)}"


@asynccontextmanager
async def authed_client(app: Starlette) -> AsyncIterator[httpx2.AsyncClient]:
    async with asgi_client(app) as client:
        await reauthorize(client)
        yield client
