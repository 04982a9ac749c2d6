"""Zoho's official Python SDK (zohocrmsdk8-0), pointed at a sandbox on a loopback port.

The SDK is the witness nobody here wrote: if it parses what the sandbox sends into its own
models, the sandbox speaks Zoho's wire protocol (and not merely what our client expects).

The SDK keeps its configuration in process-global state (`Initializer.initializer`), talks
through `requests` (synchronous, real sockets) and reports many failures only through its
logger, returning None instead of raising. Hence:

- `sdk_session()` initializes it against one running sandbox, and un-initializes it on exit,
  so no test can talk to a server that is gone; a module uses one session at a time
  (the module-scoped `sdk` fixture, or function-scoped sessions in modules that need
  their own sandbox).
- every test runs under `sdk_log`, which fails the test if the SDK logged a warning, an error
  or one of its swallowed "Exception in ..." messages.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store.file_store import FileStore
from zohocrmsdk.src.com.zoho.api.logger import Logger
from zohocrmsdk.src.com.zoho.crm.api.dc import DataCenter
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig

from sergas.sandbox.config import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, SandboxConfig
from sergas.sandbox.testing import RunningSandbox, serve_sandbox

SDK_LOGGER = "SDKLogger"
# CommonAPIHandler.api_call logs these and returns None instead of raising (SDK-cah).
SWALLOWED_PREFIX = "Exception in"


class SDKLog(logging.Handler):
    """Keeps what the SDK logs, so a test can see failures the SDK swallowed."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def problems(self) -> list[str]:
        return [
            f"{r.levelname}: {r.getMessage()}"
            for r in self.records
            if r.levelno >= logging.WARNING or r.getMessage().startswith(SWALLOWED_PREFIX)
        ]

    def messages(self) -> list[str]:
        return [r.getMessage() for r in self.records]


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


@dataclass
class SDKSession:
    """One initialization of the SDK against one running sandbox."""

    running: RunningSandbox
    token: OAuthToken
    store: FileStore
    directory: Path


def environment(running: RunningSandbox) -> DataCenter.Environment:
    """The sandbox as a Zoho data centre; accounts_url is the full token URL (SDK-dc)."""
    return DataCenter.Environment(running.url, f"{running.url}/oauth/v2/token", running.url)


@contextmanager
def sdk_session(
    running: RunningSandbox,
    directory: Path,
    *,
    token: OAuthToken | None = None,
    sdk_config: SDKConfig | None = None,
) -> Iterator[SDKSession]:
    """Initialize the SDK (token store and field cache in `directory`); undo it on exit."""
    directory.mkdir(parents=True, exist_ok=True)
    token = token or OAuthToken(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, refresh_token=REFRESH_TOKEN
    )
    store = FileStore(str(directory / "sdk_tokens.csv"))
    try:
        # initialize() sets the global before it fetches the token, so undo it even when
        # the token request fails.
        Initializer.initialize(
            environment=environment(running),
            token=token,
            store=store,
            sdk_config=sdk_config or SDKConfig(auto_refresh_fields=False),
            resource_path=str(directory),
            logger=Logger.get_instance(Logger.Levels.INFO),
        )
        yield SDKSession(running, token, store, directory)
    finally:
        Initializer.initializer = None
        Initializer.LOCAL.init = None


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
