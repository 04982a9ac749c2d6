"""Tier 1, the MCP client, against a served sandbox: every operation, sessions, tokens,
errors and the tool-name map. The matrix (test_matrix.py) runs the shared behaviour;
permissions are the manager's (tests/manager/test_permissions.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx2
import orjson
import pytest
import structlog
from structlog.testing import capture_logs

from sergas import errors
from sergas.auth import TokenManager
from sergas.auth.hook import BEARER, ZohoAuth
from sergas.query import CoqlQuery, F
from sergas.sandbox.server import RunningSandbox
from sergas.settings import Settings
from sergas.tiers.mcp import ZohoMCPClient
from sergas.tiers.mcp_boundary import CORRELATION_HEADER, SESSION_LOST

MakeMCP = Callable[..., ZohoMCPClient]
UNKNOWN_ID = "5725767999999999999"
FIELDS = ["Account_Name", "Industry", "Annual_Revenue", "Owner"]


@pytest.fixture
async def make_mcp(
    settings_for: Callable[..., Settings], tokens: TokenManager
) -> AsyncIterator[MakeMCP]:
    """ZohoMCPClient(settings, tokens, **options); settings overrides by variable name."""
    built: list[ZohoMCPClient] = []

    def make(settings: dict[str, Any] | None = None, **options: Any) -> ZohoMCPClient:
        client = ZohoMCPClient(settings_for(**(settings or {})), tokens, **options)
        built.append(client)
        return client

    yield make
    for client in built:
        await client.aclose()


@pytest.fixture
def mcp(make_mcp: MakeMCP) -> ZohoMCPClient:
    return make_mcp()


@pytest.fixture
def rest(tier_sandbox: RunningSandbox) -> Callable[..., Any]:
    """Zoho's REST API, called directly: what every tier's output must equal."""
    headers = {"Authorization": f"Zoho-oauthtoken {tier_sandbox.access_token()}"}

    def call(method: str, path: str, **kwargs: Any) -> Any:
        response = httpx2.request(
            method, tier_sandbox.url + "/crm/v8" + path, headers=headers, timeout=30, **kwargs
        )
        assert response.status_code in (200, 204), response.text
        return response.json() if response.status_code == 200 else {"data": []}

    return call


def some_ids(sandbox: RunningSandbox, n: int) -> list[str]:
    return sorted(r["id"] for r in sandbox.sandbox.store.all("Accounts"))[:n]


def calls(sandbox: RunningSandbox, method: str = "POST") -> int:
    return int(sandbox.stats()["calls"].get(f"{method} /mcp", 0))


def credits(sandbox: RunningSandbox) -> int:
    return int(sandbox.stats()["credits"]["total_used"])


async def restart(sandbox: RunningSandbox) -> None:
    async with httpx2.AsyncClient(timeout=10) as http:
        response = await http.post(sandbox.url + "/__sandbox/mcp/restart")
    assert response.json() == {"status": "success"}


# -- operations ---------------------------------------------------------------------------


async def test_reads_equal_the_rest_api(
    mcp: ZohoMCPClient, tier_sandbox: RunningSandbox, rest: Callable[..., Any]
) -> None:
    rid = some_ids(tier_sandbox, 1)[0]
    assert await mcp.get_account(rid) == rest("GET", f"/Accounts/{rid}")["data"][0]
    listing = {"fields": ",".join(FIELDS), "per_page": 7, "page": 2}
    page = await mcp.get_accounts(limit=7, page=2, fields=FIELDS)
    assert page == rest("GET", "/Accounts", params=listing)["data"]
    name = page[0]["Account_Name"]
    criteria = F("Account_Name") == name
    search = rest("GET", "/Accounts/search", params={"criteria": criteria.to_search()})
    assert await mcp.search_accounts(criteria) == search["data"]
    query = CoqlQuery("Accounts", FIELDS, where=F("Annual_Revenue") > 1_000_000, limit=50)
    rows = await mcp.coql(query)
    assert rows == rest("POST", "/coql", json={"select_query": query.render()})["data"]
    assert await mcp.coql(query.render()) == rows


async def test_coql_reads_show_records_as_get_record_does(
    mcp: ZohoMCPClient, tier_sandbox: RunningSandbox
) -> None:
    criteria = (F("Rating") == "Active") & (F("Annual_Revenue") > 1_000_000)
    matched = [r async for r in mcp.iter_accounts(criteria=criteria)]
    assert matched and len({r["id"] for r in matched}) == len(matched)
    assert await mcp.bulk_read_accounts(criteria=criteria) == matched
    # COQL shows owners without email; the rows carry the records API's lookups.
    for row in matched[:3]:
        assert row == await mcp.get_account(row["id"])
        assert "email" in row["Owner"]
    everything = await mcp.bulk_read_accounts(fields=["Account_Name"])
    assert len(everything) == tier_sandbox.stats()["records"]["Accounts"]


async def test_search_stops_at_its_limit(mcp: ZohoMCPClient) -> None:
    found = await mcp.search_accounts(F("Account_Name").starts_with("A"), limit=3)
    assert len(found) <= 3
    many = await mcp.search_accounts(F("Employees").is_not_null(), limit=450, fields=FIELDS)
    assert len(many) == 450 and len({r["id"] for r in many}) == 450


async def test_updates_report_each_record_in_input_order(
    mcp: ZohoMCPClient, tier_sandbox: RunningSandbox
) -> None:
    ids = some_ids(tier_sandbox, 150)
    one = await mcp.update_account(ids[0], {"id": ids[0], "Health_Score": 41})
    assert (one.ok, one.id, one.code) == (True, ids[0], "SUCCESS")
    records: list[dict[str, Any]] = [{"id": rid, "Health_Score": 42} for rid in ids[1:]]
    records.insert(120, {"id": UNKNOWN_ID, "Health_Score": 1})  # in the second chunk
    result = await mcp.bulk_update_accounts(records)
    assert [r.index for r in result.results] == list(range(150))
    assert [r.index for r in result.failed] == [120]
    assert result.failed[0].id == UNKNOWN_ID
    assert [r.id for r in result.succeeded] == ids[1:]
    store = tier_sandbox.sandbox.store
    assert store.get("Accounts", ids[0])["Health_Score"] == 41
    assert {store.get("Accounts", rid)["Health_Score"] for rid in ids[1:]} == {42}
    assert (await mcp.bulk_update_accounts([])).results == ()


async def test_health_check_lists_the_tools_and_times_it(mcp: ZohoMCPClient) -> None:
    status = await mcp.health_check()
    assert status.tier == "mcp" and status.healthy and status.detail == ""
    assert status.latency_ms > 0


# -- sessions -----------------------------------------------------------------------------


async def test_the_session_is_reopened_after_a_server_restart(
    mcp: ZohoMCPClient, tier_sandbox: RunningSandbox
) -> None:
    rid = some_ids(tier_sandbox, 1)[0]
    await mcp.get_account(rid)
    await mcp.get_account(rid)
    assert mcp.connection.sessions_opened == 1  # one session, kept open
    await restart(tier_sandbox)
    assert (await mcp.get_account(rid))["id"] == rid
    assert mcp.connection.sessions_opened == 2
    assert calls(tier_sandbox, "DELETE") == 0  # no goodbye to a server that forgot us


async def test_a_dropped_connection_is_reopened_and_the_read_resent(
    mcp: ZohoMCPClient, tier_sandbox: RunningSandbox
) -> None:
    rid = some_ids(tier_sandbox, 1)[0]
    await mcp.get_account(rid)
    tier_sandbox.set_faults(targeted=[{"path": "/mcp", "method": "POST", "status": "drop"}])
    assert (await mcp.get_account(rid))["id"] == rid
    assert mcp.connection.sessions_opened == 2
    assert tier_sandbox.stats()["faults_injected"] == 1


async def test_a_call_that_is_not_idempotent_is_not_resent(
    mcp: ZohoMCPClient, tier_sandbox: RunningSandbox
) -> None:
    await mcp.health_check()
    await restart(tier_sandbox)
    sent = calls(tier_sandbox)
    with pytest.raises(errors.ConnectionError) as lost:
        await mcp.connection.call_tool("describe_module", {"module": "Tasks"}, idempotent=False)
    assert lost.value.code == SESSION_LOST
    assert calls(tier_sandbox) == sent + 1
    assert (await mcp.health_check()).healthy  # the next call opens a new session


async def test_closing_ends_the_session_at_the_server(
    make_mcp: MakeMCP, tier_sandbox: RunningSandbox
) -> None:
    client = make_mcp()
    await client.health_check()
    await client.aclose()
    assert calls(tier_sandbox, "DELETE") == 1


async def test_the_stateless_protocol_works_too(
    make_mcp: MakeMCP, tier_sandbox: RunningSandbox
) -> None:
    client = make_mcp(protocol="auto")  # 2026-era: no session to lose
    rid = some_ids(tier_sandbox, 1)[0]
    assert (await client.get_account(rid))["id"] == rid
    await restart(tier_sandbox)
    assert (await client.get_account(rid))["id"] == rid
    assert client.connection.sessions_opened == 1


# -- tokens -------------------------------------------------------------------------------


async def test_an_expired_token_is_refreshed_once_and_the_session_kept(
    mcp: ZohoMCPClient, tier_sandbox: RunningSandbox
) -> None:
    rid = some_ids(tier_sandbox, 1)[0]
    await mcp.get_account(rid)
    tokens = tier_sandbox.stats()["tokens"]
    tier_sandbox.advance(3600)  # the sandbox's token expires; our clock does not know
    assert (await mcp.get_account(rid))["id"] == rid
    after = tier_sandbox.stats()["tokens"]
    assert after["refreshes"] == tokens["refreshes"] + 1
    assert after["invalid_token_responses"] == tokens["invalid_token_responses"] + 1
    assert mcp.connection.sessions_opened == 1


async def test_no_token_in_logs_reprs_or_errors(
    mcp: ZohoMCPClient, tier_sandbox: RunningSandbox, tokens: TokenManager
) -> None:
    rid = some_ids(tier_sandbox, 1)[0]
    with capture_logs() as logs:
        await mcp.get_account(rid)
        tier_sandbox.advance(3600)
        await mcp.get_account(rid)
        await restart(tier_sandbox)
        await mcp.get_account(rid)
        with pytest.raises(errors.NotFoundError) as missing:
            await mcp.get_account(UNKNOWN_ID)
    token = await tokens.get_access_token()
    seen = " ".join(
        [
            repr(logs),
            repr(mcp),
            repr(mcp.connection),
            repr(ZohoAuth(tokens, scheme=BEARER)),
            repr(missing.value),
            str(missing.value.details),
        ]
    )
    assert token not in seen


# -- errors, tool names, settings ---------------------------------------------------------


async def test_zoho_errors_map_to_the_sergas_classes(
    mcp: ZohoMCPClient, tier_sandbox: RunningSandbox
) -> None:
    rid = some_ids(tier_sandbox, 1)[0]
    with pytest.raises(errors.NotFoundError) as unknown_module:
        await mcp.get_account(rid, module="Widgets")
    assert unknown_module.value.code == "INVALID_MODULE"
    with pytest.raises(errors.NotFoundError):
        await mcp.get_accounts(module="Widgets", fields=["Name"])
    with pytest.raises(errors.NotFoundError):  # every chunk failed: raised, not reported
        await mcp.bulk_update_accounts([{"id": rid, "Name": "x"}], module="Widgets")
    with pytest.raises(errors.NotFoundError) as missing:
        await mcp.get_account(UNKNOWN_ID)
    assert missing.value.code == "RESOURCE_NOT_FOUND"
    with pytest.raises(errors.InvalidDataError):
        await mcp.coql("select from")
    with pytest.raises(errors.InvalidDataError) as invalid:
        await mcp.update_account(rid, {"Health_Score": "very healthy"})
    assert invalid.value.details["api_name"] == "Health_Score"
    with pytest.raises(errors.LimitExceededError):
        await mcp.get_accounts(limit=201)


async def test_http_errors_of_the_endpoint_are_mapped(
    make_mcp: MakeMCP, tier_sandbox: RunningSandbox
) -> None:
    client = make_mcp(settings={"SERGAS_RETRY_ATTEMPTS": 1})
    tier_sandbox.set_faults(targeted=[{"path": "/mcp", "status": 429, "count": 1}])
    with pytest.raises(errors.RateLimitError):
        await client.get_account(UNKNOWN_ID)
    tier_sandbox.set_faults(targeted=[{"path": "/mcp", "status": 503, "count": 1}])
    status = await client.health_check()
    assert not status.healthy and status.detail.startswith("SERVICE_UNAVAILABLE")


async def test_the_tool_name_map_is_used_and_checked(
    make_mcp: MakeMCP, tier_sandbox: RunningSandbox
) -> None:
    renamed = make_mcp(tools={"get_record": "fetch_record"})
    status = await renamed.health_check()
    assert not status.healthy and status.detail == "missing tools: fetch_record"
    with pytest.raises(errors.SergasError) as failed:
        await renamed.get_account(some_ids(tier_sandbox, 1)[0])
    assert failed.value.code == "MCP_TOOL_ERROR" and "fetch_record" in failed.value.message
    with pytest.raises(errors.ConfigError, match="delete_record"):
        make_mcp(tools={"delete_record": "x"})
    # The same map from the environment; the constructor's wins.
    configured = make_mcp(settings={"ZOHO_MCP_TOOLS": '{"get_record": "fetch_record"}'})
    assert configured.tools["get_record"] == "fetch_record"
    assert (
        make_mcp(
            settings={"ZOHO_MCP_TOOLS": '{"get_record": "fetch_record"}'},
            tools={"get_record": "get_record"},
        ).tools["get_record"]
        == "get_record"
    )
    with pytest.raises(errors.ConfigError, match="ZOHO_MCP_TOOLS"):
        make_mcp(settings={"ZOHO_MCP_TOOLS": "{not json"})


async def test_an_endpoint_without_the_account_work_tools_is_healthy_and_says_unsupported(
    make_mcp: MakeMCP, tier_sandbox: RunningSandbox
) -> None:
    # An endpoint that names no get_notes tool (mapped here to one the server lacks).
    lacking = make_mcp(tools={"get_notes": "crm_notes", "get_record_count": "crm_count"})
    assert (await lacking.health_check()).healthy  # the core tools are all there
    rid = some_ids(tier_sandbox, 1)[0]
    before = calls(tier_sandbox)
    with pytest.raises(errors.UnsupportedError) as raised:
        await lacking.get_notes(rid)
    assert "crm_notes" in raised.value.message
    with pytest.raises(errors.UnsupportedError):
        await lacking.count_records()
    assert calls(tier_sandbox) == before  # the tool list from the health check sufficed
    fresh = make_mcp(tools={"get_notes": "crm_notes"})
    with pytest.raises(errors.UnsupportedError):
        await fresh.get_notes(rid)  # lists the tools once, then refuses
    contacts = await fresh.get_related_records(rid, "Contacts")  # a tool it does offer
    assert {c["id"] for c in contacts.records} == {
        c["id"]
        for c in tier_sandbox.sandbox.store.all("Contacts")
        if (c.get("Account_Name") or {}).get("id") == rid
    }
    assert tier_sandbox.stats()["endpoints"].get("MCP get_related_records") == 1


async def test_without_an_mcp_url_calls_fail_with_config_error(make_mcp: MakeMCP) -> None:
    client = make_mcp(settings={"ZOHO_MCP_URL": ""})
    with pytest.raises(errors.ConfigError, match="ZOHO_MCP_URL"):
        await client.get_account(UNKNOWN_ID)
    status = await client.health_check()
    assert not status.healthy and "ZOHO_MCP_URL" in status.detail


async def test_the_correlation_id_goes_out_with_the_call(
    mcp: ZohoMCPClient, tier_sandbox: RunningSandbox
) -> None:
    sent: list[tuple[str, str | None]] = []

    async def record(request: httpx2.Request) -> None:
        method = orjson.loads(request.content).get("method") if request.content else None
        sent.append((method or request.method, request.headers.get(CORRELATION_HEADER)))

    mcp.connection.http.event_hooks["request"].append(record)
    rid = some_ids(tier_sandbox, 1)[0]
    structlog.contextvars.bind_contextvars(correlation_id="sweep-42")
    try:
        await mcp.get_account(rid)
    finally:
        structlog.contextvars.unbind_contextvars("correlation_id")
    await mcp.get_account(rid)
    assert [cid for method, cid in sent if method == "tools/call"] == ["sweep-42", None]
    # The session's own requests carry none: they do not belong to one caller.
    session = {"initialize", "notifications/initialized", "GET"}
    assert {cid for method, cid in sent if method in session} == {None}
