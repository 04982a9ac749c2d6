"""Alembic, run programmatically: no alembic.ini at run time.

Each helper opens one transaction on the async engine and hands its connection to Alembic
(`config.attributes["connection"]`), so migrations run inside the caller's event loop.

Alembic is imported only when needed: `ensure_schema()`, which every command runs, first
compares the database's revision with the newest one read from the version files' own
`revision` lines, and returns when they agree (the usual case) without loading Alembic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from sergas.db.engine import database_errors
from sergas.errors import DatabaseError

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "MIGRATIONS_DIR",
    "SchemaStatus",
    "alembic_config",
    "current",
    "downgrade",
    "ensure_schema",
    "head",
    "newest_revision",
    "reset",
    "schema_status",
    "upgrade",
]

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head() -> str:
    """The newest revision shipped with this version of Sergas."""
    from alembic.script import ScriptDirectory

    rev = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert rev is not None
    return rev


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    from alembic import command

    def run(conn: Connection) -> None:
        command.upgrade(alembic_config(conn), revision)

    with database_errors(engine.url):
        async with engine.begin() as conn:
            await conn.run_sync(run)


async def downgrade(engine: AsyncEngine, revision: str = "-1") -> None:
    from alembic import command

    def run(conn: Connection) -> None:
        command.downgrade(alembic_config(conn), revision)

    with database_errors(engine.url):
        async with engine.begin() as conn:
            await conn.run_sync(run)


async def current(engine: AsyncEngine) -> str | None:
    """The revision the database is at; None for an empty database."""
    from alembic.runtime.migration import MigrationContext

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
    from alembic.runtime.migration import MigrationContext

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
    newest = newest_revision()
    if newest is not None and await _stored_revision(engine) == newest:
        return
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


_REVISION_LINE = re.compile(
    r"""^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(None|"[^"\n]*"|'[^'\n]*')""",
    re.MULTILINE,
)


def newest_revision() -> str | None:
    """`head()` read from the version files' `revision` / `down_revision` lines, without
    importing Alembic. Written here because Alembic's own reader (ScriptDirectory) costs
    its import on every command; the files are ours and keep these lines in one form. None
    when they do not form a single line of revisions (then Alembic decides)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        source = path.read_text("utf-8")
        found = {m[1]: m[2] for m in _REVISION_LINE.finditer(source)}
        if "revision" not in found or "down_revision" not in found:
            return None
        revisions.add(found["revision"][1:-1])
        if found["down_revision"] != "None":
            parents.add(found["down_revision"][1:-1])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 and parents <= revisions else None


async def _stored_revision(engine: AsyncEngine) -> str | None:
    """The one revision in `alembic_version`, read with plain SQL; None if there is none."""

    def run(conn: Connection) -> str | None:
        if not inspect(conn).has_table("alembic_version"):
            return None
        rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        return str(rows[0]) if len(rows) == 1 else None

    with database_errors(engine.url):
        async with engine.connect() as conn:
            return await conn.run_sync(run)
