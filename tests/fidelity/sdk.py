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
- every test runs under `sdk_log` (conftest.py), which fails the test if the SDK logged a
  warning, an error or one of its swallowed "Exception in ..." messages.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store.file_store import FileStore
from zohocrmsdk.src.com.zoho.api.logger import Logger
from zohocrmsdk.src.com.zoho.crm.api.dc import DataCenter
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig

from sergas.sandbox.config import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN
from sergas.sandbox.server import RunningSandbox

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
