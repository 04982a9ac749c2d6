"""Tier 3 only: the bulk strategies and their choice, caps, headers, the pool, the transport."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx2
import pytest
import stamina
import structlog
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine
from stamina.instrumentation import get_on_retry_hooks, set_on_retry_hooks
from tests.tiers.conftest import MakeTier
from tests.tiers.test_matrix import UNKNOWN_ID, stored

from sergas import errors
from sergas.auth import TokenManager
from sergas.auth.accounts import AccountsClient
from sergas.auth.sql_store import SqlTokenStore
from sergas.crypto import load_cipher
from sergas.query import F
from sergas.sandbox.config import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, SandboxConfig
from sergas.sandbox.http.app import create_app
from sergas.sandbox.server import RunningSandbox
from sergas.settings import Settings
from sergas.tiers.core import reads
from sergas.tiers.rest import ZohoRESTClient

FIELDS = [
    "Account_Name",
    "Owner",
    "Parent_Account",
    "Annual_Revenue",
    "Employees",
    "Health_Score",
    "Last_Health_Check",
    "Created_Time",
    "Industry",
]
MSP = "MSP (Management Service Provider)"  # brackets in a criteria value
FAST_POLLS = {"SERGAS_BULK_POLL_INITIAL": 0.05}


def rest(make_tier: MakeTier, **overrides: Any) -> ZohoRESTClient:
    client = make_tier("rest", **overrides)
    assert isinstance(client, ZohoRESTClient)
    return client


def calls(sandbox: RunningSandbox, prefix: str) -> int:
    return sum(n for path, n in sandbox.stats()["calls"].items() if prefix in path)


class RecordingTransport(httpx2.AsyncHTTPTransport):
    """A real transport that keeps the headers of what it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[httpx2.Headers] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.sent.append(request.headers.copy())
        return await super().handle_async_request(request)

    @property
    def open_connections(self) -> int:
        return len(self._pool.connections)


# -- bulk read ---------------------------------------------------------------------------------


async def test_bulk_read_uses_coql_below_the_threshold_and_a_job_above(
    make_tier: MakeTier, seeded_sandbox: RunningSandbox
) -> None:
    small = rest(make_tier)
    big = rest(make_tier, SERGAS_BULK_READ_THRESHOLD=1000, SERGAS_BULK_POLL_INITIAL=0.05)

    via_coql = await small.bulk_read_accounts(fields=FIELDS)
    assert calls(seeded_sandbox, "/crm/bulk/v8/read") == 0
    pages = calls(seeded_sandbox, "POST /crm/v8/coql")
    assert pages == 1 + 2  # the count, then 2,500 rows in pages of 2,000

    via_job = await big.bulk_read_accounts(fields=FIELDS)
    assert calls(seeded_sandbox, "/crm/bulk/v8/read") >= 3  # create, poll(s), download
    assert calls(seeded_sandbox, "POST /crm/v8/coql") == pages + 1  # the count only

    pages = [r async for r in small.iter_accounts(fields=FIELDS)]
    by_id = sorted(pages, key=lambda r: r["id"])
    assert len(by_id) == 2500
    assert sorted(via_coql, key=lambda r: r["id"]) == by_id
    assert sorted(via_job, key=lambda r: r["id"]) == by_id


async def test_bulk_read_with_criteria_matches_on_both_paths(
    make_tier: MakeTier, tier_sandbox: RunningSandbox
) -> None:
    criteria = (F("Employees") > 100) & (F("Industry") == MSP)
    wanted = {
        r["id"]
        for r in tier_sandbox.sandbox.store.all("Accounts")
        if (r.get("Employees") or 0) > 100 and r.get("Industry") == MSP
    }
    assert wanted
    for threshold in (0, 100_000):
        client = rest(
            make_tier, SERGAS_BULK_READ_THRESHOLD=threshold, SERGAS_BULK_POLL_INITIAL=0.05
        )
        jobs = calls(tier_sandbox, "POST /crm/bulk/v8/read")
        found = await client.bulk_read_accounts(criteria=criteria, fields=["Employees", "Industry"])
        assert {r["id"] for r in found} == wanted
        assert calls(tier_sandbox, "POST /crm/bulk/v8/read") == jobs + (threshold == 0)


