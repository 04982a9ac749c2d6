"""Alembic migrations, run programmatically, on both databases."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from sergas.db import create_engine, current, downgrade, head, reset, schema_status, upgrade
from sergas.db.migrate import ensure_schema, newest_revision
from sergas.errors import DatabaseError

TABLES = {"zoho_tokens", "token_refresh_audit"}


async def tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    return names - {"alembic_version"}


async def test_upgrade_downgrade_upgrade(engine: AsyncEngine) -> None:
    assert await current(engine) == head()
    assert await tables(engine) >= TABLES

    await downgrade(engine, "base")
    assert await current(engine) is None
    assert not (TABLES & await tables(engine))

    await upgrade(engine)
    assert await current(engine) == head()
    assert await tables(engine) >= TABLES


async def test_downgrade_one_step_from_head(engine: AsyncEngine) -> None:
    from alembic.script import ScriptDirectory

    from sergas.db.migrate import alembic_config

    previous = ScriptDirectory.from_config(alembic_config()).get_revision(head()).down_revision
    await downgrade(engine)  # default: -1
    assert await current(engine) == previous
    await upgrade(engine)
    assert await current(engine) == head()


async def test_schema_status_and_reset(engine: AsyncEngine) -> None:
    status = await schema_status(engine)
    assert status.at_head
    assert set(status.tables) >= TABLES
    await reset(engine)
    assert (await schema_status(engine)).at_head


async def test_ensure_schema_refuses_or_upgrades(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        await upgrade(engine)
        await ensure_schema(engine, auto_upgrade=False)  # at head: nothing to say
        for behind in ("-1", "base"):
            await downgrade(engine, behind)
            with pytest.raises(DatabaseError, match="sergas db upgrade"):
                await ensure_schema(engine, auto_upgrade=False)
            await ensure_schema(engine, auto_upgrade=True)
            assert await current(engine) == head()
    finally:
        await engine.dispose()


def test_the_newest_revision_is_read_without_alembic() -> None:
    """What `ensure_schema()` compares with before it would load Alembic."""
    assert newest_revision() == head()
    code = (
        "import sys; from sergas.db.migrate import newest_revision; newest_revision(); "
        "print(any(m == 'alembic' or m.startswith('alembic.') for m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_migrations_ship_inside_the_package() -> None:
    from sergas.db.migrate import MIGRATIONS_DIR

    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert list((MIGRATIONS_DIR / "versions").glob("*.py"))
    assert not (MIGRATIONS_DIR.parent / "alembic.ini").exists()
