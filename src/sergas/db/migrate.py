"""Alembic, run programmatically: no alembic.ini at run time.

Each helper opens one transaction on the async engine and hands its connection to Alembic
(`config.attributes["connection"]`), so migrations run inside the caller's event loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from sergas.db.engine import database_errors
from sergas.errors import DatabaseError

__all__ = [
    "MIGRATIONS_DIR",
    "SchemaStatus",
    "alembic_config",
    "current",
    "downgrade",
    "ensure_schema",
    "head",
    "reset",
    "schema_status",
    "upgrade",
]

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head() -> str:
    """The newest revision shipped with this version of Sergas."""
    rev = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert rev is not None
    return rev


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    def run(conn: Connection) -> None:
        command.upgrade(alembic_config(conn), revision)

    with database_errors(engine.url):
        async with engine.begin() as conn:
            await conn.run_sync(run)


async def downgrade(engine: AsyncEngine, revision: str = "-1") -> None:
    def run(conn: Connection) -> None:
        command.downgrade(alembic_config(conn), revision)

    with database_errors(engine.url):
        async with engine.begin() as conn:
            await conn.run_sync(run)


async def current(engine: AsyncEngine) -> str | None:
    """The revision the database is at; None for an empty database."""

    def run(conn: Connection) -> str | None:
        return MigrationContext.configure(conn).get_current_revision()

    with database_errors(engine.url):
        async with engine.connect() as conn:
            return await conn.run_sync(run)


async def reset(engine: AsyncEngine) -> None:
    """Drop every Sergas table (downgrade to base), then upgrade to head. Deletes all tokens."""
    await downgrade(engine, "base")
    await upgrade(engine, "head")


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    current: str | None
    head: str
    tables: tuple[str, ...]

    @property
    def at_head(self) -> bool:
        return self.current == self.head


async def schema_status(engine: AsyncEngine) -> SchemaStatus:
    """Connects (raising DatabaseError if it cannot) and reports the schema revision."""

    def run(conn: Connection) -> tuple[str | None, tuple[str, ...]]:
        rev = MigrationContext.configure(conn).get_current_revision()
        return rev, tuple(sorted(inspect(conn).get_table_names()))

    with database_errors(engine.url):
        async with engine.connect() as conn:
            rev, tables = await conn.run_sync(run)
    return SchemaStatus(current=rev, head=head(), tables=tables)


async def ensure_schema(engine: AsyncEngine, *, auto_upgrade: bool) -> None:
    """Raise DatabaseError unless the schema is at head; with `auto_upgrade` (the embedded
    SQLite default), upgrade it instead."""
    status = await schema_status(engine)
    if status.at_head:
        return
    if auto_upgrade:
        await upgrade(engine)
        return
    raise DatabaseError(
        f"the database schema is at {status.current or '(empty)'}, not {status.head}: "
        "run `sergas db upgrade`",
        retryable=False,
    )
