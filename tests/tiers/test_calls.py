"""The choke point every call to Zoho passes: one cap per process, shared by every tier."""

from __future__ import annotations

import asyncio

import pytest
from tests.tiers.conftest import MakeTier
from tests.tiers.test_matrix import core, stored

from sergas.sandbox.server import RunningSandbox
from sergas.tiers.core import CallKind, ZohoCall
from sergas.zoho_limits import LIGHT_WRITE


@pytest.mark.parametrize(
    ("kind", "records", "heavy"),
    [
        (CallKind.COQL, 0, True),
        (CallKind.SEARCH, 0, True),
        (CallKind.WRITE, LIGHT_WRITE + 1, True),
        (CallKind.WRITE, LIGHT_WRITE, False),
        (CallKind.READ, 0, False),
        (CallKind.UPLOAD, 25_000, False),
    ],
)
def test_what_counts_against_zohos_sub_concurrency(
    kind: CallKind, records: int, heavy: bool
) -> None:
    assert ZohoCall("rest", kind, records).heavy is heavy


@pytest.mark.sdk
async def test_every_tier_of_a_process_shares_one_cap(
    make_tier: MakeTier, tier_sandbox: RunningSandbox
) -> None:
    rest, sdk, mcp = (core(make_tier(name, ZOHO_CONCURRENCY=4)) for name in ("rest", "sdk", "mcp"))
    rids = sorted(stored(tier_sandbox))[:12]
    await asyncio.gather(rest.health_check(), sdk.health_check(), mcp.health_check())
    limiters = {id(t.adapter.calls.limiter) for t in (rest, sdk, mcp)}
    assert len(limiters) == 1
    tier_sandbox.set_faults(latency_ms=100)  # long enough for every call to overlap
    await asyncio.gather(
        *(t.get_account(rid, fields=["Account_Name"]) for t in (rest, sdk) for rid in rids)
    )
    tier_sandbox.set_faults(latency_ms=0)
    # Each tier alone may have 4 calls in flight; together they still have 4, not 8.
    assert tier_sandbox.stats()["peak_concurrency"] == 4
