"""API keys: made once, stored as a salted hash, checked on every request.

A key reads `sgk_<key id>_<secret>`: the `sgk_` prefix makes a leaked key easy to spot (and
to scan for); the key id (12 hex digits) is public and finds the row; the secret (32 random
bytes) is checked against `sha256(salt || secret)` in constant time. The secret has 256 bits
of entropy, so a fast hash is enough: a slow KDF protects guessable passwords, and this
is not one. Only `create()` ever sees a whole key, and it returns it to be shown once.

Checks are cached per key for `cache_seconds` (default 5 s): a revoked key stops working
everywhere within that time, and a busy service does not query the database per request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from sergas.access.principal import PREFIX, SCOPES, Principal, Scope
from sergas.db.engine import database_errors
from sergas.db.tables import api_keys
from sergas.errors import AuthError, InvalidDataError, NotFoundError

__all__ = [
    "KEY_PATTERN",
    "MISSING_KEY",
    "ApiKeyInfo",
    "ApiKeyStore",
    "KeyRefused",
    "parse_key",
    "redact_keys",
]

MISSING_KEY = "missing API key: send `Authorization: Bearer <API key>`"
KEY_PATTERN = re.compile(r"sgk_[0-9a-f]{12}_[A-Za-z0-9_-]{20,}")
_KEY_ID_LEN = 12
_LAST_USED_EVERY = 60.0  # seconds between last_used_at writes for one key


def redact_keys(text: str) -> str:
    """Replace anything shaped like a Sergas API key."""
    return KEY_PATTERN.sub("[redacted]", text)


@dataclass(frozen=True)
class ApiKeyInfo:
    key_id: str
    name: str
    scope: Scope
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def display(self) -> str:
        """How a key is shown after creation: its public part only."""
        return f"{PREFIX}{self.key_id}_…"

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.display,
            "key_id": self.key_id,
            "name": self.name,
            "scope": self.scope,
            "created_at": self.created_at.isoformat(),
            "last_used_at": self.last_used_at.isoformat() if self.last_used_at else None,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


def _hash(salt: str, secret: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + secret.encode()).hexdigest()


def parse_key(key: str) -> tuple[str, str] | None:
    """(key id, secret), or None for anything that is not shaped like a key."""
    if not KEY_PATTERN.fullmatch(key):
        return None
    body = key[len(PREFIX) :]
    return body[:_KEY_ID_LEN], body[_KEY_ID_LEN + 1 :]


class KeyRefused(AuthError):
    """A key that was refused. The caller is told only `message` (no oracle for which part
    was wrong); the audit and the log also get `key_id` (the public part of what was sent,
    when it was shaped like a key), the key's `name` when it exists, and `reason`: missing,
    malformed, unknown, revoked or wrong secret. Never the secret."""

    def __init__(
        self,
        message: str,
        *,
        code: str,
        reason: str,
        key_id: str | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.reason, self.key_id, self.name = reason, key_id, name

    def audit_details(self) -> dict[str, str | None]:
        return {"reason": self.reason, "key_id": self.key_id, "name": self.name}


def _refused(reason: str, key_id: str, name: str | None = None) -> KeyRefused:
    return KeyRefused(
        "unknown or revoked API key",
        code="INVALID_API_KEY",
        reason=reason,
        key_id=key_id,
        name=name,
    )


@dataclass
class _Cached:
    principal: Principal | None  # None: unknown or revoked
    salt: str
    key_hash: str
    fetched: float
    name: str | None = None  # a revoked key's name, for the audit


class ApiKeyStore:
    """Create, list, revoke and check API keys in Sergas's database."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        cache_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.cache_seconds = cache_seconds
        self._clock = clock
        self._cache: dict[str, _Cached] = {}
        self._last_used: dict[str, float] = {}

    async def create(self, name: str, scope: Scope = "read") -> tuple[str, ApiKeyInfo]:
        """A new key: (the whole key, to show once; its stored description)."""
        name = name.strip()
        if not name:
            raise InvalidDataError("an API key needs a name")
        if scope not in SCOPES:
            raise InvalidDataError(f"scope must be one of {', '.join(SCOPES)}")
        key_id = secrets.token_hex(_KEY_ID_LEN // 2)
        secret = secrets.token_urlsafe(32)
        salt = secrets.token_hex(16)
        now = datetime.now(UTC)
        row = {
            "key_id": key_id,
            "name": name[:255],
            "scope": scope,
            "salt": salt,
            "key_hash": _hash(salt, secret),
            "created_at": now,
        }
        with database_errors(self.engine.url):
            async with self.engine.begin() as conn:
                await conn.execute(insert(api_keys), [row])
        info = ApiKeyInfo(key_id, name[:255], scope, now, None, None)
        return f"{PREFIX}{key_id}_{secret}", info

    async def list_keys(self, *, include_revoked: bool = True) -> list[ApiKeyInfo]:
        query = select(api_keys).order_by(api_keys.c.created_at, api_keys.c.id)
        if not include_revoked:
            query = query.where(api_keys.c.revoked_at.is_(None))
        with database_errors(self.engine.url):
            async with self.engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return [
            ApiKeyInfo(r.key_id, r.name, r.scope, r.created_at, r.last_used_at, r.revoked_at)
            for r in rows
        ]

    async def revoke(self, key_id: str) -> ApiKeyInfo:
        """Revoke by key id (or by a whole key, or its displayed form)."""
        key_id = _key_id_of(key_id)
        now = datetime.now(UTC)
        with database_errors(self.engine.url):
            async with self.engine.begin() as conn:
                await conn.execute(
                    update(api_keys)
                    .where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
                    .values(revoked_at=now)
                )
                row = (
                    await conn.execute(select(api_keys).where(api_keys.c.key_id == key_id))
                ).first()
        if row is None:
            raise NotFoundError(f"no API key {PREFIX}{key_id}", details={"key_id": key_id})
        self._cache.pop(key_id, None)
        return ApiKeyInfo(
            row.key_id, row.name, row.scope, row.created_at, row.last_used_at, row.revoked_at
        )

    async def authenticate_header(self, authorization: str | None) -> Principal:
        """The principal of an `Authorization: Bearer <key>` header value: what both servers
        check on every request. AuthError `UNAUTHENTICATED` when no key was sent, else as
        `authenticate()`."""
        scheme, _, key = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise KeyRefused(MISSING_KEY, code="UNAUTHENTICATED", reason="missing")
        return await self.authenticate(key)

    async def authenticate(self, key: str) -> Principal:
        """The key's principal; KeyRefused (never naming the secret) if it is not valid."""
        parsed = parse_key(key.strip())
        if parsed is None:
            raise KeyRefused(
                f"not a Sergas API key (expected {PREFIX}…)",
                code="INVALID_API_KEY",
                reason="malformed",
            )
        key_id, secret = parsed
        entry = self._cache.get(key_id)
        now = self._clock()
        if entry is None or now - entry.fetched >= self.cache_seconds:
            entry = await self._fetch(key_id, now)
        if entry.principal is None:
            raise _refused("revoked" if entry.name else "unknown", key_id, entry.name)
        if not hmac.compare_digest(_hash(entry.salt, secret), entry.key_hash):
            raise _refused("wrong secret", key_id, entry.principal.name)
        await self._touch(key_id, now)
        return entry.principal

    async def _fetch(self, key_id: str, now: float) -> _Cached:
        query = select(api_keys).where(api_keys.c.key_id == key_id)
        with database_errors(self.engine.url):
            async with self.engine.connect() as conn:
                row = (await conn.execute(query)).first()
        if row is None:
            entry = _Cached(None, "00", "", now)
        elif row.revoked_at is not None:
            entry = _Cached(None, "00", "", now, name=row.name)
        else:
            entry = _Cached(Principal(row.key_id, row.name, row.scope), row.salt, row.key_hash, now)
        if self.cache_seconds > 0:
            self._cache[key_id] = entry
        return entry

    async def _touch(self, key_id: str, now: float) -> None:
        """Record use at most once a minute per key: a write per request would cost more
        than the request."""
        last = self._last_used.get(key_id)
        if last is not None and now - last < _LAST_USED_EVERY:
            return
        self._last_used[key_id] = now
        statement = (
            update(api_keys)
            .where(api_keys.c.key_id == key_id)
            .values(last_used_at=datetime.now(UTC))
        )
        with database_errors(self.engine.url):
            async with self.engine.begin() as conn:
                await conn.execute(statement)


def _key_id_of(text: str) -> str:
    text = text.strip().rstrip("…").rstrip("_")
    parsed = parse_key(text)
    if parsed is not None:
        return parsed[0]
    return text.removeprefix(PREFIX)[:_KEY_ID_LEN]
