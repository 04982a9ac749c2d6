"""What an agent sees of the tools, through a real MCP client over streamable HTTP: every
tool and argument described (with examples) and given an output schema; every failure in
the one error shape, flagged as an error, naming the argument or the field at fault."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.agents.conftest import body, connect
from tests.service.support import Keys

from sergas.sandbox.server import RunningSandbox

pytestmark = pytest.mark.slow


def _descriptions(schema: Any) -> list[str]:
    """Every description anywhere in a JSON schema."""
    found: list[str] = []
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "description" and isinstance(value, str):
                found.append(value)
            else:
                found += _descriptions(value)
    elif isinstance(schema, list):
        for item in schema:
            found += _descriptions(item)
    return found


def _error(result: Any) -> dict[str, Any]:
    assert result.is_error, result
    answer = body(result)
    assert set(answer) == {"error"} and set(answer["error"]) == {"code", "message", "details"}
    assert json.loads(result.content[0].text) == answer  # the same, for text-only clients
    error: dict[str, Any] = answer["error"]
    return error


async def test_every_tool_and_argument_is_described(mcp_url: str, keys: Keys) -> None:
    async with connect(mcp_url, keys.read) as agent:
        tools = (await agent.list_tools()).tools
    assert len(tools) == 16
    for tool in tools:
        assert tool.description and tool.description == tool.description.strip(), tool.name
        assert tool.output_schema and tool.output_schema["type"] == "object", tool.name
        properties = tool.input_schema.get("properties", {})
        for name, argument in properties.items():
            assert argument.get("description"), f"{tool.name}.{name} has no description"
            assert argument.get("examples"), f"{tool.name}.{name} has no examples"
        texts = [tool.description, *_descriptions(tool.input_schema)]
        texts += _descriptions(tool.output_schema)
        for text in texts:
            assert "\n " not in text and "\t" not in text, f"{tool.name}: {text!r}"
    search = next(t for t in tools if t.name == "search_records")
    assert "email" in search.input_schema["properties"]["owner"]["description"]


async def test_bad_arguments_name_the_argument(
    mcp_url: str, keys: Keys, tier_sandbox: RunningSandbox
) -> None:
    record_id = tier_sandbox.sandbox.store.ordered("Accounts")[3]["id"]
    async with connect(mcp_url, keys.read) as agent:
        not_an_id = _error(await agent.call_tool("get_account", {"record_id": "ACC-12"}))
        missing = _error(await agent.call_tool("get_account", {}))
        bad_op = _error(
            await agent.call_tool(
                "search_accounts",
                {"criteria": {"and": [{"field": "Industry", "op": "like", "value": "R"}]}},
            )
        )
        as_string = _error(
            await agent.call_tool("search_accounts", {"criteria": "(Rating:equals:Hot)"})
        )
        typo = _error(
            await agent.call_tool("get_account", {"record_id": record_id, "feilds": ["Phone"]})
        )
        unknown_tool = _error(await agent.call_tool("delete_account", {"record_id": record_id}))

    assert not_an_id["code"] == "INVALID_ARGUMENTS"
    (problem,) = not_an_id["details"]["problems"]
    assert (problem["argument"], problem["path"]) == ("record_id", "record_id")
    assert "digits" in problem["problem"] and "record_id" in not_an_id["message"]
    assert missing["details"]["problems"][0]["problem"] == "required, not given"
    (problem,) = bad_op["details"]["problems"]
    assert (problem["argument"], problem["path"]) == ("criteria", "criteria.and[0].op")
    assert "equals" in problem["problem"]
    assert "criteria string is not accepted" in as_string["message"]
    for error in (not_an_id, missing, bad_op, as_string):
        text = json.dumps(error)
        assert "pydantic" not in text and "validation error" not in text
        assert "input_value" not in text and "ACC-12" not in text  # the value is not echoed
    assert typo["code"] == "UNKNOWN_ARGUMENT" and typo["details"]["unknown"] == ["feilds"]
    assert "fields" in typo["details"]["arguments"]
    assert unknown_tool["code"] == "UNKNOWN_TOOL"
    assert "get_account" in unknown_tool["details"]["tools"]


async def test_an_unknown_field_is_named(
    mcp_url: str, keys: Keys, tier_sandbox: RunningSandbox
) -> None:
    record_id = tier_sandbox.sandbox.store.ordered("Accounts")[4]["id"]
    async with connect(mcp_url, keys.read) as agent:
        read = _error(
            await agent.call_tool(
                "get_account", {"record_id": record_id, "fields": ["Account_Name", "Revenue"]}
            )
        )
        searched = _error(
            await agent.call_tool(
                "search_accounts", {"criteria": {"field": "Revenue", "op": "equals", "value": 1}}
            )
        )
        proposed = _error(
            await agent.call_tool(
                "propose_account_update",
                {"record_id": record_id, "changes": {"Revenue": 1}, "reason": "a typo"},
            )
        )
    for error, argument in ((read, "fields"), (searched, "criteria"), (proposed, "changes")):
        assert error["details"]["field"] == "Revenue", error
        assert error["details"]["argument"] == argument
        assert error["details"].get("param_name") is None
        assert "'Revenue' is not a field API name of Accounts" in error["message"]


async def test_fields_and_coql(mcp_url: str, keys: Keys, tier_sandbox: RunningSandbox) -> None:
    store = tier_sandbox.sandbox.store
    industry = next(r["Industry"] for r in store.ordered("Accounts") if r["Industry"])
    async with connect(mcp_url, keys.read) as agent:
        fields = body(
            await agent.call_tool("describe_fields", {"module": "Accounts", "search": "rating"})
        )
        rows = body(
            await agent.call_tool(
                "query_coql",
                {
                    "query": "select Account_Name, Industry from Accounts where Industry = "
                    f"'{industry}'"
                },
            )
        )
        limited = body(
            await agent.call_tool(
                "query_coql",
                {"query": "select Account_Name from Accounts where id is not null limit 3"},
            )
        )
        writes = _error(
            await agent.call_tool("query_coql", {"query": "delete from Accounts where id = 1"})
        )
        too_many = _error(
            await agent.call_tool(
                "query_coql", {"query": "select id from Accounts where id is not null limit 900"}
            )
        )
        contact = store.ordered("Contacts")[0]
        got = body(
            await agent.call_tool("get_record", {"module": "Contacts", "record_id": contact["id"]})
        )
    (rating,) = [f for f in fields["fields"] if f["api_name"] == "Rating"]
    assert rating["data_type"] == "picklist" and "Active" in rating["picklist"]
    expected = [r for r in store.ordered("Accounts") if r["Industry"] == industry]
    assert rows["query"].endswith("limit 200")
    assert rows["count"] == min(len(expected), 200) and rows["more"] == (len(expected) >= 200)
    assert {r["Industry"] for r in rows["data"]} == {industry}
    assert (limited["count"], limited["more"]) == (3, True)
    assert writes["code"] == too_many["code"] == "INVALID_QUERY"
    assert "only a SELECT" in writes["message"] and too_many["details"]["limit"] == 900
    assert got["data"]["id"] == contact["id"]
