"""Zoho's official SDK (zohocrmsdk8-0) inside Sergas: one initialization per process, its
logger, and how one call runs.

Process-global state
--------------------
The SDK keeps its whole configuration in one class attribute, `Initializer.initializer`:
environment (URLs), token, token store, field-metadata directory and SDKConfig. Every SDK
call reads it, so **a process talks to one Zoho environment, as one user, through the SDK**:

- `attach()` initializes the SDK on first use; a later client for the same target only
  re-points the SDK's token store at itself (an attribute, no I/O). A client for another
  user, region, URL or data directory, while one is still open, raises ConfigError. Once
  every client is closed, the next one re-initializes for its own target.
- `Initializer.switch_user()` is not used: it binds the new user to the calling *thread*
  (a thread-local) and looks the token up again, so with a pool of worker threads it would
  have to run before every call on every thread. Run one process per Zoho user, or use the
  REST tier, which has no global state.
- Thread safety: each SDK call builds its own handler and `requests` call (no shared
  session, hence no keep-alive), takes its token from our store (thread-safe), and the SDK
  serializes its field-metadata cache behind a global lock. Sergas runs the calls in a
  bounded pool of worker threads (see `sergas.tiers.sdk`).

Logging: the SDK logs every request (URL, parameters, headers with the Authorization value
masked) to the `SDKLogger` logger. That logger is detached from the root logger here (before
the SDK's first line) and forwarded to Sergas's logger `sergas.tiers.sdk` through
`redact()`, at debug level (warnings stay warnings), so nothing the SDK writes reaches a
handler unredacted, nor a handler of the program that uses Sergas.

Calls: `invoke()` runs one SDK operation in a worker thread, resends once after a 401
INVALID_TOKEN (with a de-duplicated refresh by our TokenManager), and maps every failure
through `sdk_errors`, including the ones the SDK only logs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zohocrmsdk.src.com.zoho.api.authenticator.store.token_store import TokenStore
from zohocrmsdk.src.com.zoho.api.logger import Logger
from zohocrmsdk.src.com.zoho.crm.api.dc import DataCenter
from zohocrmsdk.src.com.zoho.crm.api.exception import SDKException
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.parameter_map import ParameterMap
from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig
from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature

from sergas import errors
from sergas.auth.sdk import SDKTokenStore
from sergas.errors import SergasError, redact
from sergas.log import get_logger
from sergas.settings import Settings
from sergas.tiers.sdk_errors import checked, sdk_error, zoho_code

__all__ = [
    "SDKTarget",
    "TierTokenStore",
    "attach",
    "detach",
    "initializations",
    "invoke",
    "parameters",
    "sdk_config",
]

log = get_logger("sergas.tiers.sdk")

SDK_LOGGER = "SDKLogger"
_SWALLOWED = "Exception in current API call execution"
_local = threading.local()


# -- what one initialization is for -------------------------------------------------------


@dataclass(frozen=True)
class SDKTarget:
    """The Zoho environment, user and metadata directory the SDK is initialized for."""

    api_domain: str
    token_url: str
    upload_url: str
    explicit_urls: bool
    user: str
    resource_path: Path

    @classmethod
    def from_settings(cls, settings: Settings, user: str) -> SDKTarget:
        # An API domain alone may still be one of Zoho's (sandbox., developer.): see below.
        explicit = bool(settings.zoho_accounts_url or settings.zoho_file_upload_url)
        return cls(
            api_domain=settings.api_domain,
            token_url=settings.token_url,
            upload_url=settings.file_upload_url,
            explicit_urls=explicit,
            user=user,
            resource_path=settings.data_path / "zoho-sdk",
        )

    def environment(self) -> Any:
        """Zoho's own DataCenter environment for one of Zoho's API domains (unless the token
        or upload URL is set explicitly); a custom one otherwise (the sandbox, a proxy)."""
        if not self.explicit_urls:
            known = DataCenter.get(self.api_domain)
            if known is not None:
                return known
        return DataCenter.Environment(self.api_domain, self.token_url, self.upload_url)


def sdk_config(timeout: float) -> Any:
    """auto_refresh_fields=False: fetch a module's fields on first use only (one call, cached
    on disk) instead of every module's fields and an hourly re-check. pick_list_validation
    =False: Zoho validates picklists itself and answers per record (INVALID_DATA), where the
    SDK would raise for the whole batch. update_api_domain keeps its default; the SDK never
    parses a token answer here (our store hands it the token). The timeouts (SERGAS_HTTP_TIMEOUT)
    reach only GET requests: the SDK sends PUT and POST without any."""
    return SDKConfig(
        auto_refresh_fields=False,
        pick_list_validation=False,
        connect_timeout=timeout,
        read_timeout=timeout,
    )


class TierTokenStore(SDKTokenStore):
    """The auth adapter, remembering per thread which access token the SDK was handed, so a
    401 INVALID_TOKEN can name the token that failed (and the refresh stays de-duplicated)."""

    def find_token_by_id(self, id: str) -> Any:
        token = super().find_token_by_id(id)
        _local.token = token.get_access_token() if token is not None else None
        return token

    def last_token(self) -> str | None:
        token: str | None = getattr(_local, "token", None)
        return token


class _ClosedStore(TokenStore):  # type: ignore[misc]  # the SDK is untyped
    """Bound once every client has closed: a stray call fails at once instead of waiting on
    an event loop that is gone."""

    def find_token_by_id(self, id: str) -> Any:
        raise errors.ConfigError("the Zoho SDK tier is closed; open a new ZohoSDKClient")

    def find_token(self, token: Any) -> Any:
        return self.find_token_by_id("")

    def get_tokens(self) -> list[Any]:
        return []

    def save_token(self, token: Any) -> None:
        return None

    def delete_token(self, id: str) -> None:
        return None

    def delete_tokens(self) -> None:
        return None


# -- the one initialization --------------------------------------------------------------


class _Runtime:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.target: SDKTarget | None = None
        self.initializer: Any = None
        self.stores: list[SDKTokenStore] = []
        self.count = 0


_runtime = _Runtime()


def initializations() -> int:
    """How many times this process has initialized the SDK."""
    return _runtime.count


def attach(target: SDKTarget, store: SDKTokenStore, config: Any) -> None:
    """Initialize the SDK for `target` if needed; make `store` its token store and `config`
    (`sdk_config()`) its configuration: the newest client's win. Blocking (the first time it
    asks the store for a token): call it from a worker thread."""
    with _runtime.lock:
        current = Initializer.initializer
        ours = current is not None and current is _runtime.initializer
        if ours and _runtime.target == target:
            current.store = store
            current.sdk_config = config
        elif ours and _runtime.stores:
            raise errors.ConfigError(
                "the Zoho SDK is initialized once per process and already serves "
                f"{_runtime.target.user if _runtime.target else '?'!r} at another target; "
                "close that client first, or use one process per Zoho user and environment"
            )
        else:
            _initialize(target, store, config)
        _runtime.stores.append(store)


def detach(store: SDKTokenStore) -> None:
    """Forget `store`; the SDK stays initialized, bound to another open client or to none."""
    with _runtime.lock:
        if store in _runtime.stores:
            _runtime.stores.remove(store)
        initializer = _runtime.initializer
        if initializer is None or Initializer.initializer is not initializer:
            return
        if initializer.store is store:
            initializer.store = _runtime.stores[-1] if _runtime.stores else _ClosedStore()


def _initialize(target: SDKTarget, store: SDKTokenStore, config: Any) -> None:
    target.resource_path.mkdir(parents=True, exist_ok=True, mode=0o700)
    token = store.sdk_token()
    # The SDK names its field cache after the token's user signature, or failing that after
    # a prefix of the access token; a fixed signature keeps one cache and no token on disk.
    token.set_user_signature(UserSignature(store.token_id))
    # Before and after: initialize() logs to SDKLogger (the root's handlers would show it),
    # and its SDKLogger set-up changes the logger's level.
    _configure_logger()
    try:
        Initializer.initialize(
            environment=target.environment(),
            token=token,
            store=store,
            sdk_config=config,
            resource_path=str(target.resource_path),
            logger=Logger.get_instance(Logger.Levels.INFO),
        )
    except BaseException as exc:
        Initializer.initializer = None  # it is set before the token is fetched
        _runtime.initializer = _runtime.target = None
        if isinstance(exc, SDKException):
            raise sdk_error(exc) from None
        raise
    finally:
        _configure_logger()
    _runtime.initializer = Initializer.initializer
    _runtime.target = target
    _runtime.count += 1
    log.info("zoho sdk initialized", api_domain=target.api_domain, user=target.user)


# -- the SDK's logger ----------------------------------------------------------------------


class _Bridge(logging.Handler):
    """SDKLogger → structlog, redacted; keeps this thread's last swallowed exception."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = redact(record.getMessage())
        except Exception:  # a message that cannot be formatted is not worth a crash
            return
        if text.startswith(_SWALLOWED):
            _local.swallowed = text
        if record.levelno >= logging.WARNING:
            log.warning("zoho sdk", sdk_message=text)
        else:
            log.debug("zoho sdk", sdk_message=text)


