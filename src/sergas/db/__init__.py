"""Sergas's database: an async SQLAlchemy engine on PostgreSQL (asyncpg) or SQLite (aiosqlite),
the token tables, and Alembic migrations shipped inside the package."""

from sergas.db.engine import (
    create_engine,
    database_errors,
    normalise_url,
    safe_url,
    write_transaction,
)
from sergas.db.migrate import current, downgrade, head, reset, schema_status, upgrade

__all__ = [
    "create_engine",
    "current",
    "database_errors",
    "downgrade",
    "head",
    "normalise_url",
    "reset",
    "safe_url",
    "schema_status",
    "upgrade",
    "write_transaction",
]
