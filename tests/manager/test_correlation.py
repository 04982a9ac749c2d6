"""Correlation ids in structlog's contextvars, and the redaction of rendered output."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from collections.abc import Iterator

import pytest
import structlog

from sergas.log import (
    configure_logging,
    correlation_scope,
    current_correlation_id,
    new_correlation_id,
)

TOKEN = "1000.0123456789abcdef0123456789abcdef.fedcba9876543210fedcba9876543210"


@pytest.fixture(autouse=True)
def restore_structlog() -> Iterator[None]:
    yield
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


def test_scope_binds_a_fresh_id_and_restores() -> None:
    assert current_correlation_id() is None
    with correlation_scope() as cid:
        assert len(cid) == 32
        assert current_correlation_id() == cid
    assert current_correlation_id() is None


def test_an_outer_id_is_kept() -> None:
    with correlation_scope("request-7") as outer, correlation_scope() as inner:
        assert outer == inner == "request-7"


async def test_concurrent_tasks_keep_their_own_ids() -> None:
    async def one() -> tuple[str, str | None]:
        with correlation_scope() as cid:
            await asyncio.sleep(0)  # a yield point: the 50 scopes interleave, no waiting
            return cid, current_correlation_id()

    results = await asyncio.gather(*(one() for _ in range(50)))
    assert all(cid == seen for cid, seen in results)
    assert len({cid for cid, _ in results}) == 50


def test_rendered_lines_carry_the_id_and_never_a_token() -> None:
    out = io.StringIO()
    configure_logging("json", "DEBUG", out)
    log = structlog.get_logger("test")
    with correlation_scope() as cid:
        log.info("calling", headers={"Authorization": f"Zoho-oauthtoken {TOKEN}"})
        log.info(f"got {TOKEN}", access_token=TOKEN, client_secret="sergas-sandbox-secret")
        try:
            raise RuntimeError(f"failed with Zoho-oauthtoken {TOKEN}")
        except RuntimeError:
            log.exception("traceback")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == 3
    assert all(line["correlation_id"] == cid for line in lines)
    assert TOKEN not in out.getvalue()
    assert "sergas-sandbox-secret" not in out.getvalue()
    assert "RuntimeError" in lines[2]["exception"]


def test_new_ids_are_version_4_uuids() -> None:
    ids = {new_correlation_id() for _ in range(2000)}
    assert len(ids) == 2000
    for cid in ids:
        parsed = uuid.UUID(hex=cid)
        assert (parsed.version, parsed.variant, parsed.hex) == (4, uuid.RFC_4122, cid)
