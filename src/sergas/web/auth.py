"""Who is looking at the dashboard: a browser signed in with an API key, or a script sending
`Authorization: Bearer <API key>`.

Signing in checks the key like every other front door (`sergas.access.keys`), then opens a
session: a random 256-bit token in a cookie (HttpOnly, SameSite=Strict, Secure when served
over TLS, expiring with the session), of which the database keeps only a SHA-256 and the
public id of the key (`web_sessions`). The key itself is never stored, in the cookie or
anywhere else. Each request finds the session and its key in one indexed query, so a
revoked key signs its sessions out at once; signing out deletes the row.

Forms are protected against cross-site posts twice: SameSite=Strict keeps the cookie off
requests from other sites, and every form carries a token derived from the session's own
secret (`csrf_token`), checked on every POST that a cookie authenticated; a POST whose
Origin is another site is refused whatever it carries. The sign-in form, before any session
exists, uses a double-submitted random value instead. Scripts using Bearer keys send no
cookie, so they need no token.

Written by hand: the session is a row and a hash (what `sergas.access.keys` does for keys);
a session library would add a signing secret to manage and lose the revocation.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from fastapi import Request
from sqlalchemy import and_, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from sergas.access.keys import ApiKeyStore
from sergas.access.principal import Principal
from sergas.db.engine import database_errors
from sergas.db.tables import api_keys, web_sessions

__all__ = [
    "COOKIE",
    "SIGNIN_COOKIE",
    "SessionStore",
    "Viewer",
    "csrf_token",
    "same_origin",
    "tokens_match",
]

COOKIE = "sergas_session"
SIGNIN_COOKIE = "sergas_signin"  # the sign-in form's double-submitted value


@dataclass(frozen=True)
class Viewer:
    """Who is looking, and how they proved it. `csrf` is the token forms must carry (None
    for Bearer clients, which send no cookie)."""

    principal: Principal
    via: Literal["session", "bearer"]
    csrf: str | None = None

    @property
    def can_write(self) -> bool:
        return self.principal.can_write


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token(session_token: str) -> str:
    """A value only a page served to this session can know (the cookie is HttpOnly)."""
    return hashlib.sha256(f"csrf:{session_token}".encode()).hexdigest()[:40]


def tokens_match(sent: str | None, expected: str | None) -> bool:
    return bool(sent and expected) and hmac.compare_digest(str(sent), str(expected))


def same_origin(request: Request) -> bool:
    """False when the browser says the request came from another site (Fetch metadata, or
    the Origin header); requests that say nothing (scripts, old browsers) pass here and
    still need the form's token."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    return origin is None or origin == f"{request.url.scheme}://{request.url.netloc}"


class SessionStore:
    """Sessions in `web_sessions`, checked against `api_keys` on every request."""

    def __init__(
        self,
        engine: AsyncEngine,
        keys: ApiKeyStore,
        *,
        hours: float,
        cache_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.keys = keys
        self.lifetime = timedelta(hours=hours)
        self.cache_seconds = cache_seconds  # as API keys are (SERGAS_SERVICE_API_KEY_CACHE_SECONDS)
        self._clock = clock
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    async def sign_in(self, api_key: str) -> tuple[str, Principal]:
        """A new session for a valid key: (the cookie's token, who signed in)."""
        who = await self.keys.authenticate(api_key)
        assert who.key_id is not None  # every stored key has one
        token = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        with database_errors(self.engine.url):
            async with self.engine.begin() as conn:
                await conn.execute(delete(web_sessions).where(web_sessions.c.expires_at <= now))
                await conn.execute(
                    insert(web_sessions),
                    [
                        {
                            "id": _digest(token),
                            "key_id": who.key_id,
                            "created_at": now,
                            "expires_at": now + self.lifetime,
                        }
                    ],
                )
        return token, who

    async def find(self, token: str) -> Principal | None:
        """The principal of a live session whose key is not revoked, else None. An answer is
        reused for `cache_seconds`, as a checked API key is: a revoked key or an expired
        session stops working within that time (signing out here, at once)."""
        if not token or len(token) > 100:
            return None
        digest, now = _digest(token), self._clock()
        cached = self._cache.get(digest)
        if cached is not None and now - cached[0] < self.cache_seconds:
            return cached[1]
        who = await self._find(digest)
        if self.cache_seconds > 0:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (now, who)
        return who

    async def _find(self, digest: str) -> Principal | None:
        query = (
            select(api_keys.c.key_id, api_keys.c.name, api_keys.c.scope)
            .select_from(
                web_sessions.join(
                    api_keys,
                    and_(
                        api_keys.c.key_id == web_sessions.c.key_id,
                        api_keys.c.revoked_at.is_(None),
                    ),
                )
            )
            .where(
                web_sessions.c.id == digest,
                web_sessions.c.expires_at > datetime.now(UTC),
            )
        )
        with database_errors(self.engine.url):
            async with self.engine.connect() as conn:
                row = (await conn.execute(query)).first()
        return None if row is None else Principal(row.key_id, row.name, row.scope)

    async def sign_out(self, token: str) -> None:
        self._cache.pop(_digest(token), None)
        with database_errors(self.engine.url):
            async with self.engine.begin() as conn:
                await conn.execute(delete(web_sessions).where(web_sessions.c.id == _digest(token)))

    async def viewer(self, request: Request) -> Viewer | None:
        """Bearer first (a script), then the session cookie (a browser); None: neither.
        A Bearer header that is not a valid key raises AuthError."""
        if request.headers.get("authorization"):
            bearer = await self.keys.authenticate_header(request.headers.get("authorization"))
            return Viewer(bearer, "bearer")
        token = request.cookies.get(COOKIE)
        if not token:
            return None
        who = await self.find(token)
        return None if who is None else Viewer(who, "session", csrf_token(token))
