"""Sergas's database: an async SQLAlchemy engine on PostgreSQL (asyncpg) or SQLite (aiosqlite),
every table (`sergas.db.tables`), and Alembic migrations shipped inside the package.

Names load on first use: importing the engine does not load Alembic (~0.25 s), which a
command whose schema is already at head never needs (see `migrate.ensure_schema`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_WHERE = {
    "create_engine": "sergas.db.engine",
    "current": "sergas.db.migrate",
    "database_errors": "sergas.db.engine",
    "downgrade": "sergas.db.migrate",
    "head": "sergas.db.migrate",
    "normalise_url": "sergas.db.engine",
    "reset": "sergas.db.migrate",
    "safe_url": "sergas.db.engine",
    "schema_status": "sergas.db.migrate",
    "upgrade": "sergas.db.migrate",
    "write_transaction": "sergas.db.engine",
}

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

if TYPE_CHECKING:
    from sergas.db.engine import (
        create_engine,
        database_errors,
        normalise_url,
        safe_url,
        write_transaction,
    )
    from sergas.db.migrate import current, downgrade, head, reset, schema_status, upgrade


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'sergas.db' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
