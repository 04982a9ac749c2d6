"""The MCP server over streamable HTTP on a loopback port, driven by the `mcp` client: each
client's API key decides what its proposals do; approvals apply through the manager."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientMetadata
from pydantic import AnyUrl
from tests.agents.conftest import body, connect
from tests.service.support import Keys, captured_logs

from sergas.access.applying import approve
from sergas.access.approvals import ApprovalStore, StaleProposalError
from sergas.access.audit import AuditLog
from sergas.access.keys import ApiKeyStore
from sergas.access.principal import Principal
from sergas.runtime import Runtime
from sergas.sandbox.server import RunningSandbox

pytestmark = pytest.mark.slow


async def test_no_key_no_session(mcp_url: str, keys: Keys, runtime: Runtime) -> None:
    """Every refusal is answered 401, audited with the key id it claimed (never the secret)
    and why, and logged at warning."""
    hello = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    store = ApiKeyStore(runtime.engine)
    revoked, info = await store.create("retired agent", "write")
    await store.revoke(info.key_id)
    unknown = "sgk_" + "0" * 12 + "_" + "A" * 43
    sent = {
        "missing": None,
        "malformed": "Bearer not-a-key",
        "wrong secret": f"Bearer {keys.read}x",
        "revoked": f"Bearer {revoked}",
        "unknown": f"Bearer {unknown}",
    }
    with captured_logs() as logs:
        async with httpx2.AsyncClient(timeout=10) as http:
            answers = {
                why: await http.post(
                    mcp_url, json=hello, headers={"Authorization": auth} if auth else {}
                )
                for why, auth in sent.items()
            }
    assert {r.status_code for r in answers.values()} == {401}
    assert answers["missing"].json()["error"]["code"] == "UNAUTHENTICATED"
    assert {answers[w].json()["error"]["code"] for w in sent if w != "missing"} == {
        "INVALID_API_KEY"
    }

    rows = list(reversed(await AuditLog(runtime.engine).recent()))
    assert [(r["result"]["reason"], r["outcome"], r["transport"]) for r in rows] == [
        (why, "denied", "http") for why in sent
    ]
    assert [r["client_key_id"] for r in rows] == [
        None,
        None,
        keys.read[4:16],
        info.key_id,
        "0" * 12,
    ]
    assert [r["client_name"] for r in rows] == [
        "(unidentified)",
        "(unidentified)",
        "reader",
        "retired agent",
        "(unidentified)",
    ]
    assert {r["tool"] for r in rows} == {"POST /mcp"}
    assert {r["result"]["remote"] for r in rows} == {"127.0.0.1"}
    stored = repr(rows)
    assert keys.read[17:] not in stored and revoked[17:] not in stored

    warnings = [e for e in logs if e["event"] == "caller refused"]
    assert [(e["log_level"], e["reason"], e["key_id"]) for e in warnings] == [
        ("warning", r["result"]["reason"], r["client_key_id"]) for r in rows
    ]
    assert keys.read[17:] not in repr(logs) and revoked[17:] not in repr(logs)


async def test_read_key_queues_write_key_applies(
    mcp_url: str, keys: Keys, runtime: Runtime, tier_sandbox: RunningSandbox
) -> None:
    store = tier_sandbox.sandbox.store
    a, b, c = (r["id"] for r in store.ordered("Accounts")[20:23])
    untouched = dict(store.get("Accounts", b))
    industry = next(r["Industry"] for r in store.ordered("Accounts") if r["Industry"])

    async with connect(mcp_url, keys.read) as agent:
        assert len((await agent.list_tools()).tools) == 16
        found = body(
            await agent.call_tool(
                "search_accounts",
                {
                    "criteria": {"field": "Industry", "op": "equals", "value": industry},
                    "fields": ["Account_Name", "Industry"],
                },
            )
        )
        assert found["count"] > 0 and {r["Industry"] for r in found["data"]} == {industry}
        first = body(
            await agent.call_tool(
                "propose_account_update",
                {"record_id": a, "changes": {"Phone": "+1 555 0101"}, "reason": "new number"},
            )
        )
        second = body(
            await agent.call_tool(
                "propose_account_update",
                {"record_id": b, "changes": {"Phone": "+1 555 0102"}, "reason": "a guess"},
            )
        )
        missing = await agent.call_tool(
            "propose_account_update",
            {"record_id": "1234", "changes": {"Phone": "1"}, "reason": "nothing there"},
        )
    assert first["status"] == second["status"] == "pending"
    assert first["current"] == {"Phone": store.get("Accounts", a)["Phone"]}
    assert missing.is_error and body(missing)["error"]["code"] == "RESOURCE_NOT_FOUND"
    assert store.get("Accounts", a)["Phone"] != "+1 555 0101"

    approvals = ApprovalStore(runtime.engine)
    applied = await approve(approvals, runtime.manager, first["approval_id"], "reviewer")
    assert applied.status == "applied" and applied.outcome and applied.outcome["ok"]
    assert store.get("Accounts", a)["Phone"] == "+1 555 0101"
    rejected = await approvals.reject(second["approval_id"], "reviewer", "no source")
    assert rejected.status == "rejected"
    assert store.get("Accounts", b) == untouched

    async with connect(mcp_url, keys.write) as ops:
        refused = await ops.call_tool(
            "propose_account_update",
            {"record_id": c, "changes": {"Rating": "Not a rating"}, "reason": "typo"},
        )
    # Applied at once, and Zoho refused it: a tool error naming the field.
    assert refused.is_error
    error = body(refused)["error"]
    assert error["code"] == "INVALID_DATA" and error["details"]["status"] == "failed"
    assert (error["details"]["field"], error["details"]["argument"]) == ("Rating", "changes")
    assert "Active" in error["details"]["supported_values"]
    assert "Zoho refused the update" in error["message"] and "Rating" in error["message"]
    failed = await ApprovalStore(runtime.engine).get(error["details"]["approval_id"])
    assert failed.status == "failed" and failed.outcome and failed.outcome["code"] == "INVALID_DATA"

    rows = list(reversed(await AuditLog(runtime.engine).recent()))
    assert [(r["tool"], r["outcome"]) for r in rows] == [
        ("search_accounts", "ok"),
        ("propose_account_update", "queued"),
        ("propose_account_update", "queued"),
        ("propose_account_update", "error"),
        ("propose_account_update", "error"),
    ]
    assert [r["client_key_id"] for r in rows] == [keys.read[4:16]] * 4 + [keys.write[4:16]]
    assert {r["transport"] for r in rows} == {"http"}
    assert rows[3]["error_code"] == "RESOURCE_NOT_FOUND"
    assert rows[4]["error_code"] == "INVALID_DATA" and rows[4]["approval_id"] is not None


async def test_an_agent_sees_its_proposals_beside_zoho_now(
    mcp_url: str, keys: Keys, runtime: Runtime, tier_sandbox: RunningSandbox
) -> None:
    """list_proposals: the client's own proposals, each field's value when proposed, in
    Zoho now, and proposed; a field moved since then is named, and approving it is refused."""
    store = tier_sandbox.sandbox.store
    record = dict(store.ordered("Accounts")[30])
    seen = record["Phone"]
    async with connect(mcp_url, keys.read) as agent:
        mine = body(
            await agent.call_tool(
                "propose_account_update",
                {"record_id": record["id"], "changes": {"Phone": "+1 555 0130"}, "reason": "new"},
            )
        )
    other = await ApprovalStore(runtime.engine).propose(
        Principal("ffffffffffff", "another agent", "read"),
        record["id"],
        {"Phone": "+1 555 0131"},
        "not yours",
        current={"Phone": seen},
    )
    store.put("Accounts", {**record, "Phone": "+1 555 9130"})  # changed in Zoho since

    async with connect(mcp_url, keys.read) as agent:
        listed = body(await agent.call_tool("list_proposals", {"status": "pending"}))
    assert [p["id"] for p in listed["proposals"]] == [mine["approval_id"]]
    (entry,) = listed["proposals"]
    assert (entry["current"], entry["now"], entry["changes"]) == (
        {"Phone": seen},
        {"Phone": "+1 555 9130"},
        {"Phone": "+1 555 0130"},
    )
    assert entry["changed_since_proposed"] == ["Phone"]
    assert "client_key_id" not in entry and other.id != entry["id"]
    with pytest.raises(StaleProposalError):
        await approve(ApprovalStore(runtime.engine), runtime.manager, entry["id"], "reviewer")
    assert store.get("Accounts", record["id"])["Phone"] == "+1 555 9130"


class _NoTokens:
    """An OAuth client's token storage with nothing in it."""

    async def get_tokens(self) -> None:
        return None

    async def set_tokens(self, tokens: Any) -> None:
        pass

    async def get_client_info(self) -> None:
        return None

    async def set_client_info(self, client_info: Any) -> None:
        pass


