"""The MCP server agents use: accounts to read, the sweep's findings, and proposed changes.

Tools (all audited, see `sergas.agents.audit`):

| tool | does |
|---|---|
| search_accounts | typed criteria (never a criteria string) → matching accounts |
| get_account | one account by id |
| list_at_risk_accounts | At Risk accounts of the latest finished sweep, lowest score first |
| account_brief | one account: key fields now, and its latest health score and reasons |
| propose_account_update | a change: queued for a person, or applied for a write-scope client |
| list_proposals | this client's proposals: each field's value when proposed, now, and proposed |

Resource `sergas://sweep/summary`: the latest sweep's summary.

Permissions come from the caller's API key: every client may read and propose; only a
write-scope key's proposals are applied at once (and still recorded in the queue). Every
manager call is made for the key (`Principal.caller`), so the manager itself refuses a write
by a read-scope key, whatever tier would serve it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import orjson
from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field, JsonValue

from sergas.access.applying import assess, current_values, write_directly
from sergas.access.approvals import UNFINISHED, ApprovalStore
from sergas.access.audit import AuditLog, AuditNote
from sergas.access.principal import Principal
from sergas.access.schemas import ApiName, CriteriaTree, RecordId
from sergas.agents.audit import AuditMiddleware, current_note
from sergas.agents.sweep_view import SweepView
from sergas.errors import PermissionDeniedError, SergasError
from sergas.manager import ZohoIntegrationManager

__all__ = ["PRINCIPAL_STATE_KEY", "SERVER_NAME", "AgentServices", "build_server"]

SERVER_NAME = "sergas"
PRINCIPAL_STATE_KEY = "sergas_principal"  # where the HTTP layer leaves the caller
SUMMARY_URI = "sergas://sweep/summary"
BRIEF_FIELDS = (
    "Account_Name",
    "Owner",
    "Industry",
    "Annual_Revenue",
    "Rating",
    "Account_Status",
    "Health_Score",
    "Last_Activity_Time",
    "Last_Health_Check",
    "Modified_Time",
)
READ = ToolAnnotations(read_only_hint=True, open_world_hint=False)
PROPOSE = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)

Body = dict[str, Any]
Fields = Annotated[
    list[ApiName] | None,
    Field(description="Field API names to return (at most 50); default: all", max_length=50),
]


@dataclass
class AgentServices:
    manager: ZohoIntegrationManager
    approvals: ApprovalStore
    audit: AuditLog
    sweep: SweepView
    max_results: int = 200


def result(body: Body, *, error: bool = False) -> CallToolResult:
    """The body as structured content and, for clients that read only text, JSON text."""
    text = orjson.dumps(body, default=str).decode()
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=orjson.loads(text),
        is_error=error,
    )


def _note() -> AuditNote:
    note = current_note()
    if note is None:  # called outside AuditMiddleware: refuse rather than go unaudited
        raise PermissionDeniedError("tool calls must pass through the audit")
    return note


async def _run(call: Callable[[AuditNote], Awaitable[Body]]) -> CallToolResult:
    """Run a tool body; a Sergas error becomes a tool error with a JSON error body."""
    note = _note()
    try:
        return result(await call(note))
    except SergasError as exc:
        note.outcome = "denied" if isinstance(exc, PermissionDeniedError) else "error"
        note.error_code = exc.code
        note.result = {"message": exc.message}
        error = {"code": exc.code, "message": exc.message, "details": exc.details}
        return result({"error": error}, error=True)


Identity = Callable[[], Awaitable[Principal]]


def principal_resolver(
    identity: Identity | None,
) -> Callable[[ServerRequestContext[Any, Any]], Awaitable[Principal]]:
    """Who sent a message: the key the HTTP layer checked for this request; else (stdio)
    `identity()`, asked on every call so that a revoked key stops working mid-session."""

    async def resolve(ctx: ServerRequestContext[Any, Any]) -> Principal:
        state = getattr(getattr(ctx.request, "state", None), PRINCIPAL_STATE_KEY, None)
        if isinstance(state, Principal):
            return state
        if identity is None:
            raise PermissionDeniedError("no client identity for this request")
        return await identity()

    return resolve


def _quiet_server(**kwargs: Any) -> MCPServer[Any]:
    # MCPServer() configures the root logger (a rich handler); Sergas logs through
    # structlog on stderr, and on stdio a stray handler on stdout would corrupt the protocol.
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        return MCPServer(**kwargs)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def build_server(
    services: AgentServices, *, transport: str, identity: Identity | None = None
) -> MCPServer[Any]:
    """The server with its tools and resource; `identity` gives the stdio client's."""
    from sergas import __version__

    server = _quiet_server(
        name=SERVER_NAME,
        title="Sergas: Zoho CRM accounts for agents",
        instructions=(
            "Read Zoho CRM accounts and the latest account health sweep. Changes are "
            "proposed with propose_account_update: a person approves them unless your key "
            "may write directly. Search takes typed criteria objects, not criteria strings."
        ),
        version=__version__,
        middleware=[
            AuditMiddleware(services.audit, transport, principal_resolver(identity)),
        ],
    )
    _register(server, services, f"mcp-{transport}")
    return server


