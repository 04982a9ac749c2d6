"""A dump of the database holds no plaintext token: the SQLite file itself, or pg_dump's output."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from sergas.auth import TokenManager
from sergas.db.testing import postgres_required
from sergas.sandbox.config import REFRESH_TOKEN
from sergas.sandbox.server import RunningSandbox


def dump(engine: AsyncEngine) -> bytes:
    url = engine.url
    if url.get_backend_name() == "sqlite":
        assert url.database
        files = [Path(url.database), Path(url.database + "-wal")]
        return b"".join(f.read_bytes() for f in files if f.exists())
    if shutil.which("pg_dump") is None:
        # PostgreSQL answers but its client tools are missing: CI installs them (.ci/run checks).
        reason = "pg_dump is not installed (Debian: apt-get install postgresql-client)"
        if postgres_required():
            pytest.fail(f"SERGAS_REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(reason)
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    return subprocess.run(["pg_dump", "--no-owner", dsn], capture_output=True, check=True).stdout


async def test_no_plaintext_token_in_a_dump(
    manager: TokenManager, sandbox: RunningSandbox, engine: AsyncEngine
) -> None:
    first = await manager.get_access_token()
    second = await manager.force_refresh("401", first)
    raw = dump(engine)
    assert b"zoho_tokens" in raw or b"token_refresh_audit" in raw
    for secret in (first, second, REFRESH_TOKEN):
        assert secret.encode() not in raw
        assert secret.split(".")[-1].encode() not in raw
