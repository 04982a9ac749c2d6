"""Tier 2 only: the official SDK behind Sergas, against a served sandbox (real HTTP).

Initialization once per process, tokens only from our TokenManager, worker threads that leave
the event loop free, records equal to what the REST API sends, Zoho's errors mapped to
Sergas's, Bulk Read and Bulk Write jobs, the correlation header, and no token in any log.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
import structlog
from structlog.testing import capture_logs
from tests.tiers.conftest import MakeTier
from tests.tiers.test_matrix import stored

from sergas import errors
from sergas.auth import TokenManager, token_manager
from sergas.db import create_engine, upgrade
from sergas.query import F
from sergas.sandbox.config import SandboxConfig
from sergas.sandbox.server import RunningSandbox, serve_sandbox
from sergas.settings import Settings, load_settings
from sergas.tiers import sdk_runtime
from sergas.tiers.sdk import ZohoSDKClient
from sergas.tiers.sdk_runtime import SDKTarget

pytestmark = pytest.mark.sdk

FIELDS = [
    "Account_Name",
    "Owner",
    "Parent_Account",
    "Annual_Revenue",
    "Employees",
    "Health_Score",
    "Account_Status",
    "Last_Health_Check",
    "Created_Time",
    "Industry",
]
FAST_JOBS = {
    "SERGAS_BULK_READ_THRESHOLD": 0,
    "SERGAS_BULK_WRITE_THRESHOLD": 0,
    "SERGAS_BULK_POLL_INITIAL": 0.05,
}


def sdk(make_tier: MakeTier, **overrides: Any) -> ZohoSDKClient:
    client = make_tier("sdk", **overrides)
    assert isinstance(client, ZohoSDKClient)
    return client


def refreshes(sandbox: RunningSandbox) -> int:
    return int(sandbox.stats()["tokens"]["refreshes"])


def calls(sandbox: RunningSandbox, prefix: str) -> int:
    return sum(n for path, n in sandbox.stats()["calls"].items() if path.startswith(prefix))


def rest_get(sandbox: RunningSandbox, path: str, **params: Any) -> Any:
    """Zoho's own answer, fetched with a plain HTTP client and a token of its own."""
    response = httpx2.get(
        sandbox.url + path,
        params=params,
        headers={"Authorization": "Zoho-oauthtoken " + sandbox.access_token()},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def sdk_logs() -> Iterator[list[logging.LogRecord]]:
    """Every record the SDK's logger emits, whatever the propagation."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(level=logging.DEBUG)
    logging.getLogger(sdk_runtime.SDK_LOGGER).addHandler(handler)
    yield records
    logging.getLogger(sdk_runtime.SDK_LOGGER).removeHandler(handler)


# -- initialization and tokens -----------------------------------------------------------------


async def test_the_sdk_is_initialized_once_for_every_client_of_a_target(
    make_tier: MakeTier, tier_sandbox: RunningSandbox
) -> None:
    first = sdk(make_tier)
    await first.get_accounts(limit=1, fields=["Account_Name"])
    count = sdk_runtime.initializations()
    second = sdk(make_tier)
    await second.get_accounts(limit=1, fields=["Account_Name"])
    await first.get_accounts(limit=1, fields=["Account_Name"])
    assert sdk_runtime.initializations() == count
    # Our store hands the SDK a token, so it never bootstraps one (users + org lookups).
    assert calls(tier_sandbox, "GET /crm/v8/users") == 0
    assert refreshes(tier_sandbox) == 1


async def test_another_target_while_a_client_is_open_is_refused(
    make_tier: MakeTier, tier_sandbox: RunningSandbox, tmp_path: Any
) -> None:
    first = sdk(make_tier)
    await first.health_check()
    other = sdk(make_tier, SERGAS_DATA_DIR=str(tmp_path / "elsewhere"))
    with pytest.raises(errors.ConfigError, match="once per process"):
        await other.get_accounts(limit=1, fields=["Account_Name"])
    await first.aclose()
    await sdk(make_tier, SERGAS_DATA_DIR=str(tmp_path / "elsewhere")).health_check()


async def test_a_closed_client_refuses_calls(make_tier: MakeTier) -> None:
    client = sdk(make_tier)
    await client.health_check()
    await client.aclose()
    with pytest.raises(errors.ConfigError, match="closed"):
        await client.get_accounts(limit=1)


async def test_every_refresh_is_our_token_managers(
    make_tier: MakeTier, tier_sandbox: RunningSandbox, tokens: TokenManager
) -> None:
    client = sdk(make_tier)
    rids = sorted(stored(tier_sandbox))[:20]
    await asyncio.gather(*(client.get_account(rid, fields=["Account_Name"]) for rid in rids))
    assert refreshes(tier_sandbox) == 1
    tier_sandbox.advance(3600)  # the sandbox now rejects the token: 401 INVALID_TOKEN
    await asyncio.gather(*(client.get_account(rid, fields=["Account_Name"]) for rid in rids))
    assert refreshes(tier_sandbox) == 2
    audit = (await tokens.status(audit_rows=50)).recent
    assert len([a for a in audit if a.outcome == "success"]) == refreshes(tier_sandbox)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, ("https://www.zohoapis.com", "https://accounts.zoho.com/oauth/v2/token")),
        (
            {"ZOHO_REGION": "ca"},
            ("https://www.zohoapis.ca", "https://accounts.zohocloud.ca/oauth/v2/token"),
        ),
        (
            {"ZOHO_REGION": "eu", "ZOHO_API_DOMAIN": "https://sandbox.zohoapis.eu"},
            ("https://sandbox.zohoapis.eu", "https://accounts.zoho.eu/oauth/v2/token"),
        ),
        (
            {
                "ZOHO_API_DOMAIN": "http://127.0.0.1:8085",
                "ZOHO_ACCOUNTS_URL": "http://127.0.0.1:8085",
            },
            ("http://127.0.0.1:8085", "http://127.0.0.1:8085/oauth/v2/token"),
        ),
    ],
)
def test_the_environment_comes_from_the_region_or_the_explicit_urls(
    env: dict[str, str], expected: tuple[str, str]
) -> None:
    environment = SDKTarget.from_settings(load_settings(**env), "default").environment()
    assert (environment.url, environment.accounts_url) == expected


# -- threads -----------------------------------------------------------------------------------


async def test_slow_sdk_calls_leave_the_event_loop_free(
    make_tier: MakeTier, tier_sandbox: RunningSandbox
) -> None:
    client = sdk(make_tier)
    await client.health_check()
    tier_sandbox.set_faults(latency_ms=400)
    ticks: list[float] = []

    async def tick() -> None:
        while True:
            ticks.append(time.monotonic())
            await asyncio.sleep(0.01)

    ticker = asyncio.create_task(tick())
    started = time.monotonic()
    await client.get_accounts(limit=5, fields=["Account_Name"])
    elapsed = time.monotonic() - started
    ticker.cancel()
    tier_sandbox.set_faults(latency_ms=0)
    assert elapsed >= 0.4
    assert len(ticks) >= 20
    assert max(b - a for a, b in itertools.pairwise(ticks)) < 0.2


async def test_at_most_sdk_threads_calls_are_in_flight(
    make_tier: MakeTier, tier_sandbox: RunningSandbox
) -> None:
    client = sdk(make_tier, SERGAS_SDK_THREADS=2)
    await client.health_check()
    tier_sandbox.set_faults(latency_ms=150)
    rids = sorted(stored(tier_sandbox))[:8]
    await asyncio.gather(*(client.get_account(rid, fields=["Account_Name"]) for rid in rids))
    tier_sandbox.set_faults(latency_ms=0)
    assert tier_sandbox.stats()["peak_concurrency"] == 2


async def test_iter_accounts_past_the_page_token_chain(
    settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    with serve_sandbox(SandboxConfig(accounts=1_000, page_token_limit=600)) as big:
        settings = settings_for(**big.env)
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'big.db'}")
        await upgrade(engine)
        tokens = token_manager(settings, engine=engine)
        client = ZohoSDKClient(settings, tokens)
        try:
            ids = [r["id"] async for r in client.iter_accounts(fields=["Account_Name"])]
        finally:
            await client.aclose()
            await tokens.aclose()
            await engine.dispose()
        assert len(ids) == 1_000 == len(set(ids))
        assert big.stats()["calls"].get("POST /crm/v8/coql", 0) >= 1


# -- the same records as the REST API ----------------------------------------------------------


async def test_a_record_equals_what_the_rest_api_returns(
    make_tier: MakeTier, tier_sandbox: RunningSandbox
) -> None:
    client = sdk(make_tier)
    rid, parent = sorted(stored(tier_sandbox))[7:9]
    # Every kind of value: lookup, picklist, integer, currency, datetime, owner, nulls.
    await client.update_account(
        rid,
        {
            "Parent_Account": {"id": parent},
            "Account_Status": "Watch",
            "Health_Score": 61,
            "Last_Health_Check": "2024-05-01T10:00:00+00:00",
            "Description": None,
        },
    )
    expected = rest_get(tier_sandbox, f"/crm/v8/Accounts/{rid}")["data"][0]
    got = await client.get_account(rid)
    for key, value in expected.items():
        assert got.get(key) == value, key
    assert got == expected
    assert got["Parent_Account"]["id"] == parent
    assert got["Last_Health_Check"] == "2024-05-01T10:00:00+00:00"

    page = rest_get(tier_sandbox, "/crm/v8/Accounts", fields=",".join(FIELDS), per_page=20)
    assert await client.get_accounts(limit=20, fields=FIELDS) == page["data"]


# -- errors ------------------------------------------------------------------------------------


async def test_an_unknown_module_is_not_found(make_tier: MakeTier) -> None:
    with pytest.raises(errors.NotFoundError) as raised:
        await sdk(make_tier).get_accounts(module="Nonexistent_Module")
    assert raised.value.code == "INVALID_MODULE"


async def test_an_invalid_record_is_invalid_data_with_zohos_code(
    make_tier: MakeTier, tier_sandbox: RunningSandbox
) -> None:
    client = sdk(make_tier)
    rid = sorted(stored(tier_sandbox))[3]
    with pytest.raises(errors.InvalidDataError) as raised:
        await client.update_account(rid, {"Account_Status": "Not A Status"})
    assert calls(tier_sandbox, "PUT ") == 1  # Zoho's answer: the SDK does not check picklists
    assert raised.value.code == "INVALID_DATA"
    assert raised.value.http_status == 400
    assert raised.value.details["api_name"] == "Account_Status"
    with pytest.raises(errors.InvalidDataError) as raised:
        await client.update_account(rid, {"No_Such_Field": "x"})
    assert (raised.value.code, raised.value.details["api_name"]) == (
        "INVALID_DATA",
        "No_Such_Field",
    )


async def test_a_value_of_the_wrong_type_is_refused_before_sending(
    make_tier: MakeTier, tier_sandbox: RunningSandbox
) -> None:
    client = sdk(make_tier)
    rid = sorted(stored(tier_sandbox))[3]
    await client.health_check()
    before = calls(tier_sandbox, "PUT ")
    with pytest.raises(errors.InvalidDataError) as raised:
        await client.update_account(rid, {"Health_Score": "seventy"})
    assert raised.value.details["expected_data_type"] == "integer"
    assert calls(tier_sandbox, "PUT ") == before


async def test_an_unreachable_zoho_is_a_connection_error(make_tier: MakeTier) -> None:
    client = sdk(make_tier, ZOHO_API_DOMAIN="http://127.0.0.1:9", SERGAS_RETRY_ATTEMPTS=2)
    with pytest.raises(errors.ConnectionError):
        await client.get_accounts(limit=1, fields=["Account_Name"])
    status = await client.health_check()
    assert not status.healthy and "CONNECTION_ERROR" in status.detail


async def test_a_dropped_connection_is_retried(
    make_tier: MakeTier, tier_sandbox: RunningSandbox
) -> None:
    client = sdk(make_tier)
    rid = sorted(stored(tier_sandbox))[2]
    await client.health_check()
    tier_sandbox.set_faults(targeted=[{"path": "/crm/v8/Accounts", "status": "drop", "count": 1}])
    assert (await client.get_account(rid, fields=["Account_Name"]))["id"] == rid
    assert tier_sandbox.stats()["faults_injected"] == 1


# -- bulk jobs ---------------------------------------------------------------------------------


async def test_bulk_read_job_equals_the_records_api(
    make_tier: MakeTier, seeded_sandbox: RunningSandbox
) -> None:
    client = sdk(make_tier, **FAST_JOBS)
    criteria = (F("Annual_Revenue") > 5_000_000) & F("Industry").in_(["Storage Equipment"])
    records = await client.bulk_read_accounts(criteria=criteria, fields=FIELDS)
    assert client.last_strategy == "bulk"
    assert calls(seeded_sandbox, "POST /crm/bulk/v8/read") == 1
    wanted = {
        r["id"]
        for r in seeded_sandbox.sandbox.store.all("Accounts")
        if (r.get("Annual_Revenue") or 0) > 5_000_000 and r.get("Industry") == "Storage Equipment"
    }
    assert wanted and {r["id"] for r in records} == wanted
    page = rest_get(
        seeded_sandbox, "/crm/v8/Accounts", fields=",".join(FIELDS), ids=",".join(sorted(wanted))
    )
    by_id = {r["id"]: r for r in page["data"]}
    assert {r["id"]: r for r in records} == by_id


async def test_bulk_write_job_reports_every_record(
    make_tier: MakeTier, seeded_sandbox: RunningSandbox
) -> None:
    client = sdk(make_tier, **FAST_JOBS)
    before = stored(seeded_sandbox)
    targets = sorted(before)[:30]
    updates: list[dict[str, Any]] = [{"id": rid, "Health_Score": 90} for rid in targets]
    updates[4] = {"id": targets[4], "Account_Status": "Not A Status"}
    updates[9] = {"id": "not-an-id", "Health_Score": 1}
    with structlog.contextvars.bound_contextvars(correlation_id="bulk-1"):
        result = await client.bulk_update_accounts(updates)
    assert client.writer.last_strategy == "bulk"
    assert calls(seeded_sandbox, "POST /crm/bulk/v8/write") == 1
    assert [r.index for r in result.results] == list(range(30))
    assert {(r.index, r.code) for r in result.failed} == {
        (4, "INVALID_DATA"),
        (9, "MANDATORY_NOT_FOUND"),
    }
    after = stored(seeded_sandbox)
    for i, rid in enumerate(targets):
        if i not in (4, 9):
            assert after[rid]["Health_Score"] == 90
    assert after[targets[4]] == before[targets[4]]


async def test_update_records_in_parallel_chunks_of_100(
    make_tier: MakeTier, seeded_sandbox: RunningSandbox
) -> None:
    client = sdk(make_tier)
    targets = sorted(stored(seeded_sandbox))[:450]
    result = await client.bulk_update_accounts([{"id": r, "Health_Score": 5} for r in targets])
    assert result.ok and len(result.results) == 450
    assert client.writer.last_strategy == "put"
    assert calls(seeded_sandbox, "PUT /crm/v8/Accounts") == 5
    assert seeded_sandbox.stats()["peak_heavy_concurrency"] <= 10


# -- correlation id and secrets ----------------------------------------------------------------


async def test_the_correlation_id_goes_out_as_a_header(
    make_tier: MakeTier, tier_sandbox: RunningSandbox, sdk_logs: list[logging.LogRecord]
) -> None:
    client = sdk(make_tier)
    rid = sorted(stored(tier_sandbox))[0]
    with structlog.contextvars.bound_contextvars(correlation_id="corr-42"):
        await client.get_account(rid, fields=["Account_Name"])
    sent = [r.getMessage() for r in sdk_logs if f"/crm/v8/Accounts/{rid}" in r.getMessage()]
    assert sent and '"X-Correlation-ID": "corr-42"' in sent[-1]


async def test_no_token_reaches_a_log_or_an_error(
    make_tier: MakeTier,
    tier_sandbox: RunningSandbox,
    tokens: TokenManager,
    sdk_logs: list[logging.LogRecord],
) -> None:
    root_seen: list[logging.LogRecord] = []

    class Root(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            root_seen.append(record)

    root = Root(level=logging.DEBUG)
    logging.getLogger().addHandler(root)
    client = sdk(make_tier)
    rid = sorted(stored(tier_sandbox))[0]
    try:
        with capture_logs() as events:
            await client.get_account(rid)
            first = await tokens.get_access_token()
            tier_sandbox.advance(3600)  # a 401, a refresh, a resend
            await client.get_account(rid)
            second = await tokens.get_access_token()
            with pytest.raises(errors.InvalidDataError) as raised:
                await client.update_account(rid, {"Account_Status": "Not A Status"})
    finally:
        logging.getLogger().removeHandler(root)
    assert first != second
    texts = [str(e) for e in events] + [r.getMessage() for r in sdk_logs]
    texts += [str(raised.value), repr(raised.value), str(raised.value.details), repr(client)]
    assert texts and any("crm/v8" in t for t in texts)
    for text in texts:
        assert first not in text and second not in text
    assert not [r for r in root_seen if r.name == sdk_runtime.SDK_LOGGER]
