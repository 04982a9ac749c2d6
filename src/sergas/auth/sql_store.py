"""TokenStore on SQLAlchemy: PostgreSQL or SQLite.

The token lock is `sergas.db.locks.named_lock` (PostgreSQL: an advisory lock; SQLite: a file
lock), held across the short transactions of one refresh: read the row, record the attempt
(committed before Zoho is asked), store the answer.
"""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, delete, func, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sergas.auth.clock import Clock, SystemClock
from sergas.auth.store import AuditEntry, Outcome, StoredToken, TokenKey, fingerprint
from sergas.crypto import TokenCipher
from sergas.db.engine import WRITE_LOCK, database_errors, write_transaction
from sergas.db.locks import named_lock
from sergas.db.migrate import schema_status
from sergas.db.tables import token_refresh_audit as AUDIT
from sergas.db.tables import zoho_tokens as TOKENS
from sergas.errors import ConfigError

__all__ = ["SqlTokenStore", "count_tokens", "drop_tokens"]

_KEY_COLUMNS = ["accounts_url", "client_id", "user_name"]


def _key_values(key: TokenKey) -> dict[str, str]:
    return {"accounts_url": key.accounts_url, "client_id": key.client_id, "user_name": key.user}


def _where_key(table: Table, key: TokenKey) -> ColumnElement[bool]:
    return and_(*(table.c[name] == value for name, value in _key_values(key).items()))


def _lock_name(key: TokenKey) -> str:
    return f"sergas-token|{key.accounts_url}|{key.client_id}|{key.user}"


async def count_tokens(engine: AsyncEngine) -> int:
    """How many token rows the database holds, without decrypting any (0 before the schema
    exists)."""
    if TOKENS.name not in (await schema_status(engine)).tables:
        return 0
    with database_errors(engine.url):
        async with engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(TOKENS))).scalar_one())


async def drop_tokens(engine: AsyncEngine) -> int:
    """Delete every token row without decrypting any (the way back when their key is lost);
    the audit rows stay. Returns how many were deleted."""
    if TOKENS.name not in (await schema_status(engine)).tables:
        return 0
    async with write_transaction(engine) as conn:
        result = await conn.execute(delete(TOKENS))
    return int(result.rowcount)


