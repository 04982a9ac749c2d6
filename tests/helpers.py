"""Small helpers shared by tests."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
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


def process_running(pid: int) -> bool:
    """Whether process `pid` exists and has not exited (a zombie, exited but not reaped
    yet, counts as exited). Linux: read from /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def child_processes(parent: int, command: str) -> list[int]:
    """The running children of process `parent` whose command line contains `command`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:  # it ended meanwhile
            continue
        if int(fields[1]) == parent and fields[0] != "Z" and command.encode() in cmdline:
            found.append(int(stat.parent.name))
    return found


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
