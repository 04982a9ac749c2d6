"""Fixtures shared by the whole suite: sandboxes served in process or on a loopback port."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx2
import pytest
from starlette.applications import Starlette
from tests.helpers import authed_client

from sergas.sandbox.config import SandboxConfig
from sergas.sandbox.http.app import create_app
from sergas.sandbox.server import RunningSandbox, serve_sandbox


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    """A small sandbox (300 accounts) on a free loopback port, new for each test."""
    with serve_sandbox(SandboxConfig(accounts=300)) as running:
        yield running


@pytest.fixture(scope="module")
def big_sandbox() -> Iterator[RunningSandbox]:
    """2,500 accounts, enough to page past Zoho's 2,000-record limit; shared per module."""
    with serve_sandbox(SandboxConfig(accounts=2500)) as running:
        yield running


@pytest.fixture
def sandbox_app() -> Starlette:
    """The sandbox ASGI app (300 accounts) for in-process tests."""
    return create_app(SandboxConfig(accounts=300, base_url="http://sandbox.test"))


@pytest.fixture
async def crm_client(sandbox_app: Starlette) -> AsyncIterator[httpx2.AsyncClient]:
    """An in-process client already holding a valid access token."""
    async with authed_client(sandbox_app) as client:
        yield client