async def test_coql_pages_run_in_parallel_under_the_heavy_cap(
    make_tier: MakeTier, tier_sandbox: RunningSandbox
) -> None:
    client = rest(make_tier, ZOHO_CONCURRENCY=20)
    tier_sandbox.set_faults(latency_ms=20)  # long enough for calls to overlap
    records = await client.bulk_read_accounts(fields=["Account_Name"])
    stats = tier_sandbox.stats()
    assert len(records) == stats["records"]["Accounts"]
    assert 1 < stats["peak_heavy_concurrency"] <= 10
    assert stats["rejected_429"] == 0


# -- bulk write --------------------------------------------------------------------------------


async def test_bulk_write_job_above_the_threshold_reports_every_row(
    make_tier: MakeTier, seeded_sandbox: RunningSandbox
) -> None:
    client = rest(make_tier, SERGAS_BULK_WRITE_THRESHOLD=100, SERGAS_BULK_POLL_INITIAL=0.05)
    before = stored(seeded_sandbox)
    targets = sorted(before)[:250]
    updates: list[dict[str, Any]] = [
        {"id": rid, "Health_Score": n} for n, rid in enumerate(targets)
    ]
    updates[3] = {"id": targets[3], "Account_Status": "Not A Status"}
    updates[7] = {"id": UNKNOWN_ID, "Health_Score": 1}
    updates[9] = {"id": targets[9], "Description": None}  # clearing a field: the PUT path
    updates[11] = {"Health_Score": 5}  # no id: never sent

    result = await client.bulk_update_accounts(updates)

    assert calls(seeded_sandbox, "POST /crm/bulk/v8/write") == 1  # one job
    assert calls(seeded_sandbox, "PUT /crm/v8/Accounts") == 1  # and record 9 by PUT
    assert [r.index for r in result.results] == list(range(250))
    failed = {r.index: r.code for r in result.failed}
    assert failed == {3: "INVALID_DATA", 7: "RESOURCE_NOT_FOUND", 11: "MANDATORY_NOT_FOUND"}
    assert result.results[3].details["api_name"] == "Account_Status"
    after = stored(seeded_sandbox)
    for n, rid in enumerate(targets):
        if n not in (3, 7, 9, 11):
            assert after[rid]["Health_Score"] == n
    assert after[targets[9]]["Description"] is None and result.results[9].ok
    assert after[targets[3]] == before[targets[3]]
    assert after[targets[11]] == before[targets[11]]


async def test_put_chunks_respect_the_write_cap(
    make_tier: MakeTier, seeded_sandbox: RunningSandbox
) -> None:
    client = rest(make_tier, ZOHO_CONCURRENCY=20)
    seeded_sandbox.set_faults(latency_ms=20)
    targets = sorted(stored(seeded_sandbox))[:1500]
    result = await client.bulk_update_accounts([{"id": rid, "Health_Score": 1} for rid in targets])
    assert result.ok
    stats = seeded_sandbox.stats()
    assert calls(seeded_sandbox, "/crm/bulk/v8/write") == 0
    assert stats["calls"]["PUT /crm/v8/Accounts"] == 15
    assert 1 < stats["peak_heavy_concurrency"] <= 10
    assert stats["rejected_429"] == 0


async def test_a_bulk_update_that_reaches_nothing_raises(
    make_tier: MakeTier, tier_sandbox: RunningSandbox
) -> None:
    client = rest(make_tier, SERGAS_RETRY_ATTEMPTS=2)
    targets = sorted(stored(tier_sandbox))[:150]
    await client.health_check()
    tier_sandbox.set_faults(targeted=[{"path": "/crm/v8/Accounts", "status": 503, "count": 10}])
    with pytest.raises(errors.ServerError):
        await client.bulk_update_accounts([{"id": rid, "Health_Score": 2} for rid in targets])


