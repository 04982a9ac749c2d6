"""Alembic environment for Sergas's migrations.

Run programmatically by `sergas.db.migrate`, which passes an open connection in
`config.attributes["connection"]`. Also works from the `alembic` command with a URL
(`-x url=...` or SERGAS_DATABASE_URL), for developers writing new revisions.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from sergas.db.tables import include_name, metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_url(url: str) -> None:
    from sergas.db.engine import create_engine

    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_run)
    finally:
        await engine.dispose()


def _url() -> str:
    from sergas.settings import get_settings

    return context.get_x_argument(as_dictionary=True).get("url") or (
        get_settings().effective_database_url
    )


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif (connection := config.attributes.get("connection")) is not None:
    _run(connection)
else:
    asyncio.run(_run_with_url(_url()))