def _messages(exc: BaseException) -> str:
    """Every message in an exception, its causes and its group's members."""
    said = [str(exc)]
    if isinstance(exc, BaseExceptionGroup):
        said += [_messages(e) for e in exc.exceptions]
    if exc.__cause__ is not None:
        said.append(_messages(exc.__cause__))
    return "\n".join(said)


async def test_a_client_without_a_key_is_told_how_to_pass_one(mcp_url: str) -> None:
    """A bare 401 would send an OAuth client into discovery, hiding why: the 401 says how
    to pass the key, every OAuth path says the same, and a real OAuth client's failure
    carries the message."""
    hello = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    base = mcp_url.removesuffix("/mcp")
    async with httpx2.AsyncClient(timeout=10) as http:
        refused = await http.post(mcp_url, json=hello)
        bad = await http.post(mcp_url, json=hello, headers={"Authorization": "Bearer nope"})
        discovery = {
            path: await http.get(base + path)
            for path in (
                "/.well-known/oauth-protected-resource",
                "/.well-known/oauth-protected-resource/mcp",
                "/.well-known/oauth-authorization-server",
            )
        }
        registered = await http.post(base + "/register", json={"redirect_uris": ["http://x"]})
    assert refused.status_code == bad.status_code == 401
    error = refused.json()["error"]
    assert "Authorization: Bearer <key>" in error["message"] and error["details"]["oauth"] is False
    challenge = refused.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="sergas", error_description="')
    assert "Authorization: Bearer <key>" in challenge and "does not use OAuth" in challenge
    assert 'error="invalid_token"' in bad.headers["WWW-Authenticate"]
    for answer in (*discovery.values(), registered):
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "OAUTH_NOT_SUPPORTED"
        assert "Authorization: Bearer <key>" in answer.json()["error"]["message"]

    provider = OAuthClientProvider(
        server_url=mcp_url,
        client_metadata=OAuthClientMetadata(
            redirect_uris=[AnyUrl("http://127.0.0.1:9/callback")], client_name="an agent host"
        ),
        storage=_NoTokens(),
    )
    with pytest.raises(BaseException) as failed:  # noqa: PT011  (whatever the client raises)
        async with (
            httpx2.AsyncClient(auth=provider, timeout=10) as http,
            Client(streamable_http_client(mcp_url, http_client=http)) as client,
        ):
            await client.list_tools()
    assert "Authorization: Bearer <key>" in _messages(failed.value)
