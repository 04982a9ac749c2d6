"""Fixtures for the official-SDK fidelity suite; the machinery is in tests/fidelity/sdk.py."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from tests.fidelity.sdk import SDK_LOGGER, SDKLog, SDKSession, sdk_session

from sergas.sandbox.config import SandboxConfig
from sergas.sandbox.server import RunningSandbox, serve_sandbox


@pytest.fixture(scope="session")
def sdk_log_handler() -> Iterator[SDKLog]:
    handler = SDKLog()
    logger = logging.getLogger(SDK_LOGGER)
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


@pytest.fixture(autouse=True)
def sdk_log(sdk_log_handler: SDKLog) -> Iterator[SDKLog]:
    """Fails the test when the SDK logged a warning, an error or a swallowed exception."""
    sdk_log_handler.records.clear()
    yield sdk_log_handler
    problems = sdk_log_handler.problems()
    sdk_log_handler.records.clear()
    assert not problems, "the SDK logged problems:\n" + "\n".join(problems)


@pytest.fixture(scope="module")
def sdk_sandbox() -> Iterator[RunningSandbox]:
    """The sandbox a module's `sdk` session talks to; modules may override it."""
    with serve_sandbox(SandboxConfig(accounts=300, bulk_job_seconds=0.2)) as running:
        yield running


@pytest.fixture(scope="module")
def sdk(
    sdk_sandbox: RunningSandbox,
    tmp_path_factory: pytest.TempPathFactory,
    sdk_log_handler: SDKLog,
) -> Iterator[SDKSession]:
    """The SDK initialized against `sdk_sandbox` for the whole module."""
    with sdk_session(sdk_sandbox, tmp_path_factory.mktemp("sdk")) as session:
        problems = sdk_log_handler.problems()
        assert not problems, "the SDK logged problems while initializing:\n" + "\n".join(problems)
        yield session
