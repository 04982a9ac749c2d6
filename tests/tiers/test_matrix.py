"""The same behaviour from every tier, against a served sandbox: paging (past Zoho's page-token
chain too), bulk reads and their calls, bulk updates and their outcomes, escaping, token expiry,
retries, timeouts, errors, and equal output across tiers. Which strategy ran is read from the
sandbox's call counts (per endpoint, per MCP tool)."""

from __future__ import annotations

import copy
import time
import uuid
from typing import Any

import httpx2
import pytest
from tests.tiers.conftest import AVAILABLE_TIERS, MakeTier

from sergas import errors
from sergas.query import CoqlQuery, F
from sergas.sandbox.server import RunningSandbox
from sergas.tiers.base import ZohoTier
from sergas.tiers.core import Tier
from sergas.tiers.core.primitives import WriteAnswer

UNKNOWN_ID = "5725767999999999999"
SPECIAL_NAMES = (
    "Paren (Left) Holdings",
    "Comma, Colon: and Sons",
    'O\'Brien "Quoted" Ltd',
    "Back\\slash\\ Trading",
    "Zoë Ünïcode Straße 東京 Ltd",
    "All (of), them: 'q' \"dq\" \\ é",
)


def refreshes(sandbox: RunningSandbox) -> int:
    return int(sandbox.stats()["tokens"]["refreshes"])


def coql_calls(sandbox: RunningSandbox, tier: ZohoTier) -> int:
    """COQL queries the sandbox answered: over HTTP, or as the MCP tool."""
    stats = sandbox.stats()
    if tier.name == "mcp":
        return int(stats["endpoints"].get("MCP coql_query", 0))
    return int(stats["calls"].get("POST /crm/v8/coql", 0))


def core(tier: ZohoTier) -> Tier:
    assert isinstance(tier, Tier)
    return tier


def stored(sandbox: RunningSandbox) -> dict[str, dict[str, Any]]:
    """Every account as the sandbox holds it, copied."""
    return {r["id"]: copy.deepcopy(r) for r in sandbox.sandbox.store.all("Accounts")}