# -- the request layer -------------------------------------------------------------------------


async def test_correlation_id_is_sent_when_bound(
    settings_for: Callable[..., Settings], tokens: TokenManager, tier_sandbox: RunningSandbox
) -> None:
    transport = RecordingTransport()
    client = ZohoRESTClient(settings_for(), tokens, transport=transport)
    try:
        await client.get_accounts(limit=1, fields=["Account_Name"])
        with structlog.contextvars.bound_contextvars(correlation_id="req-42"):
            await client.get_accounts(limit=1, fields=["Account_Name"])
    finally:
        await client.aclose()
    assert "x-correlation-id" not in transport.sent[0]
    assert transport.sent[-1]["x-correlation-id"] == "req-42"
    assert transport.sent[-1]["authorization"].startswith("Zoho-oauthtoken ")


async def test_one_pool_kept_alive_and_bounded_by_the_org_cap(
    settings_for: Callable[..., Settings], tokens: TokenManager, tier_sandbox: RunningSandbox
) -> None:
    transport = RecordingTransport()
    client = ZohoRESTClient(settings_for(ZOHO_CONCURRENCY=4), tokens, transport=transport)
    try:
        for _ in range(20):
            await client.get_accounts(limit=1, fields=["Account_Name"])
        assert transport.open_connections == 1
        await asyncio.gather(
            *(client.get_accounts(limit=1, fields=["Account_Name"]) for _ in range(40))
        )
        assert 1 <= transport.open_connections <= 4
        assert tier_sandbox.stats()["peak_concurrency"] <= 4
    finally:
        await client.aclose()


async def test_in_process_over_an_asgi_transport(
    settings_for: Callable[..., Settings], tier_engine: AsyncEngine
) -> None:
    """Lesson 4: tests choose the transport. Tokens and CRM calls both go to an app in
    process, with no socket."""
    app = create_app(SandboxConfig(accounts=30, base_url="http://sandbox.test"))
    settings = settings_for(ZOHO_API_DOMAIN="http://sandbox.test")
    accounts = AccountsClient(
        "http://sandbox.test",
        CLIENT_ID,
        SecretStr(CLIENT_SECRET),
        transport=httpx2.ASGITransport(app=app),
    )
    store = SqlTokenStore(tier_engine, load_cipher(settings))
    tokens = TokenManager(store, accounts, seed_refresh_token=REFRESH_TOKEN)
    client = ZohoRESTClient(settings, tokens, transport=httpx2.ASGITransport(app=app))
    try:
        page = await client.get_accounts(limit=5)
        assert len(page) == 5
        assert await client.get_account(page[0]["id"]) == page[0]
        assert len(await client.bulk_read_accounts()) == 30
    finally:
        await client.aclose()
        await tokens.aclose()
        app.state.sandbox.close()


async def test_zoho_errors_are_mapped(make_tier: MakeTier) -> None:
    client = rest(make_tier)
    with pytest.raises(errors.LimitExceededError):
        await client.get_accounts(limit=500)
    with pytest.raises(errors.LimitExceededError):
        await client.get_accounts(page=11)
    with pytest.raises(errors.InvalidDataError):
        await client.coql("select from where")
    with pytest.raises(errors.NotFoundError):
        await client.get_accounts(module="Nonexistent")
    with pytest.raises(errors.NotFoundError):
        await client.get_account("../settings")


