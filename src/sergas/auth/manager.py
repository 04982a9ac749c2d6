"""TokenManager: a valid Zoho access token for whoever asks, refreshed once per expiry.

Three layers keep refreshes to one per expiry:

1. memory: a token with more than `buffer` (5 minutes) of validity left is returned at once;
2. an asyncio lock per key: concurrent callers in this process queue behind one refresher,
   then find its token in memory;
3. the database's token lock (`TokenStore.locked`): across processes and hosts, the
   refresher re-reads the row under the lock and refreshes only if nobody else already has.

Zoho allows 10 access tokens per refresh token in 10 minutes. Before each refresh the audit
table is consulted under the same lock, so the count is shared by every process; at the limit,
after Zoho's own throttle answer, or after Zoho rejected the refresh token, we raise instead of
sending. A refusal is also remembered in memory until it expires, so callers in this process
do not each hit the database for it. The attempt is recorded (committed) before the request
is sent and its outcome after, so a refresh whose answer is never stored still counts.

A lost database connection (the server restarted, an administrator ended it) fails the call
that was using it; the whole read-lock-refresh is retried a few times on a new connection. A
token Zoho minted just before the connection was lost is stored by the retry rather than asked
for again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import stamina

from sergas import errors
from sergas.auth.accounts import UNREACHABLE, AccountsClient, TokenGrant
from sergas.auth.clock import Clock, SystemClock
from sergas.auth.store import (
    COUNTED_OUTCOMES,
    AuditEntry,
    LockedToken,
    Outcome,
    StoredToken,
    TokenKey,
    TokenStore,
)
from sergas.errors import AuthError, ConfigError, DatabaseError, RateLimitError, SergasError
from sergas.log import get_logger

__all__ = ["AccessToken", "TokenManager", "TokenStatus"]

log = get_logger("sergas.auth")

_LOGIN_HINT = "run `sergas auth login --code <grant code>`"


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A usable access token. `repr()` omits the token."""

    token: str = field(repr=False)
    expires_at: datetime
    api_domain: str | None
    generation: int


@dataclass(slots=True)
class _Pending:
    """What one call carries across its retries: a token Zoho minted whose storing failed."""

    grant: TokenGrant | None = None
    expires_at: datetime | None = None
    attempt: int = 0
    latency_ms: float = 0.0
    refresh_fp: str = ""


def _lost_connection(exc: Exception) -> bool:
    return isinstance(exc, DatabaseError) and exc.retryable


@dataclass(frozen=True, slots=True)
class TokenStatus:
    key: TokenKey
    stored: bool
    expires_at: datetime | None
    expires_in: timedelta | None
    generation: int
    recent: list[AuditEntry]