def create_accounts(sandbox: RunningSandbox, names: list[str]) -> list[str]:
    """Insert accounts over the wire with a token of their own; their ids, in order."""
    response = httpx2.post(
        sandbox.url + "/crm/v8/Accounts",
        json={"data": [{"Account_Name": name} for name in names]},
        headers={"Authorization": "Zoho-oauthtoken " + sandbox.access_token()},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return [item["details"]["id"] for item in response.json()["data"]]


async def test_iter_accounts_yields_every_record_once_past_2000(
    tier: ZohoTier, tier_sandbox: RunningSandbox
) -> None:
    ids = [record["id"] async for record in tier.iter_accounts(fields=["Account_Name"])]
    total = tier_sandbox.stats()["records"]["Accounts"]
    assert total > 2000
    assert len(ids) == total
    assert len(set(ids)) == total


async def test_iter_accounts_walks_past_the_page_token_chain(
    tier: ZohoTier, tier_sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Zoho ends a chain of page tokens at 100,000 records; the sandbox's chain here ends at
    # 1,000, and the iteration must carry on by COQL below the last id it was given.
    sb = tier_sandbox.sandbox
    monkeypatch.setattr(sb, "config", sb.config.with_(page_token_limit=1000))
    before = coql_calls(tier_sandbox, tier)
    ids = [record["id"] async for record in tier.iter_accounts(fields=["Account_Name"])]
    assert len(ids) == tier_sandbox.stats()["records"]["Accounts"] == len(set(ids))
    assert ids == sorted(ids, key=int, reverse=True)  # the records API's order throughout
    assert coql_calls(tier_sandbox, tier) == before + 1  # 1,500 more rows: one COQL page


async def test_iter_accounts_with_criteria_reaches_every_match(
    tier: ZohoTier, tier_sandbox: RunningSandbox
) -> None:
    # More than the search API's 2,000: criteria must not cap the iteration.
    accounts = tier_sandbox.sandbox.store.all("Accounts")
    wanted = {r["id"] for r in accounts if r.get("Employees") is not None}
    assert len(wanted) > 2000
    criteria = F("Employees").is_not_null()
    ids = [r["id"] async for r in tier.iter_accounts(criteria=criteria, fields=["Employees"])]
    assert len(ids) == len(set(ids))
    assert set(ids) == wanted


async def test_bulk_update_reports_each_invalid_record_and_writes_the_rest(
    tier: ZohoTier, seeded_sandbox: RunningSandbox
) -> None:
    before = stored(seeded_sandbox)
    targets = sorted(before)[:250]
    updates: list[dict[str, Any]] = [
        {"id": rid, "Health_Score": n, "Account_Status": "Watch"} for n, rid in enumerate(targets)
    ]
    updates[10] = {"id": targets[10], "Account_Status": "Not A Status"}  # picklist
    updates[120] = {"id": targets[120], "Health_Score": "seventy"}  # integer
    updates[249] = {"id": UNKNOWN_ID, "Health_Score": 1}  # no such record
    bad = {10, 120, 249}

    result = await tier.bulk_update_accounts(updates)

    assert len(result.results) == 250
    assert [r.index for r in result.results] == list(range(250))
    assert {r.index for r in result.failed} == bad
    assert all(r.code for r in result.failed)
    assert {r.code for r in result.failed if r.index != 249} == {"INVALID_DATA"}
    assert len(result.succeeded) == 247
    after = stored(seeded_sandbox)
    written = {updates[i]["id"] for i in range(250) if i not in bad}
    for i in range(250):
        if i not in bad:
            assert after[targets[i]]["Health_Score"] == i
            assert after[targets[i]]["Account_Status"] == "Watch"
    untouched = set(before) - written
    assert {rid: after[rid] for rid in untouched} == {rid: before[rid] for rid in untouched}
    assert seeded_sandbox.stats()["records_written_more_than_once"] == 0


async def test_bulk_read_counts_then_reads_each_page_once(
    tier: ZohoTier, tier_sandbox: RunningSandbox
) -> None:
    total = tier_sandbox.stats()["records"]["Accounts"]
    before = coql_calls(tier_sandbox, tier)
    records = await tier.bulk_read_accounts(fields=["Account_Name", "Owner"])
    assert len(records) == total == len({r["id"] for r in records})
    assert all("email" in r["Owner"] for r in records)  # the records API's owner lookups
    pages = -(-total // 2000)
    assert coql_calls(tier_sandbox, tier) == before + 1 + pages  # the count, then each page
    # Exactly 2,000 matches fill the one page: the count says nothing more can follow.
    first = sorted(stored(tier_sandbox), key=int)[1999]
    before = coql_calls(tier_sandbox, tier)
    exact = await tier.bulk_read_accounts(criteria=F("id") <= int(first), fields=["Account_Name"])
    assert len(exact) == 2000
    assert coql_calls(tier_sandbox, tier) == before + 2


async def test_a_zero_count_returns_at_once(tier: ZohoTier, tier_sandbox: RunningSandbox) -> None:
    nothing = F("Account_Name") == f"no such account {uuid.uuid4().hex}"
    await tier.bulk_read_accounts(criteria=nothing, fields=["Account_Name"])  # metadata cached
    before = coql_calls(tier_sandbox, tier)
    assert await tier.bulk_read_accounts(criteria=nothing, fields=["Account_Name"]) == []
    assert coql_calls(tier_sandbox, tier) == before + 1  # the count alone


async def test_a_record_zoho_says_nothing_about_is_no_outcome(
    tier: ZohoTier, seeded_sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A failure no sandbox produces on demand: Zoho's answer leaves out a record's item.
    adapter = core(tier).adapter
    real = adapter.put_chunk

    async def drops_the_last(module: str, records: Any) -> WriteAnswer:
        answer = await real(module, records)
        return WriteAnswer(list(answer.items)[:-1], answer.status)

    async def answers_nothing(module: str, record_id: str, data: Any) -> WriteAnswer:
        return WriteAnswer([], 200)

    monkeypatch.setattr(adapter, "put_chunk", drops_the_last)
    monkeypatch.setattr(adapter, "update_one", answers_nothing)
    targets = sorted(stored(seeded_sandbox))[:150]
    result = await tier.bulk_update_accounts([{"id": rid, "Health_Score": 3} for rid in targets])
    assert [r.index for r in result.results] == list(range(150))
    missing = {(r.index, r.id, r.code) for r in result.failed}
    assert missing == {(99, targets[99], "NO_OUTCOME"), (149, targets[149], "NO_OUTCOME")}
    with pytest.raises(errors.SergasError) as raised:
        await tier.update_account(targets[0], {"Health_Score": 4})
    assert raised.value.code == "NO_OUTCOME"


async def test_search_and_coql_find_values_with_special_characters(
    tier: ZohoTier, tier_sandbox: RunningSandbox
) -> None:
    tag = uuid.uuid4().hex[:8]
    names = [f"{name} {tag}" for name in SPECIAL_NAMES]
    ids = create_accounts(tier_sandbox, names)
    for name, rid in zip(names, ids, strict=True):
        found = await tier.search_accounts(F("Account_Name") == name, fields=["Account_Name"])
        assert [(r["id"], r["Account_Name"]) for r in found] == [(rid, name)], name
        rows = await tier.coql(
            CoqlQuery("Accounts", ["Account_Name"], where=F("Account_Name") == name)
        )
        assert [(r["id"], r["Account_Name"]) for r in rows] == [(rid, name)], name


async def test_token_expiring_mid_run_is_refreshed_once(
    tier: ZohoTier, tier_sandbox: RunningSandbox
) -> None:
    seen = 0
    first_page_refreshes = None
    async for _ in tier.iter_accounts(fields=["Account_Name"]):
        seen += 1
        if seen == 200:  # between the first and the second page
            first_page_refreshes = refreshes(tier_sandbox)
            tier_sandbox.advance(3600)
    assert first_page_refreshes is not None
    assert seen == tier_sandbox.stats()["records"]["Accounts"]
    assert refreshes(tier_sandbox) == first_page_refreshes + 1


@pytest.mark.parametrize("status", [429, 503])
async def test_throttling_and_server_errors_are_retried(
    tier: ZohoTier, tier_sandbox: RunningSandbox, fault_path: str, status: int
) -> None:
    rid = sorted(stored(tier_sandbox))[0]
    tier_sandbox.set_faults(targeted=[{"path": fault_path, "status": status, "count": 2}])
    record = await tier.get_account(rid)
    assert record["id"] == rid
    assert tier_sandbox.stats()["faults_injected"] == 2


async def test_retries_give_up_with_the_mapped_error(
    tier_name: Any, make_tier: MakeTier, tier_sandbox: RunningSandbox, fault_path: str
) -> None:
    tier = make_tier(tier_name, SERGAS_RETRY_ATTEMPTS=2)
    rid = sorted(stored(tier_sandbox))[0]
    tier_sandbox.set_faults(targeted=[{"path": fault_path, "status": 503, "count": 50}])
    with pytest.raises(errors.ServerError):
        await tier.get_account(rid)


async def test_a_hang_longer_than_the_timeout_raises_timeout_error(
    tier_name: Any, make_tier: MakeTier, tier_sandbox: RunningSandbox, fault_path: str
) -> None:
    tier = make_tier(tier_name, SERGAS_HTTP_TIMEOUT=0.3, SERGAS_RETRY_ATTEMPTS=2)
    rid = sorted(stored(tier_sandbox))[0]
    await tier.get_account(rid)  # connect and authenticate before the hangs start
    tier_sandbox.set_faults(
        hang_seconds=3, targeted=[{"path": fault_path, "status": "hang", "count": 10}]
    )
    started = time.monotonic()
    with pytest.raises(errors.TimeoutError):
        await tier.get_account(rid)
    assert time.monotonic() - started < 2.5


async def test_fewer_hangs_than_attempts_still_succeed(
    tier_name: Any, make_tier: MakeTier, tier_sandbox: RunningSandbox, fault_path: str
) -> None:
    tier = make_tier(tier_name, SERGAS_HTTP_TIMEOUT=0.3, SERGAS_RETRY_ATTEMPTS=3)
    rid = sorted(stored(tier_sandbox))[0]
    await tier.get_account(rid)
    tier_sandbox.set_faults(
        hang_seconds=3, targeted=[{"path": fault_path, "status": "hang", "count": 1}]
    )
    assert (await tier.get_account(rid))["id"] == rid


async def test_unknown_record_is_not_found(tier: ZohoTier) -> None:
    with pytest.raises(errors.NotFoundError):
        await tier.get_account(UNKNOWN_ID)


async def test_rejected_single_update_raises(tier: ZohoTier, tier_sandbox: RunningSandbox) -> None:
    rid = sorted(stored(tier_sandbox))[1]
    with pytest.raises(errors.InvalidDataError):
        await tier.update_account(rid, {"Account_Status": "Not A Status"})
    ok = await tier.update_account(rid, {"Health_Score": 77})
    assert ok.ok and ok.id == rid
    assert tier_sandbox.sandbox.store.get("Accounts", rid)["Health_Score"] == 77


async def test_get_accounts_returns_one_page(tier: ZohoTier) -> None:
    page = await tier.get_accounts(limit=50, page=2, fields=["Account_Name"])
    first = await tier.get_accounts(limit=50, page=1, fields=["Account_Name"])
    assert len(page) == 50 and len(first) == 50
    assert not {r["id"] for r in page} & {r["id"] for r in first}


async def test_health_check_reports_healthy(tier: ZohoTier) -> None:
    status = await tier.health_check()
    assert status.healthy and status.tier == tier.name and status.latency_ms >= 0


async def test_every_tier_returns_equal_records(
    make_tier: MakeTier, tier_sandbox: RunningSandbox
) -> None:
    tiers = [make_tier(name) for name in AVAILABLE_TIERS]
    rid = sorted(stored(tier_sandbox))[5]
    name = tier_sandbox.sandbox.store.get("Accounts", rid)["Account_Name"]
    query = CoqlQuery(
        "Accounts",
        ["Account_Name", "Owner", "Annual_Revenue", "Employees", "Created_Time"],
        where=F("Account_Name") == name,
    )
    by_tier = {
        t.name: (
            await t.get_account(rid),
            await t.search_accounts(F("Account_Name") == name),
            await t.coql(query),
        )
        for t in tiers
    }
    reference = by_tier["rest"]
    assert reference[0]["id"] == rid
    for tier_name, outputs in by_tier.items():
        assert outputs == reference, tier_name
