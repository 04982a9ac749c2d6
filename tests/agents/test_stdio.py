"""`sergas mcp --transport stdio` spawned by the `mcp` client, as an agent host would: tools
listed, reads allowed, writes queued, approved or rejected with `sergas approvals`, the
sweep's findings served, every call audited."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from sqlalchemy import select

from sergas.db import create_engine
from sergas.db.tables import tool_calls
from sergas.sandbox.server import RunningSandbox

pytestmark = pytest.mark.slow

PROPOSING = {"propose_account_update", "propose_note", "propose_create"}
TOOLS = PROPOSING | {
    "search_accounts",
    "get_account",
    "list_at_risk_accounts",
    "account_brief",
    "list_proposals",
    "list_records",
    "search_records",
    "get_record",
    "describe_fields",
    "find_users",
    "query_coql",
    "get_related_records",
    "get_notes",
}
# Shaped like a Zoho access token: must never be stored as given.
LEAKED_TOKEN = "1000.0f3c9a7be21d4c5a8e6f.b7d2e4f6a8c0e1d3f5a7"


def sergas(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sergas", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def stdio(env: dict[str, str]) -> Client:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "sergas", "mcp", "--transport", "stdio"], env=env
    )
    return Client(params, read_timeout_seconds=60)


def body(result: Any) -> Any:
    assert result.structured_content is not None, result
    return result.structured_content


async def audit_rows(data_dir: Path) -> list[dict[str, Any]]:
    engine = create_engine(f"sqlite+aiosqlite:///{data_dir / 'sergas.db'}")
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(select(tool_calls).order_by(tool_calls.c.id))).mappings()
            return [dict(r) for r in rows]
    finally:
        await engine.dispose()


async def test_an_agent_on_stdio(
    process_env: dict[str, str], tier_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    store = tier_sandbox.sandbox.store
    first, second = (r["id"] for r in store.ordered("Accounts")[:2])
    before = dict(store.get("Accounts", second))
    swept = sergas(process_env, "sweep", "--json", "--out", str(tmp_path / "briefs"))
    assert swept.returncode == 0, swept.stderr

    async with stdio(process_env) as client:
        tools = await client.list_tools()
        assert {t.name for t in tools.tools} == TOOLS
        read_only = {t.name for t in tools.tools if t.annotations and t.annotations.read_only_hint}
        assert read_only == TOOLS - PROPOSING

        got = body(await client.call_tool("get_account", {"record_id": first}))
        assert got["data"]["Account_Name"] == store.get("Accounts", first)["Account_Name"]

        at_risk = body(await client.call_tool("list_at_risk_accounts", {"limit": 500}))
        expected = [r for r in store.ordered("Accounts") if r.get("Account_Status") == "At Risk"]
        assert at_risk["total"] == len(expected) > 0
        assert {a["id"] for a in at_risk["accounts"]} == {r["id"] for r in expected}
        scores = [a["score"] for a in at_risk["accounts"]]
        assert scores == sorted(scores) and all(a["reasons"] for a in at_risk["accounts"])

        brief = body(await client.call_tool("account_brief", {"record_id": expected[0]["id"]}))
        assert brief["health"]["status"] == "At Risk"
        assert brief["health"]["score"] == expected[0]["Health_Score"]
        assert "At Risk" in brief["markdown"]

        summary = await client.read_resource("sergas://sweep/summary")
        assert json.loads(summary.contents[0].text)["run"]["id"] == at_risk["run"]["id"]

        queued = body(
            await client.call_tool(
                "propose_account_update",
                {
                    "record_id": first,
                    "changes": {"Description": "Renewal at risk: call the CFO"},
                    "reason": f"spotted in the brief (my token is {LEAKED_TOKEN})",
                },
            )
        )
        assert queued["status"] == "pending"
        rejected = body(
            await client.call_tool(
                "propose_account_update",
                {"record_id": second, "changes": {"Phone": "+1 555 0199"}, "reason": "a guess"},
            )
        )
        bad = await client.call_tool("search_accounts", {"criteria": "(Rating:equals:Hot)"})
        assert bad.is_error
    # Queued, not written.
    assert store.get("Accounts", first)["Description"] != "Renewal at risk: call the CFO"

    listed = json.loads(sergas(process_env, "approvals", "list", "--json").stdout)
    assert [a["id"] for a in listed] == [rejected["approval_id"], queued["approval_id"]]
    assert listed[1]["client_name"] == "local (stdio)"
    assert LEAKED_TOKEN not in json.dumps(listed)

    approved = sergas(
        process_env,
        "approvals",
        "approve",
        str(queued["approval_id"]),
        "--json",
        "--by",
        "dana",
        "--note",
        "agreed",
    )
    assert approved.returncode == 0, approved.stderr
    result = json.loads(approved.stdout)
    assert result["status"] == "applied" and result["decided_by"] == "dana"
    assert result["outcome"]["ok"] is True
    assert store.get("Accounts", first)["Description"] == "Renewal at risk: call the CFO"

    no = sergas(process_env, "approvals", "reject", str(rejected["approval_id"]), "--note", "no")
    assert no.returncode == 0, no.stderr
    assert store.get("Accounts", second) == before
    again = sergas(process_env, "approvals", "approve", str(rejected["approval_id"]))
    assert again.returncode == 1 and "rejected, not pending" in again.stderr
    shown = sergas(process_env, "approvals", "show", str(rejected["approval_id"]))
    assert "rejected" in shown.stdout and "Phone" in shown.stdout

    rows = await audit_rows(tmp_path / "data")
    assert [r["tool"] for r in rows] == [
        "get_account",
        "list_at_risk_accounts",
        "account_brief",
        "propose_account_update",
        "propose_account_update",
        "search_accounts",
    ]
    assert {r["transport"] for r in rows} == {"stdio"}
    assert {r["client_name"] for r in rows} == {"local (stdio)"}
    assert [r["outcome"] for r in rows] == ["ok", "ok", "ok", "queued", "queued", "error"]
    assert rows[3]["approval_id"] == queued["approval_id"]
    assert rows[5]["error_code"] == "INVALID_ARGUMENTS"
    assert LEAKED_TOKEN not in json.dumps([r["arguments"] for r in rows], default=str)
    assert "[redacted]" in rows[3]["arguments"]["reason"]


async def test_a_write_scope_key_writes_directly(
    process_env: dict[str, str], tier_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    created = sergas(
        process_env, "apikeys", "create", "--name", "ops agent", "--scope", "write", "--json"
    )
    key = json.loads(created.stdout)
    record_id = tier_sandbox.sandbox.store.ordered("Accounts")[7]["id"]
    env = {**process_env, "SERGAS_MCP_API_KEY": key["key"]}
    async with stdio(env) as client:
        done = body(
            await client.call_tool(
                "propose_account_update",
                {"record_id": record_id, "changes": {"Phone": "+1 555 0142"}, "reason": "fix"},
            )
        )
        # Revoked while the session is open: the next call is refused.
        assert sergas(process_env, "apikeys", "revoke", key["key_id"]).returncode == 0
        refused = await client.call_tool("get_account", {"record_id": record_id})
    assert done["status"] == "applied" and done["outcome"]["ok"] is True
    assert tier_sandbox.sandbox.store.get("Accounts", record_id)["Phone"] == "+1 555 0142"
    assert refused.is_error and body(refused)["error"]["code"] == "INVALID_API_KEY"
    row, denied = await audit_rows(tmp_path / "data")
    assert (row["client_key_id"], row["client_name"], row["outcome"]) == (
        key["key_id"],
        "ops agent",
        "ok",
    )
    # The refused call names the key it came with (its public id, never the secret).
    assert (
        denied["tool"],
        denied["outcome"],
        denied["error_code"],
        denied["client_key_id"],
        denied["client_name"],
        denied["result"]["reason"],
    ) == ("get_account", "denied", "INVALID_API_KEY", key["key_id"], "ops agent", "revoked")
    assert key["key"][17:] not in json.dumps([row, denied], default=str)
    # A session started with the revoked key is refused, audited, and says why in one line.
    started = sergas(env, "mcp", "--transport", "stdio")
    assert started.returncode == 1
    refusal = "\nerror: unknown or revoked API key (INVALID_API_KEY)\n"
    assert refusal in started.stderr, started.stderr
    warning = json.loads(started.stderr.splitlines()[0])
    assert (warning["event"], warning["level"], warning["key_id"], warning["reason"]) == (
        "caller refused",
        "warning",
        key["key_id"],
        "revoked",
    )
    start = (await audit_rows(tmp_path / "data"))[-1]
    assert (start["tool"], start["outcome"], start["client_key_id"]) == (
        "(session start)",
        "denied",
        key["key_id"],
    )
    history = json.loads(
        sergas(process_env, "approvals", "list", "--status", "all", "--json").stdout
    )
    assert history[0]["status"] == "applied"
    assert history[0]["decided_by"].endswith("(direct write)")


async def test_a_read_only_agents_note_waits_for_a_person(
    process_env: dict[str, str], tier_sandbox: RunningSandbox
) -> None:
    store = tier_sandbox.sandbox.store
    account_id = store.ordered("Accounts")[9]["id"]
    text = "Champion left the company; find a new sponsor"

    def notes() -> list[dict[str, Any]]:
        return [
            n
            for n in store.all("Notes")
            if (n.get("Parent_Id") or {}).get("id") == account_id and n["Note_Content"] == text
        ]

    async with stdio(process_env) as client:
        queued = body(
            await client.call_tool(
                "propose_note",
                {"record_id": account_id, "content": text, "reason": "seen in the brief"},
            )
        )
    assert (queued["status"], queued["action"]) == ("pending", "note")
    assert notes() == []

    wide = {**process_env, "COLUMNS": "250"}
    listed = sergas(wide, "approvals", "list", "--no-current")
    assert listed.returncode == 0, listed.stderr
    assert f"note on Accounts {account_id}" in listed.stdout
    shown = sergas(process_env, "approvals", "show", str(queued["approval_id"]))
    assert "Note_Content" in shown.stdout and "when proposed" not in shown.stdout

    approved = sergas(
        process_env, "approvals", "approve", str(queued["approval_id"]), "--json", "--by", "dana"
    )
    assert approved.returncode == 0, approved.stderr
    result = json.loads(approved.stdout)
    assert (result["status"], result["action"]) == ("applied", "note")
    (note,) = notes()
    assert result["outcome"]["id"] == note["id"]
