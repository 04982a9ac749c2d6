"""The MCP server agents use: CRM records to read, the sweep's findings, and proposed changes.

Tools (all audited, see `sergas.agents.audit`; the CRM tools are in `sergas.agents.crm`):

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

Every failure answers one shape, `{"error": {"code", "message", "details"}}` with `isError`
(`sergas.agents.errors`); arguments the schema refuses and unknown arguments too, which
`SergasMCP.call_tool` catches before the MCP layer would answer its own text.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

import orjson
from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field, JsonValue, ValidationError

from sergas.access.applying import assess, current_values, write_directly
from sergas.access.approvals import UNFINISHED, UPDATE, Approval, ApprovalStore
from sergas.access.audit import AuditLog, AuditNote
from sergas.access.principal import Principal
from sergas.access.schemas import ApiName, CriteriaTree, RecordId
from sergas.agents.audit import AuditMiddleware, current_note
from sergas.agents.errors import (
    error_result,
    invalid_arguments,
    result,
    sergas_error,
    unknown_arguments,
)
from sergas.agents.outputs import Brief, OneRecord, Proposal, Proposals, RiskList, SearchHits
from sergas.agents.sweep_view import SweepView
from sergas.errors import PermissionDeniedError, SergasError
from sergas.log import get_logger
from sergas.manager import ZohoIntegrationManager
from sergas.zoho_limits import MAX_FIELDS

__all__ = [
    "PRINCIPAL_STATE_KEY",
    "SERVER_NAME",
    "AgentServices",
    "Registrar",
    "build_server",
    "run_tool",
]

log = get_logger("sergas.agents")

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
    Field(
        description=f"Field API names to return (at most {MAX_FIELDS}); default: all. "
        "describe_fields lists a module's API names.",
        examples=[["Account_Name", "Owner", "Industry"]],
        max_length=MAX_FIELDS,
    ),
]
RecordIdArg = Annotated[
    RecordId,
    Field(description="The Zoho record id (digits)", examples=["4876876000000321001"]),
]
Criteria = Annotated[
    CriteriaTree,
    Field(
        description='A condition {"field": <API name>, "op": <operator>, "value": ...}, or a '
        'group {"and": [...]} / {"or": [...]}. Operators: equals, not_equal, starts_with, '
        "in (values: list), greater_than, greater_equal, less_than, less_equal, between "
        "(values: [low, high]), is_null, is_not_null (no value). Owner is a user id here: "
        "use the owner argument to search by an email or a name.",
        examples=[
            {"field": "Industry", "op": "equals", "value": "Retail"},
            {
                "and": [
                    {"field": "Rating", "op": "in", "values": ["Hot", "Warm"]},
                    {"field": "Annual_Revenue", "op": "greater_than", "value": 1000000},
                ]
            },
        ],
    ),
]
Reason = Annotated[
    str,
    Field(
        description="Why: shown to the person who approves",
        examples=["The customer confirmed the new number on today's call"],
        min_length=3,
        max_length=2000,
    ),
]


@dataclass
class AgentServices:
    manager: ZohoIntegrationManager
    approvals: ApprovalStore
    audit: AuditLog
    sweep: SweepView
    max_results: int = 200


def _note() -> AuditNote:
    note = current_note()
    if note is None:  # called outside AuditMiddleware: refuse rather than go unaudited
        raise PermissionDeniedError("tool calls must pass through the audit")
    return note


async def run_tool(
    call: Callable[[AuditNote], Awaitable[Body | CallToolResult]],
    *,
    module: str | None = None,
    fields_argument: str = "fields",
) -> CallToolResult:
    """Run a tool body; a Sergas error becomes the one error shape. `module` and
    `fields_argument` say where a field Zoho refuses came from."""
    note = _note()
    try:
        answer = await call(note)
    except SergasError as exc:
        note.outcome = "denied" if isinstance(exc, PermissionDeniedError) else "error"
        note.error_code = exc.code
        note.result = {"message": exc.message}
        return result(
            {"error": sergas_error(exc, argument=fields_argument, module=module)}, error=True
        )
    return answer if isinstance(answer, CallToolResult) else result(answer)


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


class SergasMCP(MCPServer[Any]):
    """MCPServer whose tool calls answer the one error shape for every failure, including
    those the MCP layer finds before the tool runs (unknown tool, unknown or invalid
    arguments), instead of its own text (pydantic's, for arguments)."""

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> Any:
        tool = self._tool_manager.get_tool(name)
        if tool is None:
            known = sorted(t.name for t in self._tool_manager.list_tools())
            return error_result(
                "UNKNOWN_TOOL", f"no tool {name!r}; the tools: {', '.join(known)}", {"tools": known}
            )
        accepted = list(tool.parameters.get("properties", {}))
        unknown = sorted(set(arguments) - set(accepted))
        if unknown:
            return unknown_arguments(name, unknown, accepted)
        try:
            return await super().call_tool(name, arguments, context)
        except UnexpectedToolError:
            log.exception("tool failed", tool=name)
            return error_result(
                "INTERNAL_ERROR",
                f"{name} failed unexpectedly; the server's log has the details",
                {"tool": name},
            )
        except ToolError as exc:
            if isinstance(exc.__cause__, ValidationError):
                return invalid_arguments(name, exc.__cause__)
            return error_result("TOOL_ERROR", str(exc), {"tool": name})


def _quiet_server(**kwargs: Any) -> SergasMCP:
    # MCPServer() configures the root logger (a rich handler); Sergas logs through
    # structlog on stderr, and on stdio a stray handler on stdout would corrupt the protocol.
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        return SergasMCP(**kwargs)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


F = TypeVar("F", bound=Callable[..., Awaitable[CallToolResult]])


class Registrar:
    """Adds tools with their docstring as the description, its indentation removed."""

    def __init__(self, server: MCPServer[Any]) -> None:
        self.server = server

    def __call__(self, annotations: ToolAnnotations) -> Callable[[F], F]:
        def add(fn: F) -> F:
            self.server.add_tool(
                fn, description=inspect.cleandoc(fn.__doc__ or ""), annotations=annotations
            )
            return fn

        return add


def build_server(
    services: AgentServices, *, transport: str, identity: Identity | None = None
) -> MCPServer[Any]:
    """The server with its tools and resource; `identity` gives the stdio client's."""
    from sergas import __version__
    from sergas.agents import crm

    server = _quiet_server(
        name=SERVER_NAME,
        title="Sergas: Zoho CRM for agents",
        instructions=(
            "Read Zoho CRM accounts, contacts, deals and leads, their notes and related "
            "records, and the latest account health sweep. Changes, new records and notes "
            "are proposals: a person approves them unless your key may write directly. "
            "Search takes typed criteria objects, not criteria strings; to search by "
            "owner, pass an email or a name as `owner`. Every error is "
            '{"error": {"code", "message", "details"}}.'
        ),
        version=__version__,
        middleware=[
            AuditMiddleware(services.audit, transport, principal_resolver(identity)),
        ],
    )
    channel = f"mcp-{transport}"
    tool = Registrar(server)
    _register(server, tool, services, channel)
    crm.register(tool, services, channel)
    return server


def proposal_result(approval: Approval, *, module: str) -> CallToolResult:
    """A proposal's answer: pending or applied; a write Zoho refused is a tool error,
    with the approval and Zoho's answer in its details (the field Zoho named)."""
    body: Body = {
        "approval_id": approval.id,
        "action": approval.action,
        "status": approval.status,
        "module": approval.module,
        "record_id": approval.record_id,
        "changes": approval.changes,
        "current": approval.current,
    }
    if approval.status == "pending":
        body["note"] = "queued for approval: `sergas approvals approve` applies it"
    if approval.outcome is not None:
        body["outcome"] = approval.outcome
    if approval.status == "failed" and approval.outcome is not None:
        o = approval.outcome
        refused = SergasError(
            str(o.get("message") or o.get("code")),
            code=str(o.get("code")),
            details=dict(o.get("details") or {}),
        )
        argument = "record" if approval.action == "create" else "changes"
        error = sergas_error(refused, argument=argument, module=module)
        error["message"] = f"Zoho refused the {approval.action}: {error['message']}"
        error["details"] |= {
            "approval_id": approval.id,
            "status": approval.status,
            "record_id": approval.record_id,
        }
        return result({"error": error}, error=True)
    return result(body)


async def propose(
    s: AgentServices,
    note: AuditNote,
    channel: str,
    *,
    action: str,
    module: str,
    record_id: str | None,
    changes: Mapping[str, Any],
    reason: str,
    current: Mapping[str, Any] | None,
) -> CallToolResult:
    """Queue a proposal for a person or, for a write-scope key, apply it at once."""
    who = note.principal
    if who.can_write:
        approval = await write_directly(
            s.approvals,
            s.manager,
            who,
            record_id,
            changes,
            reason,
            current=current,
            module=module,
            action=action,
            caller=who.caller(channel),
        )
        note.outcome = "ok" if approval.status == "applied" else "error"
        note.error_code = None if note.outcome == "ok" else (approval.outcome or {}).get("code")
    else:
        approval = await s.approvals.propose(
            who, record_id, changes, reason, current=current, module=module, action=action
        )
        note.outcome = "queued"
    note.approval_id = approval.id
    note.result = {"approval_id": approval.id, "status": approval.status}
    return proposal_result(approval, module=module)


def _register(server: MCPServer[Any], tool: Registrar, s: AgentServices, channel: str) -> None:
    manager = s.manager

    @tool(READ)
    async def search_accounts(
        criteria: Criteria,
        fields: Fields = None,
        limit: Annotated[
            int,
            Field(
                ge=1,
                le=2000,
                description="Most accounts to return (at most 2,000; capped by the server's "
                "SERGAS_MCP_MAX_RESULTS); `more` says whether there were more",
                examples=[50],
            ),
        ] = 50,
    ) -> Annotated[CallToolResult, SearchHits]:
        """Search accounts by typed criteria (Zoho's search; at most 2,000 results).

        search_records does the same for any module, a page at a time, and takes an
        owner's email or name."""

        async def call(note: AuditNote) -> Body:
            wanted = min(limit, s.max_results)
            records = await manager.search_accounts(
                criteria.to_criteria(),
                limit=wanted + 1,
                fields=fields,
                caller=note.principal.caller(channel),
            )
            more = len(records) > wanted
            records = records[:wanted]
            note.result = {"count": len(records), "ids": [r.get("id") for r in records[:20]]}
            return {"data": records, "count": len(records), "more": more}

        return await run_tool(call, module="Accounts", fields_argument="criteria")

    @tool(READ)
    async def get_account(
        record_id: RecordIdArg, fields: Fields = None
    ) -> Annotated[CallToolResult, OneRecord]:
        """One account by its Zoho record id."""

        async def call(note: AuditNote) -> Body:
            record = await manager.get_account(
                record_id, fields=fields, caller=note.principal.caller(channel)
            )
            note.result = {"id": record.get("id")}
            return {"data": record}

        return await run_tool(call, module="Accounts")

    @tool(READ)
    async def list_at_risk_accounts(
        owner: Annotated[
            str | None,
            Field(
                description="Only this owner's accounts: an email, a user id or a name",
                examples=["dana@example.com"],
                max_length=255,
            ),
        ] = None,
        limit: Annotated[
            int, Field(ge=1, le=500, description="Most accounts to return", examples=[50])
        ] = 50,
    ) -> Annotated[CallToolResult, RiskList]:
        """Accounts the latest health sweep scored At Risk, lowest score first, with reasons."""

        async def call(note: AuditNote) -> Body:
            run = await s.sweep.latest_run()
            if run is None:
                note.result = {"run": None}
                return {"run": None, "total": 0, "accounts": [], "note": _NO_SWEEP}
            accounts, total = await s.sweep.at_risk(run, owner=owner, limit=limit)
            note.result = {"run": run.id, "total": total, "returned": len(accounts)}
            return {"run": run.to_json(), "total": total, "accounts": accounts}

        return await run_tool(call)

    @tool(READ)
    async def account_brief(record_id: RecordIdArg) -> Annotated[CallToolResult, Brief]:
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

        return await run_tool(call, module="Accounts")

    @tool(PROPOSE)
    async def propose_account_update(
        record_id: RecordIdArg,
        changes: Annotated[
            dict[ApiName, JsonValue],
            Field(
                description="Field API names to their new values (at most 50); a lookup "
                'such as Owner takes {"id": ...}',
                examples=[{"Phone": "+1 555 0100", "Rating": "Active"}],
                min_length=1,
                max_length=50,
            ),
        ],
        reason: Reason,
    ) -> Annotated[CallToolResult, Proposal]:
        """Propose a change to one account.

        It waits for a person's approval unless this client may write directly; the answer
        says which (status pending or applied). A change Zoho refused is an error naming
        the field."""

        async def call(note: AuditNote) -> CallToolResult:
            if "id" in changes:
                raise PermissionDeniedError("a record's id cannot be changed")
            caller = note.principal.caller(channel)
            now = await manager.get_account(record_id, fields=list(changes), caller=caller)
            return await propose(
                s,
                note,
                channel,
                action=UPDATE,
                module="Accounts",
                record_id=record_id,
                changes=changes,
                reason=reason,
                current={k: now.get(k) for k in changes},
            )

        return await run_tool(call, module="Accounts", fields_argument="changes")

    @tool(READ)
    async def list_proposals(
        status: Annotated[
            Literal["pending", "approved", "applying", "applied", "failed", "rejected"] | None,
            Field(description="Only this status; default: all", examples=["pending"]),
        ] = None,
        limit: Annotated[
            int, Field(ge=1, le=50, description="Most proposals to return", examples=[20])
        ] = 20,
    ) -> Annotated[CallToolResult, Proposals]:
        """Your proposals, newest first.

        Each shows its action (update, create, note), each field's value when proposed,
        its value in Zoho now (for updates not decided yet), the proposed value, and what
        became of it."""

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

        return await run_tool(call)

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