class TokenManager:
    """Hands out access tokens for one OAuth client (any number of users) from a TokenStore.

    A manager belongs to one event loop (its locks and the store's engine do). From threads,
    use `sergas.auth.sdk.SDKTokenStore`, which runs calls on the manager's loop.
    """

    def __init__(
        self,
        store: TokenStore,
        accounts: AccountsClient,
        *,
        user: str = "default",
        seed_refresh_token: str | None = None,
        clock: Clock | None = None,
        buffer: timedelta = timedelta(minutes=5),
        max_refreshes: int = 10,
        window: timedelta = timedelta(minutes=10),
        throttle_backoff: timedelta = timedelta(minutes=2),
        db_attempts: int = 5,
    ) -> None:
        self.store = store
        self.accounts = accounts
        self.user = user
        self._seed = seed_refresh_token
        self.clock = clock or SystemClock()
        self.buffer = buffer
        self.max_refreshes = max_refreshes
        self.window = window
        self.throttle_backoff = throttle_backoff
        self.db_attempts = db_attempts
        self._cache: dict[TokenKey, AccessToken] = {}
        self._locks: dict[TokenKey, asyncio.Lock] = {}
        # (key, refresh-token fingerprint) -> (until, error): refusals remembered in memory
        self._blocked: dict[tuple[TokenKey, str], tuple[datetime, SergasError]] = {}

    def __repr__(self) -> str:
        return f"TokenManager({self.accounts!r}, user={self.user!r})"

    def key(self, user: str | None = None) -> TokenKey:
        return TokenKey(self.accounts.accounts_url, self.accounts.client_id, user or self.user)

    # -- the public operations -----------------------------------------------------------

    async def get_access_token(self, user: str | None = None) -> str:
        """A token valid for more than `buffer`; refreshes (once, for everyone) if needed."""
        return (await self.get_token(user)).token

    async def get_token(self, user: str | None = None) -> AccessToken:
        key = self.key(user)
        cached = self._cache.get(key)
        if cached is not None and self._fresh(cached):
            return cached
        async with self._lock(key):
            cached = self._cache.get(key)
            if cached is not None and self._fresh(cached):
                return cached

            async def current(pending: _Pending) -> AccessToken:
                stored = await self._stored(key)
                if stored.usable(self.clock.now(), self.buffer):
                    return self._remember(stored)
                return await self._refresh(stored, "expiring", None, pending, forced=False)

            return await self._retrying(current)

    async def force_refresh(
        self, reason: str, failed_token: str | None, user: str | None = None
    ) -> str:
        """Replace a token Zoho refused (401 INVALID_TOKEN). De-duplicated: if the stored
        token already differs from `failed_token`, that one is returned and nothing is sent.
        With `failed_token=None` the refresh is unconditional."""
        key = self.key(user)
        async with self._lock(key):
            cached = self._cache.get(key)
            if (
                failed_token is not None
                and cached is not None
                and cached.token != failed_token
                and self._fresh(cached)
            ):
                return cached.token

            async def replaced(pending: _Pending) -> AccessToken:
                stored = await self._stored(key)
                return await self._refresh(stored, reason, failed_token, pending, forced=True)

            return (await self._retrying(replaced)).token

    async def login(self, code: str, user: str | None = None) -> StoredToken:
        """Exchange a self-client grant code and store the tokens (replacing any row)."""
        key = self.key(user)
        started = time.perf_counter()
        grant = await self.accounts.exchange_code(code)
        latency = (time.perf_counter() - started) * 1000
        assert grant.refresh_token is not None
        async with self._lock(key):
            stored = await self.store.put(
                key,
                refresh_token=grant.refresh_token,
                access_token=grant.access_token,
                expires_at=self.clock.now() + timedelta(seconds=grant.expires_in),
                api_domain=grant.api_domain,
            )
            # The exchange minted the new refresh token's first access token: it counts.
            async with self.store.locked(key) as row:
                await row.audit("login", Outcome.SUCCESS, latency_ms=latency)
            self._remember(stored)
        log.info("zoho login stored", user=key.user, client_id=key.client_id)
        return stored

    async def revoke(self, user: str | None = None) -> bool:
        """Revoke the refresh token at Zoho and delete the row. False if none was stored."""
        key = self.key(user)
        async with self._lock(key):
            stored = await self.store.get(key)
            if stored is None:
                return False
            try:
                await self.accounts.revoke(stored.refresh_token)
            except AuthError as exc:  # already revoked or unknown at Zoho: forget it anyway
                log.info("zoho did not know the refresh token", user=key.user, code=exc.code)
            await self.store.delete(key)
            self._cache.pop(key, None)
        log.info("zoho refresh token revoked", user=key.user, client_id=key.client_id)
        return True

    async def status(self, user: str | None = None, *, audit_rows: int = 5) -> TokenStatus:
        """What is stored, without refreshing: expiry and the latest audit rows."""
        key = self.key(user)
        stored = await self.store.get(key)
        now = self.clock.now()
        return TokenStatus(
            key=key,
            stored=stored is not None,
            expires_at=stored.expires_at if stored and stored.access_token else None,
            expires_in=stored.valid_for(now) if stored and stored.access_token else None,
            generation=stored.generation if stored else 0,
            recent=await self.store.recent_audit(key, audit_rows),
        )

    async def aclose(self) -> None:
        await self.accounts.aclose()

    def forget(self) -> None:
        """Drop the in-memory tokens (the next call reads the store)."""
        self._cache.clear()
        self._blocked.clear()

    # -- internals -----------------------------------------------------------------------

    def _lock(self, key: TokenKey) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    def _fresh(self, token: AccessToken) -> bool:
        return token.expires_at - self.clock.now() > self.buffer

    def _remember(self, stored: StoredToken) -> AccessToken:
        assert stored.access_token is not None
        assert stored.expires_at is not None
        token = AccessToken(
            stored.access_token, stored.expires_at, stored.api_domain, stored.generation
        )
        self._cache[stored.key] = token
        return token

    async def _stored(self, key: TokenKey) -> StoredToken:
        """The key's row; seeded from ZOHO_REFRESH_TOKEN the first time."""
        stored = await self.store.get(key)
        if stored is None and self._seed:
            if await self.store.seed(key, self._seed):
                log.info("token store seeded from ZOHO_REFRESH_TOKEN", user=key.user)
            stored = await self.store.get(key)
        if stored is None:
            raise ConfigError(
                f"no Zoho token stored for {key}: set ZOHO_REFRESH_TOKEN or {_LOGIN_HINT}",
                details={"settings": ["ZOHO_REFRESH_TOKEN"]},
            )
        return stored

    async def _retrying(self, work: Callable[[_Pending], Awaitable[AccessToken]]) -> AccessToken:
        """`work`, again on a new connection while the database connection is being lost.
        What still fails is a failure every tier would share (`errors.shared_failure`): the
        callers' own retries and failover must not repeat it."""
        try:
            return await self._on_new_connections(work)
        except SergasError as exc:
            errors.shared_failure(exc)
            raise

    async def _on_new_connections(
        self, work: Callable[[_Pending], Awaitable[AccessToken]]
    ) -> AccessToken:
        pending = _Pending()
        tries = 0
        try:
            async for attempt in stamina.retry_context(
                on=_lost_connection, attempts=self.db_attempts, timeout=None, wait_max=2.0
            ):
                with attempt:
                    tries = attempt.num
                    if tries > 1:
                        log.warning("token database connection lost; trying again", attempt=tries)
                    return await work(pending)
        except DatabaseError as exc:
            if not _lost_connection(exc):
                raise
            raise DatabaseError(
                f"{exc} (Sergas tried {tries} times with a new connection and gave up)",
                code=exc.code,
                details=exc.details,
                retryable=False,
            ) from None
        raise AssertionError("unreachable: stamina yields until success or raises")

    async def _refresh(
        self,
        stored: StoredToken,
        reason: str,
        failed_token: str | None,
        pending: _Pending,
        *,
        forced: bool,
    ) -> AccessToken:
        key = stored.key
        blocked = self._blocked.get((key, stored.refresh_fp))
        if blocked is not None:
            if blocked[0] > self.clock.now():
                raise blocked[1]
            del self._blocked[(key, stored.refresh_fp)]
        async with self.store.locked(key) as row:
            token = row.token
            if token is None:
                raise ConfigError(f"no Zoho token stored for {key}: {_LOGIN_HINT}")
            if self._already_refreshed(token, forced, failed_token):
                return self._remember(token)
            if self._still_pending(pending, token):
                saved = await self._store_pending(row, pending)
            else:
                failure = await self._refusal(row, token)
                if failure is not None:
                    await row.audit(reason, Outcome.REFUSED, error_code=failure.code)
                    raise failure
                saved = await self._send(row, token, reason, pending)
        log.info("zoho access token refreshed", user=key.user, generation=saved.generation)
        return self._remember(saved)

    def _already_refreshed(
        self, token: StoredToken, forced: bool, failed_token: str | None
    ) -> bool:
        """Under the token lock: does the row already hold what this caller needs?"""
        if not token.usable(self.clock.now(), self.buffer):
            return False
        if not forced:
            return True
        return failed_token is not None and token.access_token != failed_token

    def _still_pending(self, pending: _Pending, token: StoredToken) -> bool:
        """A token minted for this row's refresh token, not stored yet and still good?"""
        return (
            pending.grant is not None
            and pending.expires_at is not None
            and pending.refresh_fp == token.refresh_fp
            and pending.expires_at - self.clock.now() > self.buffer
        )

    async def _store_pending(self, row: LockedToken, pending: _Pending) -> StoredToken:
        assert pending.grant is not None
        assert pending.expires_at is not None
        saved = await row.save_access(
            pending.grant.access_token,
            pending.expires_at,
            pending.grant.api_domain,
            attempt=pending.attempt,
            latency_ms=pending.latency_ms,
        )
        pending.grant = None
        return saved

    async def _send(
        self, row: LockedToken, token: StoredToken, reason: str, pending: _Pending
    ) -> StoredToken:
        # Recorded and committed first: if we never get to store the answer, the attempt
        # still counts against Zoho's limit.
        attempt = await row.audit(reason, Outcome.SENT)
        started = time.perf_counter()
        try:
            grant = await self.accounts.refresh(token.refresh_token)
        except SergasError as exc:
            latency = (time.perf_counter() - started) * 1000
            outcome = _outcome_of(exc)
            try:
                await row.finish_attempt(attempt, outcome, latency_ms=latency, error_code=exc.code)
            except DatabaseError as lost:
                # The attempt stays recorded as sent (and counted); Zoho's answer is the news.
                log.warning("token refresh outcome not recorded", error=str(lost))
            raise self._explain(token, exc, outcome) from None
        pending.grant = grant
        pending.expires_at = self.clock.now() + timedelta(seconds=grant.expires_in)
        pending.attempt = attempt
        pending.latency_ms = (time.perf_counter() - started) * 1000
        pending.refresh_fp = token.refresh_fp
        return await self._store_pending(row, pending)

    async def _refusal(self, row: LockedToken, token: StoredToken) -> SergasError | None:
        """Why we must not send a refresh now, from the audit rows of this refresh token."""
        now = self.clock.now()
        attempts = [a for a in await row.attempts_since(now - self.window) if a.at <= now]
        counted = [a for a in attempts if a.outcome in COUNTED_OUTCOMES]
        last = counted[-1] if counted else None
        if last is not None and last.outcome is Outcome.THROTTLED:
            until = last.at + self.throttle_backoff
            if until > now:
                return self._block(token, until, _throttled(until - now))
        if last is not None and last.error_code == "invalid_code":
            return self._block(token, last.at + self.window, _rejected(None))
        if len(counted) >= self.max_refreshes:
            until = counted[-self.max_refreshes].at + self.window
            wait = until - now
            error = RateLimitError(
                f"{len(counted)} token refreshes in the last {_human(self.window)}: Zoho allows "
                f"{self.max_refreshes} per refresh token, so Sergas will not send another "
                f"for {_human(wait)}",
                code="TOKEN_REFRESH_LIMIT",
                retry_after=wait.total_seconds(),
            )
            return self._block(token, until, error)
        return None

    def _explain(self, token: StoredToken, exc: SergasError, outcome: Outcome) -> SergasError:
        now = self.clock.now()
        if outcome is Outcome.THROTTLED:
            return self._block(
                token, now + self.throttle_backoff, _throttled(self.throttle_backoff)
            )
        if exc.code == "invalid_code":
            return self._block(token, now + self.window, _rejected(exc.http_status))
        return exc

    def _block(self, token: StoredToken, until: datetime, error: SergasError) -> SergasError:
        self._blocked[(token.key, token.refresh_fp)] = (until, error)
        return error


def _rejected(http_status: int | None) -> AuthError:
    return AuthError(
        "Zoho rejected the refresh token (invalid_code): it is revoked, expired or was never "
        f"valid; {_LOGIN_HINT}",
        code="invalid_code",
        http_status=http_status,
    )


def _throttled(wait: timedelta) -> RateLimitError:
    return RateLimitError(
        "Zoho is throttling token refreshes for this refresh token (Access Denied: too many "
        "requests in 10 minutes); Sergas backs off and will not ask again for "
        f"{_human(wait)}",
        code="Access Denied",
        retry_after=wait.total_seconds(),
    )


def _outcome_of(exc: SergasError) -> Outcome:
    if isinstance(exc, RateLimitError):
        return Outcome.THROTTLED
    if isinstance(exc, errors.ConnectionError):
        return Outcome.UNREACHABLE if exc.code == UNREACHABLE else Outcome.NETWORK_ERROR
    if isinstance(exc, errors.TimeoutError):
        return Outcome.TIMEOUT
    return Outcome.ZOHO_ERROR


def _human(delta: timedelta) -> str:
    seconds = max(0, round(delta.total_seconds()))
    return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"
