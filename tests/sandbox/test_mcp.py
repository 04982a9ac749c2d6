"""The sandbox's MCP endpoint, driven by the real `mcp` client over streamable HTTP."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import orjson
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult, TextContent

from sergas.sandbox.config import SandboxConfig
from sergas.sandbox.http.app import create_app
from sergas.sandbox.server import RunningSandbox, serve_sandbox

TOOLS = {
    "search_records": {"module"},
    "get_record": {"module", "record_id"},
    "list_records": {"module", "fields"},
    "update_record": {"module", "record_id", "data"},
    "bulk_update_records": {"module", "records"},
    "coql_query": {"query"},
    "describe_module": {"module"},
    "get_related_records": {"module", "record_id", "related_list", "fields"},
    "get_notes": {"module", "record_id"},
    "add_note": {"module", "record_id", "content"},
    "get_deleted_records": {"module"},
    "get_record_count": {"module"},
}
FIELDS = "Account_Name,Industry,Annual_Revenue,Owner"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "raw", "version": "0"},
    },
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@asynccontextmanager
async def mcp_client(
    sandbox: RunningSandbox, *, mode: str = "auto", scheme: str = "Bearer"
) -> AsyncIterator[Client]:
    headers = {"Authorization": f"{scheme} {sandbox.access_token()}"}
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        transport = streamable_http_client(sandbox.url + "/mcp", http_client=http)
        async with Client(transport, mode=mode) as client:
            yield client


@asynccontextmanager
async def rest_client(sandbox: RunningSandbox) -> AsyncIterator[httpx2.AsyncClient]:
    headers = {"Authorization": f"Zoho-oauthtoken {sandbox.access_token()}"}
    async with httpx2.AsyncClient(base_url=sandbox.url, headers=headers, timeout=30) as client:
        yield client


def body_of(result: CallToolResult) -> dict[str, Any]:
    """The structured content, checked against the JSON text block that repeats it."""
    assert result.structured_content is not None
    [block] = result.content
    assert isinstance(block, TextContent)
    assert orjson.loads(block.text) == result.structured_content
    body: dict[str, Any] = result.structured_content
    return body


async def ok(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    return body_of(result)


async def error(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert result.is_error
    return body_of(result)


async def account_ids(rest: httpx2.AsyncClient, n: int) -> list[str]:
    response = await rest.get("/crm/v8/Accounts", params={"fields": "Account_Name", "per_page": n})
    return [r["id"] for r in response.json()["data"]]


def credits_used(sandbox: RunningSandbox) -> int:
    used: int = sandbox.stats()["credits"]["total_used"]
    return used


# -- discovery ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_lists_the_tools_with_their_arguments(sandbox: RunningSandbox, mode: str) -> None:
    async with mcp_client(sandbox, mode=mode) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == set(TOOLS)
    for name, required in TOOLS.items():
        assert set(tools[name].input_schema.get("required", [])) == required
    search = tools["search_records"].input_schema["properties"]
    assert {"criteria", "email", "phone", "word", "page", "per_page", "fields"} <= set(search)
    listing = tools["list_records"].input_schema["properties"]
    assert {"page", "per_page", "page_token", "sort_by", "sort_order"} <= set(listing)
    assert tools["get_record"].annotations is not None
    assert tools["get_record"].annotations.read_only_hint is True


# -- reads equal REST --------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_get_record_equals_rest(sandbox: RunningSandbox, mode: str) -> None:
    async with rest_client(sandbox) as rest, mcp_client(sandbox, mode=mode) as client:
        [record_id] = await account_ids(rest, 1)
        full = (await rest.get(f"/crm/v8/Accounts/{record_id}")).json()
        some = (await rest.get(f"/crm/v8/Accounts/{record_id}", params={"fields": FIELDS})).json()
        assert await ok(client, "get_record", module="Accounts", record_id=record_id) == full
        assert (
            await ok(
                client,
                "get_record",
                module="Accounts",
                record_id=record_id,
                fields=FIELDS.split(","),
            )
            == some
        )
        assert (
            await ok(client, "get_record", module="Accounts", record_id=record_id, fields=FIELDS)
            == some
        )


async def test_missing_record_is_empty_data(sandbox: RunningSandbox) -> None:
    async with mcp_client(sandbox) as client:
        body = await ok(client, "get_record", module="Accounts", record_id="1" * 19)
    assert body == {"data": []}


async def test_list_records_equals_rest_and_pages_by_token(sandbox: RunningSandbox) -> None:
    params: dict[str, Any] = {
        "fields": FIELDS,
        "per_page": 7,
        "sort_by": "Modified_Time",
        "sort_order": "asc",
    }
    async with rest_client(sandbox) as rest, mcp_client(sandbox) as client:
        expected = (await rest.get("/crm/v8/Accounts", params=params)).json()
        body = await ok(client, "list_records", module="Accounts", **params)
        assert body["data"] == expected["data"]
        # Page tokens are minted per call; everything else in info is the same.
        volatile = {"next_page_token", "page_token_expiry"}
        assert {k: v for k, v in body["info"].items() if k not in volatile} == {
            k: v for k, v in expected["info"].items() if k not in volatile
        }
        token = body["info"]["next_page_token"]
        second = await ok(client, "list_records", module="Accounts", page_token=token, **params)
        page2 = (await rest.get("/crm/v8/Accounts", params={**params, "page": 2})).json()
        assert second["data"] == page2["data"]


async def test_list_records_without_fields_is_a_zoho_error(sandbox: RunningSandbox) -> None:
    async with mcp_client(sandbox) as client:
        body = await error(client, "list_records", module="Accounts", fields=[])
    assert body["code"] == "REQUIRED_PARAM_MISSING"
    assert body["details"] == {"param_name": "fields"}


@pytest.mark.parametrize(
    "query",
    [
        {"criteria": "(Industry:equals:Government/Military)"},
        {"word": "Inc"},
        {"criteria": "(Annual_Revenue:greater_than:1000000)", "page": 2, "per_page": 5},
    ],
)
async def test_search_records_equals_rest(sandbox: RunningSandbox, query: dict[str, Any]) -> None:
    async with rest_client(sandbox) as rest, mcp_client(sandbox) as client:
        response = await rest.get("/crm/v8/Accounts/search", params={**query, "fields": FIELDS})
        expected = response.json() if response.status_code == 200 else None
        body = await ok(client, "search_records", module="Accounts", fields=FIELDS, **query)
    if expected is None:
        assert response.status_code == 204
        assert body["data"] == []
    else:
        assert body == expected


async def test_search_by_email_finds_the_contact(sandbox: RunningSandbox) -> None:
    async with rest_client(sandbox) as rest, mcp_client(sandbox) as client:
        contact = await rest.get("/crm/v8/Contacts", params={"fields": "Email", "per_page": 1})
        email = contact.json()["data"][0]["Email"]
        expected = (await rest.get("/crm/v8/Contacts/search", params={"email": email})).json()
        body = await ok(client, "search_records", module="Contacts", email=email)
    assert body == expected
    assert email in {r["Email"] for r in body["data"]}


async def test_search_needs_a_condition(sandbox: RunningSandbox) -> None:
    async with mcp_client(sandbox) as client:
        body = await error(client, "search_records", module="Accounts")
    assert body["code"] == "EXPECTED_PARAM_MISSING"


async def test_coql_equals_rest_and_costs_by_limit(sandbox: RunningSandbox) -> None:
    query = "select Account_Name, Annual_Revenue from Accounts where Annual_Revenue > 0 limit 300"
    async with rest_client(sandbox) as rest, mcp_client(sandbox) as client:
        before = credits_used(sandbox)
        expected = (await rest.post("/crm/v8/coql", json={"select_query": query})).json()
        rest_cost = credits_used(sandbox) - before
        before = credits_used(sandbox)
        body = await ok(client, "coql_query", query=query)
        assert credits_used(sandbox) - before == rest_cost
        bad = await error(client, "coql_query", query="select from")
    assert body == expected
    assert bad["code"] in {"SYNTAX_ERROR", "INVALID_QUERY"}


async def test_describe_module_equals_rest_fields(sandbox: RunningSandbox) -> None:
    async with rest_client(sandbox) as rest, mcp_client(sandbox) as client:
        expected = (await rest.get("/crm/v8/settings/fields", params={"module": "Deals"})).json()
        body = await ok(client, "describe_module", module="Deals")
    assert body == expected
    assert "Stage" in {f["api_name"] for f in body["fields"]}


# -- writes ------------------------------------------------------------------------------


async def test_update_record_changes_the_record(sandbox: RunningSandbox) -> None:
    async with rest_client(sandbox) as rest, mcp_client(sandbox) as client:
        [record_id] = await account_ids(rest, 1)
        body = await ok(
            client,
            "update_record",
            module="Accounts",
            record_id=record_id,
            data={"Account_Status": "At Risk", "Health_Score": 12},
        )
        [item] = body["data"]
        assert item["code"] == "SUCCESS" and item["status"] == "success"
        assert item["details"]["id"] == record_id
        stored = (await rest.get(f"/crm/v8/Accounts/{record_id}")).json()["data"][0]
    assert stored["Account_Status"] == "At Risk"
    assert stored["Health_Score"] == 12
    assert stored["Modified_Time"] == item["details"]["Modified_Time"]


async def test_update_record_failure_is_a_tool_error(sandbox: RunningSandbox) -> None:
    async with rest_client(sandbox) as rest, mcp_client(sandbox) as client:
        [record_id] = await account_ids(rest, 1)
        body = await error(
            client,
            "update_record",
            module="Accounts",
            record_id=record_id,
            data={"Health_Score": "very healthy"},
        )
        missing = await error(
            client,
            "update_record",
            module="Accounts",
            record_id="1" * 19,
            data={"Rating": "Active"},
        )
    assert body["code"] == "INVALID_DATA" and body["status"] == "error"
    assert body["details"]["api_name"] == "Health_Score"
    assert missing["code"] == "INVALID_DATA" and missing["details"]["api_name"] == "id"


async def test_bulk_update_reports_per_record_results(sandbox: RunningSandbox) -> None:
    async with rest_client(sandbox) as rest, mcp_client(sandbox) as client:
        first, second = await account_ids(rest, 2)
        body = await ok(
            client,
            "bulk_update_records",
            module="Accounts",
            records=[
                {"id": first, "Employees": 4321},
                {"id": "1" * 19, "Employees": 1},
                {"id": second, "Rating": "No such rating"},
                {"Employees": 2},
            ],
        )
        codes = [(item["status"], item["code"]) for item in body["data"]]
        assert codes == [
            ("success", "SUCCESS"),
            ("error", "INVALID_DATA"),
            ("error", "INVALID_DATA"),
            ("error", "MANDATORY_NOT_FOUND"),
        ]
        assert body["data"][0]["details"]["id"] == first
        assert body["data"][2]["details"]["api_name"] == "Rating"
        stored = (await rest.get(f"/crm/v8/Accounts/{first}")).json()["data"][0]
    assert stored["Employees"] == 4321


async def test_bulk_update_over_100_records_is_refused(sandbox: RunningSandbox) -> None:
    records = [{"id": str(i), "Employees": 1} for i in range(101)]
    async with mcp_client(sandbox) as client:
        body = await error(client, "bulk_update_records", module="Accounts", records=records)
    assert body["code"] == "LIMIT_EXCEEDED"


async def test_credits_match_rest(sandbox: RunningSandbox) -> None:
    async with rest_client(sandbox) as rest, mcp_client(sandbox) as client:
        ids = await account_ids(rest, 25)
        costs: dict[str, int] = {}
        calls: list[tuple[str, dict[str, Any]]] = [
            ("get_record", {"module": "Accounts", "record_id": ids[0]}),
            ("list_records", {"module": "Accounts", "fields": "Account_Name"}),
            ("describe_module", {"module": "Accounts"}),
            (
                "update_record",
                {"module": "Accounts", "record_id": ids[0], "data": {"Employees": 3}},
            ),
            (
                "bulk_update_records",
                {"module": "Accounts", "records": [{"id": i, "Employees": 5} for i in ids]},
            ),
        ]
        for tool, arguments in calls:
            before = credits_used(sandbox)
            await ok(client, tool, **arguments)
            costs[tool] = credits_used(sandbox) - before
    assert costs == {
        "get_record": 1,
        "list_records": 1,
        "describe_module": 1,
        "update_record": 1,
        "bulk_update_records": 3,  # 25 records: 1 credit per 10
    }


# -- errors and auth ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("get_record", {"record_id": "1"}),
        ("list_records", {"fields": "Name"}),
        ("search_records", {"word": "x"}),
        ("update_record", {"record_id": "1", "data": {}}),
        ("bulk_update_records", {"records": [{"id": "1"}]}),
        ("describe_module", {}),
    ],
)
async def test_unknown_module_is_invalid_module(
    sandbox: RunningSandbox, tool: str, arguments: dict[str, Any]
) -> None:
    async with mcp_client(sandbox) as client:
        body = await error(client, tool, module="Widgets", **arguments)
    assert body["code"] == "INVALID_MODULE"
    assert body["status"] == "error"
    assert body["message"] == "the module name given seems to be invalid"
    assert isinstance(body["details"], dict)


@pytest.mark.parametrize("authorization", [None, "Bearer nope", "Zoho-oauthtoken nope", "Basic x"])
async def test_bad_token_is_401_before_mcp(
    sandbox: RunningSandbox, authorization: str | None
) -> None:
    headers = dict(MCP_HEADERS)
    if authorization is not None:
        headers["Authorization"] = authorization
    async with httpx2.AsyncClient(timeout=10) as http:
        response = await http.post(sandbox.url + "/mcp", json=INITIALIZE, headers=headers)
    assert response.status_code == 401
    assert response.json() == {
        "code": "INVALID_TOKEN",
        "details": {},
        "message": "invalid oauth token",
        "status": "error",
    }
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_client_with_a_bad_token_cannot_connect(sandbox: RunningSandbox) -> None:
    async with httpx2.AsyncClient(headers={"Authorization": "Bearer nope"}, timeout=10) as http:
        transport = streamable_http_client(sandbox.url + "/mcp", http_client=http)
        with pytest.raises(ExceptionGroup) as raised:
            async with Client(transport, mode="legacy"):
                pass
    assert raised.group_contains(MCPError)


async def test_revoked_token_is_refused_mid_session(sandbox: RunningSandbox) -> None:
    async with mcp_client(sandbox, mode="legacy", scheme="Zoho-oauthtoken") as client:
        await ok(client, "describe_module", module="Tasks")
        sandbox.set_faults(revoke_tokens=True)
        with pytest.raises(MCPError):
            await client.call_tool("describe_module", {"module": "Tasks"})


# -- sessions ----------------------------------------------------------------------------


async def test_reinitialize_after_the_session_store_is_cleared(sandbox: RunningSandbox) -> None:
    async with mcp_client(sandbox, mode="legacy") as old:
        await ok(old, "describe_module", module="Tasks")
        await _restart(sandbox)
        # The old session id is gone: the server answers 404 with a JSON-RPC error.
        with pytest.raises(MCPError, match="Session not found"):
            await old.call_tool("describe_module", {"module": "Tasks"})
        # A new connection initializes again and works.
        async with mcp_client(sandbox, mode="legacy") as new:
            await ok(new, "describe_module", module="Tasks")


async def test_initialize_with_a_stale_session_id_opens_a_new_session(
    sandbox: RunningSandbox,
) -> None:
    headers = {**MCP_HEADERS, "Authorization": f"Bearer {sandbox.access_token()}"}
    async with httpx2.AsyncClient(base_url=sandbox.url, headers=headers, timeout=10) as http:
        first = await http.post("/mcp", json=INITIALIZE)
        assert first.status_code == 200
        stale = first.headers["mcp-session-id"]
        await _restart(sandbox)
        ping = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
        gone = await http.post("/mcp", json=ping, headers={"mcp-session-id": stale})
        assert gone.status_code == 404
        again = await http.post("/mcp", json=INITIALIZE, headers={"mcp-session-id": stale})
        assert again.status_code == 200
        fresh = again.headers["mcp-session-id"]
        assert fresh != stale
        assert again.json()["result"]["serverInfo"]["name"] == "zoho-crm-sandbox"
        session = {"mcp-session-id": fresh, "mcp-protocol-version": "2025-06-18"}
        initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        assert (await http.post("/mcp", json=initialized, headers=session)).status_code == 202
        listed = await http.post("/mcp", json=ping, headers=session)
    assert listed.status_code == 200
    assert {t["name"] for t in listed.json()["result"]["tools"]} == set(TOOLS)


async def _restart(sandbox: RunningSandbox) -> None:
    async with httpx2.AsyncClient(timeout=10) as http:
        response = await http.post(sandbox.url + "/__sandbox/mcp/restart")
    assert response.json() == {"status": "success"}


async def test_without_the_lifespan_the_endpoint_is_unavailable(
    crm_client: httpx2.AsyncClient,
) -> None:
    """In process (no lifespan, so no session manager) /mcp says so instead of crashing."""
    response = await crm_client.post("/mcp", json=INITIALIZE, headers=MCP_HEADERS)
    assert response.status_code == 503
    assert response.json()["code"] == "SERVICE_UNAVAILABLE"


def test_building_the_app_leaves_logging_alone() -> None:
    """MCPServer() configures the root logger; the sandbox undoes that."""
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    root.handlers.clear()
    try:
        create_app(SandboxConfig(accounts=5)).state.sandbox.close()
        assert root.handlers == []
        assert root.level == level
    finally:
        root.handlers[:] = saved


# -- the org's limits --------------------------------------------------------------------


async def _until(predicate: Callable[[], bool]) -> None:
    """Wait until the sandbox shows the state `predicate` looks for."""
    deadline = asyncio.get_running_loop().time() + 10
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "the sandbox never got there"
        await asyncio.sleep(0.01)


async def test_tool_calls_count_against_the_org_concurrency_cap() -> None:
    """Zoho's MCP server runs on the org's API limits: a call over the cap is refused."""
    with serve_sandbox(SandboxConfig(accounts=20, edition="free")) as sandbox:  # cap 5
        async with rest_client(sandbox) as rest, mcp_client(sandbox) as client:
            sandbox.set_faults(latency_ms=400)
            busy = [asyncio.create_task(rest.get("/crm/v8/org")) for _ in range(5)]
            await _until(lambda: sandbox.stats()["in_flight"] == 5)
            refused = await error(client, "describe_module", module="Tasks")
            assert all(r.status_code == 200 for r in await asyncio.gather(*busy))
            sandbox.set_faults(latency_ms=0)
            await ok(client, "describe_module", module="Tasks")
        stats = sandbox.stats()
    assert refused["code"] == "TOO_MANY_REQUESTS"
    assert refused["details"] == {"limit": 5, "limit_type": "concurrency"}
    assert stats["rejected_429"] == 1 and stats["in_flight"] == 0


async def test_tool_calls_hold_a_slot_for_their_latency(sandbox: RunningSandbox) -> None:
    sandbox.set_faults(latency_ms=300)
    async with mcp_client(sandbox) as first, mcp_client(sandbox) as second:
        await asyncio.gather(
            ok(first, "describe_module", module="Tasks"),
            ok(second, "coql_query", query="select id from Accounts limit 1"),
        )
    stats = sandbox.stats()
    assert stats["peak_concurrency"] == 2
    assert stats["peak_heavy_concurrency"] == 1  # COQL is heavy through MCP too


async def test_stats_count_tool_calls_by_name(sandbox: RunningSandbox) -> None:
    async with mcp_client(sandbox) as client:
        await ok(client, "describe_module", module="Tasks")
        await ok(client, "describe_module", module="Deals")
        await ok(client, "coql_query", query="select id from Accounts limit 1")
        await error(client, "get_record", module="Widgets", record_id="1")
    endpoints = sandbox.stats()["endpoints"]
    tools = {k: v for k, v in endpoints.items() if k.startswith("MCP ")}
    assert tools == {"MCP describe_module": 2, "MCP coql_query": 1, "MCP get_record": 1}
    assert endpoints["POST /mcp"] >= 4


async def test_tool_calls_are_counted_per_client(sandbox: RunningSandbox) -> None:
    headers = {"Authorization": f"Bearer {sandbox.access_token()}", "X-Sergas-Client": "agent-7"}
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        transport = streamable_http_client(sandbox.url + "/mcp", http_client=http)
        async with Client(transport) as client:
            await ok(client, "describe_module", module="Tasks")
            await ok(client, "list_records", module="Accounts", fields="Account_Name")
    assert sandbox.stats()["clients"]["agent-7"]["calls"] == 2