async def test_unreachable_zoho_is_a_connection_error(
    settings_for: Callable[..., Settings], tokens: TokenManager
) -> None:
    client = ZohoRESTClient(settings_for(ZOHO_API_DOMAIN="http://127.0.0.1:9"), tokens)
    try:
        with pytest.raises(errors.ConnectionError) as caught:
            await client.get_account("5725767000000001001")
        status = await client.health_check()
    finally:
        await client.aclose()
    assert caught.value.retryable and caught.value.tier_health
    assert not status.healthy and "CONNECTION_ERROR" in status.detail
    assert "oauthtoken" not in repr(caught.value).lower()


async def test_health_check_does_not_retry(
    make_tier: MakeTier, tier_sandbox: RunningSandbox
) -> None:
    client = rest(make_tier)
    await client.health_check()
    tier_sandbox.set_faults(targeted=[{"path": "/crm/v8/org", "status": 503, "count": 1}])
    status = await client.health_check()
    assert not status.healthy and "SERVICE_UNAVAILABLE" in status.detail
    assert (await client.health_check()).healthy


async def test_429_backs_off_before_retrying(
    make_tier: MakeTier, tier_sandbox: RunningSandbox
) -> None:
    client = rest(make_tier, SERGAS_RETRY_WAIT_INITIAL=0.1, SERGAS_RETRY_WAIT_MAX=1)
    rid = sorted(stored(tier_sandbox))[0]
    await client.get_account(rid)
    tier_sandbox.set_faults(targeted=[{"path": "/crm/v8/Accounts", "status": 429, "count": 2}])
    with stamina.set_testing(False):
        started = time.monotonic()
        assert (await client.get_account(rid))["id"] == rid
        elapsed = time.monotonic() - started
    assert elapsed >= 0.1 + 0.2  # two waits: 0.1 s, then 0.2 s (plus jitter)
    assert tier_sandbox.stats()["faults_injected"] == 2


async def test_a_429s_retry_after_reaches_the_error_and_the_wait(
    make_tier: MakeTier, tier_sandbox: RunningSandbox
) -> None:
    """A real 429 with `Retry-After: 1` (the sandbox's fault): with no attempt left the
    error carries it; with one, the retry waits exactly that long, not the backoff."""
    rid = sorted(stored(tier_sandbox))[0]
    once = rest(make_tier, SERGAS_RETRY_ATTEMPTS=1)
    await once.get_account(rid)
    tier_sandbox.set_faults(
        targeted=[{"path": "/crm/v8/Accounts", "status": 429, "count": 1}], retry_after=1
    )
    with pytest.raises(errors.RateLimitError) as throttled:
        await once.get_account(rid)
    assert throttled.value.retry_after == 1.0 and throttled.value.http_status == 429

    client = rest(make_tier, SERGAS_RETRY_WAIT_INITIAL=0.01, SERGAS_RETRY_WAIT_MAX=0.05)
    await client.get_account(rid)
    tier_sandbox.set_faults(targeted=[{"path": "/crm/v8/Accounts", "status": 429, "count": 1}])
    waits: list[float] = []
    hooks = get_on_retry_hooks()
    set_on_retry_hooks([lambda details: waits.append(details.wait_for)])
    try:
        with stamina.set_testing(False):
            assert (await client.get_account(rid))["id"] == rid
    finally:
        set_on_retry_hooks(hooks)
    assert waits == [1.0]  # the header's, where the backoff would have waited ~0.01 s
    assert tier_sandbox.stats()["faults_injected"] == 2


# -- past Zoho's 100,000-record page-token chain -----------------------------------------------


async def test_descending_walk_continues_below_an_id(
    make_tier: MakeTier, tier_sandbox: RunningSandbox
) -> None:
    """What iter_accounts does once page tokens stop at 100,000 (the matrix does it for
    real): COQL by id, descending, below the last id the records API gave."""
    client = rest(make_tier)
    ids = sorted(stored(tier_sandbox), key=int)
    below = ids[2300]
    walk = reads.walk_by_id(
        client.adapter.coql, client.meta, "Accounts", ["Account_Name"], None, int(below)
    )
    walked = [r["id"] async for r in walk]
    assert walked == list(reversed(ids[:2300]))