def _register(server: MCPServer[Any], s: AgentServices, channel: str) -> None:
    manager = s.manager

    @server.tool(annotations=READ)
    async def search_accounts(
        criteria: Annotated[
            CriteriaTree,
            Field(
                description='A condition {"field": "Industry", "op": "equals", "value": '
                '"Retail"}, or a group {"and": [...]} / {"or": [...]}'
            ),
        ],
        fields: Fields = None,
        limit: Annotated[int, Field(ge=1, le=2000)] = 50,
    ) -> CallToolResult:
        """Search accounts by typed criteria (Zoho's search; at most 2,000 results)."""

        async def call(note: AuditNote) -> Body:
            records = await manager.search_accounts(
                criteria.to_criteria(),
                limit=min(limit, s.max_results),
                fields=fields,
                caller=note.principal.caller(channel),
            )
            note.result = {"count": len(records), "ids": [r.get("id") for r in records[:20]]}
            return {"data": records, "count": len(records)}

        return await _run(call)

    @server.tool(annotations=READ)
    async def get_account(record_id: RecordId, fields: Fields = None) -> CallToolResult:
        """One account by its Zoho record id."""

        async def call(note: AuditNote) -> Body:
            record = await manager.get_account(
                record_id, fields=fields, caller=note.principal.caller(channel)
            )
            note.result = {"id": record.get("id")}
            return {"data": record}

        return await _run(call)

    @server.tool(annotations=READ)
    async def list_at_risk_accounts(
        owner: Annotated[
            str | None, Field(description="Only this owner's accounts: email, user id or name")
        ] = None,
        limit: Annotated[int, Field(ge=1, le=500)] = 50,
    ) -> CallToolResult:
        """Accounts the latest health sweep scored At Risk, lowest score first, with reasons."""

        async def call(note: AuditNote) -> Body:
            run = await s.sweep.latest_run()
            if run is None:
                note.result = {"run": None}
                return {"run": None, "total": 0, "accounts": [], "note": _NO_SWEEP}
            accounts, total = await s.sweep.at_risk(run, owner=owner, limit=limit)
            note.result = {"run": run.id, "total": total, "returned": len(accounts)}
            return {"run": run.to_json(), "total": total, "accounts": accounts}

        return await _run(call)

    @server.tool(annotations=READ)
    async def account_brief(record_id: RecordId) -> CallToolResult:
        """One account in brief: its key fields now, and its latest health score and why."""

        async def call(note: AuditNote) -> Body:
            record = await manager.get_account(record_id, caller=note.principal.caller(channel))
            run = await s.sweep.latest_run()
            health = await s.sweep.account(run, record_id) if run else None
            account = {k: record[k] for k in ("id", *BRIEF_FIELDS) if k in record}
            note.result = {"id": record_id, "run": run.id if run else None}
            return {
                "account": account,
                "health": health,
                "run": run.to_json() if run else None,
                "markdown": _brief_markdown(account, health),
            }

        return await _run(call)

    @server.tool(annotations=PROPOSE)
    async def propose_account_update(
        record_id: RecordId,
        changes: Annotated[
            dict[ApiName, JsonValue],
            Field(description="Field API names to new values", min_length=1, max_length=50),
        ],
        reason: Annotated[
            str, Field(description="Why: shown to the person who approves", min_length=3)
        ],
    ) -> CallToolResult:
        """Propose a change to one account. It waits for a person's approval unless this
        client may write directly; the answer says which (status pending or applied)."""

        async def call(note: AuditNote) -> Body:
            if "id" in changes:
                raise PermissionDeniedError("a record's id cannot be changed")
            who = note.principal
            caller = who.caller(channel)
            now = await manager.get_account(record_id, fields=list(changes), caller=caller)
            current = {k: now.get(k) for k in changes}
            if who.can_write:
                approval = await write_directly(
                    s.approvals,
                    manager,
                    who,
                    record_id,
                    changes,
                    reason,
                    current=current,
                    caller=caller,
                )
                note.outcome = "ok" if approval.status == "applied" else "error"
                note.error_code = (
                    None if note.outcome == "ok" else (approval.outcome or {}).get("code")
                )
            else:
                approval = await s.approvals.propose(
                    who, record_id, changes, reason, current=current
                )
                note.outcome = "queued"
            note.approval_id = approval.id
            note.result = {"approval_id": approval.id, "status": approval.status}
            body = {
                "approval_id": approval.id,
                "status": approval.status,
                "record_id": record_id,
                "changes": approval.changes,
                "current": approval.current,
            }
            if approval.status == "pending":
                body["note"] = "queued for approval: `sergas approvals approve` applies it"
            if approval.outcome is not None:
                body["outcome"] = approval.outcome
            return body

        return await _run(call)

    @server.tool(annotations=READ)
    async def list_proposals(
        status: Annotated[
            Literal["pending", "approved", "applying", "applied", "failed", "rejected"] | None,
            Field(description="Only this status; default: all"),
        ] = None,
        limit: Annotated[int, Field(ge=1, le=50)] = 20,
    ) -> CallToolResult:
        """Your proposals, newest first: each field's value when proposed, its value in
        Zoho now (for those not decided yet), the proposed value, and what became of it."""

        async def call(note: AuditNote) -> Body:
            rows = await s.approvals.find(status, limit=limit, client=note.principal)
            open_rows = [a for a in rows if a.status in ("pending", *UNFINISHED)]
            now = await current_values(manager, open_rows) if open_rows else {}
            proposals = []
            for a in rows:
                entry = {
                    k: v
                    for k, v in a.to_json().items()
                    if k not in ("client_key_id", "applying_process")
                }
                if a.id in now:
                    found = now[a.id]
                    if isinstance(found, SergasError):
                        entry["now_error"] = {"code": found.code, "message": found.message}
                    else:
                        entry["now"] = found
                        entry["changed_since_proposed"] = sorted(assess(a, found).changed)
                proposals.append(entry)
            note.result = {"count": len(proposals)}
            return {"proposals": proposals, "count": len(proposals)}

        return await _run(call)

    @server.resource(
        SUMMARY_URI,
        name="sweep_summary",
        description="The latest account health sweep of this CRM: counts, timing, what "
        "was not written",
        mime_type="application/json",
    )
    async def sweep_summary() -> str:
        run = await s.sweep.latest_run()
        body = (
            {"run": None, "note": _NO_SWEEP}
            if run is None
            else {
                "run": run.to_json(),
                "summary": run.summary,
            }
        )
        return orjson.dumps(body, default=str).decode()


_NO_SWEEP = "no finished health sweep for this CRM yet: run `sergas sweep`"


def _brief_markdown(account: Body, health: Body | None) -> str:
    name = account.get("Account_Name") or account.get("id")
    owner = account.get("Owner") or {}
    lines = [f"# {name}", ""]
    if isinstance(owner, dict) and owner.get("name"):
        lines.append(
            f"Owner: {owner['name']}" + (f" <{owner['email']}>" if owner.get("email") else "")
        )
    for key in ("Industry", "Annual_Revenue", "Rating", "Last_Activity_Time"):
        if account.get(key) is not None:
            lines.append(f"{key.replace('_', ' ')}: {account[key]}")
    lines.append("")
    if health is None:
        lines.append("Not scored by the latest health sweep.")
    else:
        change = (
            "" if health["delta"] is None else f" ({health['delta']:+d} since the sweep before)"
        )
        lines.append(f"Health: {health['score']}/100, {health['status']}{change}.")
        lines += [f"- {reason}" for reason in health["reasons"]]
    return "\n".join(lines) + "\n"
