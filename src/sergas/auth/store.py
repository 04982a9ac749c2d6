"""The token store contract: what TokenManager needs from durable storage.

One implementation ships (`SqlTokenStore`, on PostgreSQL or SQLite); one contract test suite
runs against both databases. Values returned by a store are plain frozen dataclasses whose
reprs never show a token.
"""

from __future__ import annotations

import hashlib
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

__all__ = [
    "COUNTED_OUTCOMES",
    "AuditEntry",
    "LockedToken",
    "Outcome",
    "StoredToken",
    "TokenKey",
    "TokenStore",
    "fingerprint",
]


@dataclass(frozen=True, slots=True, order=True)
class TokenKey:
    """Which token: one per Zoho accounts server, OAuth client and user."""

    accounts_url: str
    client_id: str
    user: str

    def __str__(self) -> str:
        return f"{self.user}@{self.client_id} ({self.accounts_url})"


def fingerprint(token: str) -> str:
    """A non-reversible identifier of a token: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class StoredToken:
    """A row of zoho_tokens, decrypted. `repr()` omits both tokens."""

    key: TokenKey
    refresh_token: str = field(repr=False)
    access_token: str | None = field(repr=False)
    expires_at: datetime | None
    api_domain: str | None
    generation: int
    created_at: datetime
    updated_at: datetime

    @property
    def refresh_fp(self) -> str:
        return fingerprint(self.refresh_token)

    def valid_for(self, now: datetime) -> timedelta:
        """Time left before expiry; zero or negative when there is no usable access token."""
        if not self.access_token or self.expires_at is None:
            return timedelta(0)
        return self.expires_at - now

    def usable(self, now: datetime, buffer: timedelta) -> bool:
        return self.valid_for(now) > buffer


class Outcome(StrEnum):
    SENT = "sent"  # recorded before the request; replaced by the outcome once it is known
    SUCCESS = "success"
    ZOHO_ERROR = "zoho_error"  # Zoho answered with an error (invalid_code, ...)
    THROTTLED = "throttled"  # Zoho's "Access Denied" rate-limit answer
    NETWORK_ERROR = "network_error"  # the request may have reached Zoho
    TIMEOUT = "timeout"
    UNREACHABLE = "unreachable"  # the connection failed: Zoho never saw the request
    REFUSED = "refused"  # not sent: our own limit or back-off


# Attempts that may have reached Zoho count against its 10-per-10-minutes limit. An attempt
# still "sent" is one whose outcome was never stored (the process or its connection died).
COUNTED_OUTCOMES = frozenset(
    {
        Outcome.SENT,
        Outcome.SUCCESS,
        Outcome.ZOHO_ERROR,
        Outcome.THROTTLED,
        Outcome.NETWORK_ERROR,
        Outcome.TIMEOUT,
    }
)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """A row of token_refresh_audit."""

    at: datetime
    user: str
    host: str
    pid: int
    reason: str
    outcome: Outcome
    latency_ms: float | None
    error_code: str | None
    refresh_fp: str


class LockedToken(Protocol):
    """The key's token lock, held: one holder among every process sharing the database.

    The lock outlives a commit, and every write commits at once: an attempt recorded before
    a refresh is sent stays recorded whatever happens next. If the database connection is
    lost, the lock is lost with it and every further call fails (DatabaseError).
    """

    @property
    def token(self) -> StoredToken | None:
        """The key's row, read after the lock was taken."""
        ...

    async def save_access(
        self,
        access_token: str,
        expires_at: datetime,
        api_domain: str | None,
        *,
        attempt: int | None = None,
        latency_ms: float | None = None,
    ) -> StoredToken:
        """Store a newly minted access token (generation + 1); with `attempt`, mark that
        attempt a success in the same transaction."""
        ...

    async def audit(
        self,
        reason: str,
        outcome: Outcome,
        *,
        latency_ms: float | None = None,
        error_code: str | None = None,
    ) -> int:
        """Add an audit row; its id (for `finish_attempt` when the outcome is SENT)."""
        ...

    async def finish_attempt(
        self,
        attempt: int,
        outcome: Outcome,
        *,
        latency_ms: float | None = None,
        error_code: str | None = None,
    ) -> None:
        """Replace a SENT attempt's outcome once Zoho answered (or failed to)."""
        ...

    async def attempts_since(self, since: datetime) -> list[AuditEntry]:
        """Audit rows for this refresh token at or after `since`, oldest first."""
        ...


class TokenStore(Protocol):
    async def get(self, key: TokenKey) -> StoredToken | None: ...

    async def put(
        self,
        key: TokenKey,
        *,
        refresh_token: str,
        access_token: str | None = None,
        expires_at: datetime | None = None,
        api_domain: str | None = None,
    ) -> StoredToken:
        """Insert or replace the key's row (a login)."""
        ...

    async def seed(self, key: TokenKey, refresh_token: str) -> bool:
        """Insert a row holding only a refresh token, unless the key has one. True if added."""
        ...

    async def delete(self, key: TokenKey) -> bool: ...

    async def keys(self) -> list[TokenKey]: ...

    def locked(self, key: TokenKey) -> AbstractAsyncContextManager[LockedToken]:
        """Take the key's token lock (see LockedToken); released when the block ends."""
        ...

    async def recent_audit(self, key: TokenKey, limit: int = 10) -> list[AuditEntry]:
        """The newest audit rows for the key, newest first."""
        ...