_bridge = _Bridge(level=logging.DEBUG)


def _configure_logger() -> None:
    logger = logging.getLogger(SDK_LOGGER)
    logger.setLevel(logging.INFO)  # its swallowed exceptions are logged at INFO
    logger.propagate = False
    if _bridge not in logger.handlers:
        logger.addHandler(_bridge)


# -- the error boundary --------------------------------------------------------------------


def invoke(
    store: TierTokenStore,
    call: Callable[..., Any],
    args: tuple[Any, ...],
    after: Callable[[Any], Any] | None = None,
    with_status: bool = False,
) -> Any:
    """Run one SDK operation in this worker thread: `after(model)` of its checked answer (the
    model itself without `after`; None for 204/304), as `(http_status, value)` when
    `with_status`. SDK exceptions and Zoho's error answers become Sergas errors; a 401
    INVALID_TOKEN refreshes (de-duplicated) and resends once."""
    response = _once(call, args)
    if _invalid_token(response):
        store.force_refresh(store.last_token(), "sdk 401 INVALID_TOKEN")
        response = _once(call, args)
    model = checked(response)
    value = after(model) if after is not None else model
    return (response.get_status_code(), value) if with_status else value


def parameters(*pairs: tuple[Any, Any]) -> Any:
    """A ParameterMap of (Param, value) pairs, None values left out. The SDK checks values as
    they are added; its refusals map like those of its calls."""
    params = ParameterMap()
    try:
        for param, value in pairs:
            if value is not None:
                params.add(param, value)
    except SDKException as exc:
        raise sdk_error(exc) from None
    return params


def _once(call: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    _local.swallowed = None
    try:
        response = call(*args)
    except SDKException as exc:
        raise sdk_error(exc) from None
    if response is None:
        text = getattr(_local, "swallowed", None) or "the Zoho SDK returned no response"
        raise SergasError(text, code="SDK_ERROR", tier_health=True)
    return response


def _invalid_token(response: Any) -> bool:
    if response.get_status_code() != 401:
        return False
    return zoho_code(response.get_object()) in ("INVALID_TOKEN", "INVALID_OAUTHTOKEN")