class SqlTokenStore:
    """The token store on the engine's database. Tokens are encrypted with `cipher`."""

    def __init__(
        self,
        engine: AsyncEngine,
        cipher: TokenCipher,
        clock: Clock | None = None,
        *,
        lock_timeout: float = 60.0,
    ) -> None:
        self.engine = engine
        self.cipher = cipher
        self.clock = clock or SystemClock()
        self.lock_timeout = lock_timeout
        self._postgres = engine.dialect.name == "postgresql"

    def __repr__(self) -> str:
        return f"SqlTokenStore({self.engine.url.render_as_string(hide_password=True)!r})"

    # -- reads -------------------------------------------------------------------------------

    async def get(self, key: TokenKey) -> StoredToken | None:
        with database_errors(self.engine.url):
            async with self.engine.connect() as conn:
                result = await conn.execute(select(TOKENS).where(_where_key(TOKENS, key)))
                row = result.mappings().first()
        return self._decode(row) if row is not None else None

    async def keys(self) -> list[TokenKey]:
        with database_errors(self.engine.url):
            async with self.engine.connect() as conn:
                result = await conn.execute(select(*(TOKENS.c[c] for c in _KEY_COLUMNS)))
                rows = result.all()
        return sorted(TokenKey(*row) for row in rows)

    async def recent_audit(self, key: TokenKey, limit: int = 10) -> list[AuditEntry]:
        stmt = (
            select(AUDIT)
            .where(_where_key(AUDIT, key))
            .order_by(AUDIT.c.at.desc(), AUDIT.c.id.desc())
            .limit(limit)
        )
        with database_errors(self.engine.url):
            async with self.engine.connect() as conn:
                rows = (await conn.execute(stmt)).mappings().all()
        return [_audit_entry(r) for r in rows]

    # -- writes ------------------------------------------------------------------------------

    async def put(
        self,
        key: TokenKey,
        *,
        refresh_token: str,
        access_token: str | None = None,
        expires_at: datetime | None = None,
        api_domain: str | None = None,
    ) -> StoredToken:
        now = self.clock.now()
        values: dict[str, Any] = {
            "refresh_token": self.cipher.encrypt(refresh_token),
            "refresh_token_fp": fingerprint(refresh_token),
            "access_token": self.cipher.encrypt(access_token) if access_token else None,
            "expires_at": expires_at if access_token else None,
            "api_domain": api_domain,
            "updated_at": now,
        }
        insert = self._insert().values(
            **_key_values(key), **values, generation=1 if access_token else 0, created_at=now
        )
        stmt = insert.on_conflict_do_update(
            index_elements=_KEY_COLUMNS,
            set_={**values, "generation": TOKENS.c.generation + 1},
        )
        async with write_transaction(self.engine) as conn:
            await conn.execute(stmt)
            row = (
                (await conn.execute(select(TOKENS).where(_where_key(TOKENS, key)))).mappings().one()
            )
        return self._decode(row)

    async def seed(self, key: TokenKey, refresh_token: str) -> bool:
        now = self.clock.now()
        stmt = (
            self._insert()
            .values(
                **_key_values(key),
                refresh_token=self.cipher.encrypt(refresh_token),
                refresh_token_fp=fingerprint(refresh_token),
                generation=0,
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=_KEY_COLUMNS)
        )
        async with write_transaction(self.engine) as conn:
            result = await conn.execute(stmt)
        return bool(result.rowcount)

    async def delete(self, key: TokenKey) -> bool:
        async with write_transaction(self.engine) as conn:
            result = await conn.execute(delete(TOKENS).where(_where_key(TOKENS, key)))
        return bool(result.rowcount)

    @asynccontextmanager
    async def locked(self, key: TokenKey) -> AsyncIterator[_SqlLockedToken]:
        what = f"the token lock of {key}"
        async with named_lock(
            self.engine, _lock_name(key), max_wait=self.lock_timeout, what=what
        ) as conn:
            await conn.execution_options(**{WRITE_LOCK: True})
            with database_errors(self.engine.url):
                async with conn.begin():
                    stmt = select(TOKENS).where(_where_key(TOKENS, key))
                    row = (await conn.execute(stmt)).mappings().first()
            yield _SqlLockedToken(self, conn, key, self._decode(row) if row else None, row)

    async def rotate_key(self, new_cipher: TokenCipher) -> int:
        """Re-encrypt every row under `new_cipher`, in one transaction, holding every row's
        token lock (so no refresh stores a token under the old key meanwhile). Returns the
        row count."""
        async with AsyncExitStack() as locks:
            for key in await self.keys():
                await locks.enter_async_context(
                    named_lock(self.engine, _lock_name(key), max_wait=self.lock_timeout)
                )
            async with write_transaction(self.engine) as conn:
                stmt = select(TOKENS.c.id, TOKENS.c.refresh_token, TOKENS.c.access_token)
                if self._postgres:
                    stmt = stmt.with_for_update()
                rows = (await conn.execute(stmt)).all()
                for row_id, refresh, access in rows:
                    await conn.execute(
                        update(TOKENS)
                        .where(TOKENS.c.id == row_id)
                        .values(
                            refresh_token=new_cipher.encrypt(self.cipher.decrypt(refresh)),
                            access_token=(
                                new_cipher.encrypt(self.cipher.decrypt(access)) if access else None
                            ),
                        )
                    )
        self.cipher = new_cipher
        return len(rows)

    # -- helpers -----------------------------------------------------------------------------

    def _insert(self) -> Any:
        # Each dialect's upsert is imported only for its own database.
        if self._postgres:
            from sqlalchemy.dialects.postgresql import insert as postgres_insert

            return postgres_insert(TOKENS)
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(TOKENS)

    def _decode(self, row: RowMapping) -> StoredToken:
        access = row["access_token"]
        return StoredToken(
            key=TokenKey(row["accounts_url"], row["client_id"], row["user_name"]),
            refresh_token=self.cipher.decrypt(row["refresh_token"]),
            access_token=self.cipher.decrypt(access) if access else None,
            expires_at=row["expires_at"],
            api_domain=row["api_domain"],
            generation=row["generation"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )


class _SqlLockedToken:
    """The key's token lock, held; each write is its own committed transaction on the lock's
    connection."""

    def __init__(
        self,
        store: SqlTokenStore,
        conn: AsyncConnection,
        key: TokenKey,
        token: StoredToken | None,
        row: RowMapping | None,
    ) -> None:
        self._store = store
        self._conn = conn
        self._key = key
        self._token = token
        self._row_id: int | None = row["id"] if row is not None else None

    @property
    def token(self) -> StoredToken | None:
        return self._token

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        with database_errors(self._store.engine.url):
            async with self._conn.begin():
                yield self._conn

    async def save_access(
        self,
        access_token: str,
        expires_at: datetime,
        api_domain: str | None,
        *,
        attempt: int | None = None,
        latency_ms: float | None = None,
    ) -> StoredToken:
        if self._token is None or self._row_id is None:
            raise LookupError(f"no token row for {self._key}")
        now = self._store.clock.now()
        generation = self._token.generation + 1
        async with self._transaction() as conn:
            result = await conn.execute(
                update(TOKENS)
                .where(TOKENS.c.id == self._row_id)
                .values(
                    access_token=self._store.cipher.encrypt(access_token),
                    expires_at=expires_at,
                    api_domain=api_domain,
                    generation=generation,
                    updated_at=now,
                )
            )
            if result.rowcount != 1:
                raise ConfigError(
                    f"the Zoho token of {self._key} was deleted while it was being refreshed "
                    "(by `sergas auth revoke`?); run `sergas auth login`"
                )
            if attempt is not None:
                await conn.execute(_finish(attempt, Outcome.SUCCESS, latency_ms, None))
        self._token = StoredToken(
            key=self._key,
            refresh_token=self._token.refresh_token,
            access_token=access_token,
            expires_at=expires_at,
            api_domain=api_domain,
            generation=generation,
            created_at=self._token.created_at,
            updated_at=now,
        )
        return self._token

    async def audit(
        self,
        reason: str,
        outcome: Outcome,
        *,
        latency_ms: float | None = None,
        error_code: str | None = None,
    ) -> int:
        values = {
            **_key_values(self._key),
            "token_id": self._row_id,
            "refresh_token_fp": self._token.refresh_fp if self._token else "",
            "at": self._store.clock.now(),
            "host": socket.gethostname()[:255],
            "pid": os.getpid(),
            "reason": reason[:255],
            "outcome": outcome.value,
            "latency_ms": latency_ms,
            "error_code": error_code[:64] if error_code else None,
        }
        async with self._transaction() as conn:
            result = await conn.execute(AUDIT.insert().values(**values).returning(AUDIT.c.id))
            return int(result.scalar_one())

    async def finish_attempt(
        self,
        attempt: int,
        outcome: Outcome,
        *,
        latency_ms: float | None = None,
        error_code: str | None = None,
    ) -> None:
        async with self._transaction() as conn:
            await conn.execute(_finish(attempt, outcome, latency_ms, error_code))

    async def attempts_since(self, since: datetime) -> list[AuditEntry]:
        if self._token is None:
            return []
        stmt = (
            select(AUDIT)
            .where(AUDIT.c.refresh_token_fp == self._token.refresh_fp, AUDIT.c.at >= since)
            .order_by(AUDIT.c.at, AUDIT.c.id)
        )
        async with self._transaction() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [_audit_entry(r) for r in rows]


def _finish(
    attempt: int, outcome: Outcome, latency_ms: float | None, error_code: str | None
) -> Any:
    return (
        update(AUDIT)
        .where(AUDIT.c.id == attempt)
        .values(
            outcome=outcome.value,
            latency_ms=latency_ms,
            error_code=error_code[:64] if error_code else None,
        )
    )


def _audit_entry(row: RowMapping) -> AuditEntry:
    return AuditEntry(
        at=row["at"],
        user=row["user_name"],
        host=row["host"],
        pid=row["pid"],
        reason=row["reason"],
        outcome=Outcome(row["outcome"]),
        latency_ms=row["latency_ms"],
        error_code=row["error_code"],
        refresh_fp=row["refresh_token_fp"],
    )
