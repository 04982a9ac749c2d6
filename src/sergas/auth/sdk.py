"""Zoho's official SDK, authenticated by Sergas: an implementation of the SDK's TokenStore.

The SDK asks its store for the token before every request (`OAuthToken.get_token` →
`find_token_by_id`), and refreshes on its own only when less than 5 s of validity remain. This
store answers from TokenManager, which always hands out tokens with at least 5 minutes left,
so the SDK never refreshes. It is also given neither the refresh token nor the client secret,
so it could not refresh behind our back if it tried; `save_token`, which the SDK calls only
after minting a token itself, does not write.

Threads: the SDK is synchronous and runs in worker threads, while TokenManager is async and
bound to one event loop (its locks and its database engine). Each SDK call is therefore
submitted to that loop with `asyncio.run_coroutine_threadsafe` and waited for. The loop is
either the application's own (pass `loop=` and the manager that lives on it: the SDK then
shares the in-memory token with the HTTP tier), or a private loop in a daemon thread that
`SDKTokenStore.start()` creates and `close()` stops. Calling from the loop's own thread would
deadlock, so it raises instead.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store.token_store import TokenStore

from sergas import errors
from sergas.auth.clock import Clock
from sergas.auth.manager import AccessToken, TokenManager
from sergas.log import get_logger
from sergas.org.client import CLIENT_HEADER, client_id
from sergas.settings import Settings

__all__ = ["SDKTokenStore"]

log = get_logger("sergas.auth.sdk")
T = TypeVar("T")


class _LoopThread:
    """An event loop running forever in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="sergas-sdk-tokens", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


class _Token(OAuthToken):  # type: ignore[misc]  # the SDK is untyped
    """The SDK's token, which also names this process on every request the SDK sends
    (`X-Sergas-Client`, as `sergas.auth.hook` does for httpx2 clients)."""

    def authenticate(self, url_connection: Any) -> None:
        super().authenticate(url_connection)
        url_connection.add_header(CLIENT_HEADER, client_id())


class SDKTokenStore(TokenStore):  # type: ignore[misc]  # the SDK is untyped
    """The SDK's TokenStore, backed by TokenManager. Use `sdk_token()` as the SDK's token."""

    def __init__(
        self,
        manager: TokenManager,
        loop: asyncio.AbstractEventLoop,
        *,
        user: str | None = None,
        call_timeout: float = 60.0,
    ) -> None:
        self.manager = manager
        self.loop = loop
        self.user = user or manager.user
        self.call_timeout = call_timeout
        self.token_id = f"sergas:{self.user}"
        self._owned: _LoopThread | None = None
        self._context: AbstractAsyncContextManager[TokenManager] | None = None

    @classmethod
    def start(
        cls, settings: Settings | None = None, *, clock: Clock | None = None
    ) -> SDKTokenStore:
        """A store with its own loop thread and its own TokenManager (from settings)."""
        from sergas.auth.factory import open_token_manager

        thread = _LoopThread()
        context = open_token_manager(settings, clock=clock)
        try:
            manager = asyncio.run_coroutine_threadsafe(context.__aenter__(), thread.loop).result()
        except BaseException:
            thread.stop()
            raise
        store = cls(manager, thread.loop)
        store._owned = thread
        store._context = context
        return store

    def close(self) -> None:
        """Stop the private loop (only for stores made by `start()`)."""
        if self._owned is None or self._context is None:
            return
        self._call(self._context.__aexit__(None, None, None))
        self._owned.stop()
        self._owned = None

    def sdk_token(self) -> OAuthToken:
        """The token to pass to `Initializer.initialize(token=...)`."""
        return _Token(id=self.token_id)

    def force_refresh(self, failed_token: str | None, reason: str = "sdk 401") -> str:
        """For the SDK tier's 401 INVALID_TOKEN handling (de-duplicated like any other)."""
        return self._call(self.manager.force_refresh(reason, failed_token, self.user))

    # -- the SDK's TokenStore interface ----------------------------------------------------

    def find_token(self, token: Any) -> Any:
        if not isinstance(token, OAuthToken):
            return token
        return self._fill(token)

    def find_token_by_id(self, id: str) -> Any:
        if id != self.token_id:
            return None
        return self._fill(_Token(id=self.token_id))

    def get_tokens(self) -> list[Any]:
        return [self.find_token_by_id(self.token_id)]

    def save_token(self, token: Any) -> None:
        # Reached only if the SDK minted a token itself, which this store is built to prevent.
        log.warning("the Zoho SDK tried to save a token it obtained itself; ignored")

    def delete_token(self, id: str) -> None:
        log.warning("the Zoho SDK asked to delete a token; use `sergas auth revoke`", id=id)

    def delete_tokens(self) -> None:
        log.warning("the Zoho SDK asked to delete all tokens; use `sergas auth revoke`")

    # -- internals -------------------------------------------------------------------------

    def _fill(self, token: OAuthToken) -> OAuthToken:
        current: AccessToken = self._call(self.manager.get_token(self.user))
        token.set_id(self.token_id)
        token.set_client_id(self.manager.accounts.client_id)
        token.set_access_token(current.token)
        token.set_expires_in(str(int(current.expires_at.timestamp() * 1000)))
        if current.api_domain:
            token.set_api_domain(current.api_domain)
        return token

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        if _running_loop() is self.loop:
            coro.close()
            raise RuntimeError(
                "SDKTokenStore was called on its own event loop's thread; run the SDK in a "
                "worker thread (anyio.to_thread.run_sync / asyncio.to_thread)"
            )
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout=self.call_timeout)
        except FutureTimeout:
            future.cancel()
            raise errors.TimeoutError(
                f"no Zoho token within {self.call_timeout:g} s for the SDK"
            ) from None

    def __repr__(self) -> str:
        return f"SDKTokenStore(user={self.user!r})"


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
