"""The CRM tools beyond accounts: records of Accounts, Contacts, Deals and Leads a page at a
time, search (by owner email or name too), one record, fields and picklists, users,
read-only COQL, an account's related records and notes, and proposals to add a note or
create a record.

| tool | does |
|---|---|
| list_records | a page of a module's records; `more` and the next page's arguments |
| search_records | typed criteria and/or an owner (email, name or id), a page at a time |
| get_record | one record of a module |
| describe_fields | a module's fields: API names, types, picklist values, lookups |
| find_users | users by email or part of a name: their ids (Owner takes a user id) |
| query_coql | one read-only COQL SELECT, its LIMIT at most 200 (added when missing) |
| get_related_records | a record's contacts, deals, notes, tasks, calls or events |
| get_notes | a record's notes, newest first |
| propose_note | a note on an account or a deal: queued, or added for a write key |
| propose_create | a new record: queued, or created for a write key |

Every read is made for the caller's key, so the manager's permissions apply; the two
proposals go through the approval queue exactly as `propose_account_update` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from mcp.types import CallToolResult
from pydantic import Field, JsonValue

from sergas.access.approvals import CREATE, NOTE
from sergas.access.audit import AuditNote
from sergas.access.coql import MAX_ROWS, bounded_select
from sergas.access.schemas import ApiName, CriteriaTree
from sergas.agents.outputs import CoqlRows, FieldList, NoteList, OneRecord, Page, Proposal, UserList
from sergas.agents.server import (
    PROPOSE,
    READ,
    AgentServices,
    Body,
    Fields,
    Reason,
    RecordIdArg,
    Registrar,
    propose,
    run_tool,
)
from sergas.errors import InvalidDataError, NotFoundError
from sergas.manager import Caller, ZohoIntegrationManager
from sergas.query import Condition
from sergas.query import Criteria as QueryCriteria
from sergas.zoho_limits import RECORDS_PER_PAGE, SEARCH_CAP

if TYPE_CHECKING:
    from sergas.tiers.base import RecordPage

__all__ = ["register", "resolve_owner"]

Module = Annotated[
    Literal["Accounts", "Contacts", "Deals", "Leads"],
    Field(description="The Zoho module", examples=["Contacts"]),
]
PageNumber = Annotated[
    int,
    Field(ge=1, le=1000, description="Page number, 1 first", examples=[1]),
]
PerPage = Annotated[
    int,
    Field(ge=1, le=RECORDS_PER_PAGE, description="Records per page (at most 200)", examples=[50]),
]
OptionalCriteria = Annotated[
    CriteriaTree | None,
    Field(
        description='Typed criteria: a condition {"field": <API name>, "op": <operator>, '
        '"value": ...} or a group {"and": [...]} / {"or": [...]} (see search_accounts for '
        "the operators); null or absent with owner alone",
        examples=[{"field": "Lead_Status", "op": "equals", "value": "Contacted"}],
    ),
]
RELATED = ("Contacts", "Deals", "Notes", "Tasks", "Calls", "Events")
DESCRIBED = ("Accounts", "Contacts", "Deals", "Leads", "Notes", "Tasks", "Calls", "Events")
CANDIDATES = 10


def _users(users: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keep = ("id", "full_name", "email", "status")
    out = []
    for user in users:
        entry = {k: user.get(k) for k in keep}
        role = user.get("role")
        if isinstance(role, dict) and role.get("name"):
            entry["role"] = role["name"]
        out.append(entry)
    return out


async def resolve_owner(
    manager: ZohoIntegrationManager, owner: str, caller: Caller
) -> dict[str, Any]:
    """The one user `owner` names: a user id as given; else the user whose email is
    `owner`, or whose name contains it. NotFoundError for none, InvalidDataError
    (AMBIGUOUS_OWNER, listing them) for several."""
    owner = owner.strip()
    if owner.isdigit():
        return {"id": owner}
    users = _users(await manager.find_users(owner, caller=caller))
    if not users:
        raise NotFoundError(
            f"no user matches {owner!r}: give an email, part of a name, or a user id "
            "(find_users lists users)",
            code="USER_NOT_FOUND",
            details={"argument": "owner", "owner": owner},
        )
    if len(users) > 1:
        named = ", ".join(f"{u['full_name']} <{u['email']}>" for u in users[:CANDIDATES])
        raise InvalidDataError(
            f"{len(users)} users match {owner!r} ({named}): give an email or the user id",
            code="AMBIGUOUS_OWNER",
            details={"argument": "owner", "owner": owner, "users": users[:CANDIDATES]},
        )
    return users[0]


def page_body(module: str, found: RecordPage, per_page: int, *, tokens: bool) -> dict[str, Any]:
    """A page, and the arguments for the next one (a page token where Zoho gave one)."""
    following: dict[str, Any] | None = None
    if found.more:
        following = (
            {"page_token": found.next_page_token}
            if tokens and found.next_page_token
            else {"page": found.page + 1}
        )
    return {
        "module": module,
        "data": found.records,
        "count": len(found.records),
        "page": found.page,
        "per_page": per_page,
        "more": found.more,
        "next_page_token": found.next_page_token,
        "next": following,
    }


def _field(meta: dict[str, Any], picklists: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "api_name": meta.get("api_name"),
        "label": meta.get("field_label") or meta.get("display_label"),
        "data_type": meta.get("data_type"),
        "required": bool(meta.get("system_mandatory")),
        "read_only": bool(meta.get("read_only") or meta.get("field_read_only")),
        "custom": bool(meta.get("custom_field")),
    }
    values = meta.get("pick_list_values") or []
    if picklists and values:
        entry["picklist"] = [v.get("actual_value") or v.get("display_value") for v in values]
    lookup = meta.get("lookup") or {}
    if isinstance(lookup, dict) and isinstance(lookup.get("module"), dict):
        entry["lookup_module"] = lookup["module"].get("api_name")
    return entry


def register(tool: Registrar, s: AgentServices, channel: str) -> None:
    manager = s.manager

    @tool(READ)
    async def list_records(
        module: Module = "Accounts",
        fields: Fields = None,
        page: PageNumber = 1,
        per_page: PerPage = 50,
        page_token: Annotated[
            str | None,
            Field(
                description="The next_page_token of the page before: how to read past "
                "2,000 records (give it instead of page)",
                examples=["c8582e7b8ae1a26b8ebe5e4e2a9ff8c7b94a"],
                max_length=2000,
            ),
        ] = None,
        sort_by: Annotated[
            Literal["id", "Created_Time", "Modified_Time"] | None,
            Field(description="Sort key; default: id", examples=["Modified_Time"]),
        ] = None,
        sort_order: Annotated[
            Literal["asc", "desc"] | None,
            Field(description="Sort order; default: asc", examples=["desc"]),
        ] = None,
    ) -> Annotated[CallToolResult, Page]:
        """A page of a module's records.

        `more` says whether another page follows; `next` holds the arguments that fetch
        it (a page_token past the first pages)."""

        async def call(note: AuditNote) -> Body:
            found = await manager.list_records(
                module=module,
                fields=fields,
                page=1 if page_token else page,
                per_page=per_page,
                page_token=page_token,
                sort_by=sort_by,
                sort_order=sort_order,
                caller=note.principal.caller(channel),
            )
            note.result = {"count": len(found.records), "more": found.more}
            return page_body(module, found, per_page, tokens=True)

        return await run_tool(call, module=module)

    @tool(READ)
    async def search_records(
        module: Module = "Accounts",
        criteria: OptionalCriteria = None,
        owner: Annotated[
            str | None,
            Field(
                description="Only records this user owns: an email (exact), part of a name, "
                "or a user id. An email or a name is resolved to the user's id first "
                "(Zoho's Owner field holds ids, so searching Owner by email finds nothing); "
                "the answer's `owner` says which user.",
                examples=["dana@example.com", "Dana Whit"],
                max_length=255,
            ),
        ] = None,
        fields: Fields = None,
        page: PageNumber = 1,
        per_page: PerPage = 50,
    ) -> Annotated[CallToolResult, Page]:
        """Search a module's records by typed criteria, by owner, or both, a page at a time.

        Give criteria, owner, or both (both must hold). `more` says whether another page
        follows; Zoho's search reaches at most 2,000 matches: narrow the criteria past
        that."""

        async def call(note: AuditNote) -> Body:
            caller = note.principal.caller(channel)
            if criteria is None and owner is None:
                raise InvalidDataError(
                    "give criteria, owner, or both",
                    code="INVALID_ARGUMENTS",
                    details={"arguments": ["criteria", "owner"]},
                )
            user = await resolve_owner(manager, owner, caller) if owner else None
            parts: list[QueryCriteria] = []
            if criteria is not None:
                parts.append(criteria.to_criteria())
            if user is not None:
                parts.append(Condition("Owner", "equals", (str(user["id"]),)))
            where = parts[0] if len(parts) == 1 else parts[0] & parts[1]
            found = await manager.search_page(
                where, module=module, fields=fields, page=page, per_page=per_page, caller=caller
            )
            note.result = {"count": len(found.records), "more": found.more}
            body = page_body(module, found, per_page, tokens=False)
            if user is not None:
                body["owner"] = user
            if found.more and page * per_page >= SEARCH_CAP:
                body["next"] = None
                body["note"] = "Zoho's search stops at 2,000 matches: narrow the criteria"
            return body

        return await run_tool(call, module=module, fields_argument="criteria")

    @tool(READ)
    async def get_record(
        record_id: RecordIdArg, module: Module = "Accounts", fields: Fields = None
    ) -> Annotated[CallToolResult, OneRecord]:
        """One record of a module by its Zoho record id."""

        async def call(note: AuditNote) -> Body:
            record = await manager.get_account(
                record_id, module=module, fields=fields, caller=note.principal.caller(channel)
            )
            note.result = {"id": record.get("id")}
            return {"data": record}

        return await run_tool(call, module=module)

    @tool(READ)
    async def describe_fields(
        module: Annotated[
            Literal[DESCRIBED],  # type: ignore[valid-type]
            Field(description="The Zoho module", examples=["Deals"]),
        ] = "Accounts",
        search: Annotated[
            str | None,
            Field(
                description="Only fields whose API name or label contains this (case-insensitive)",
                examples=["stage"],
                max_length=100,
            ),
        ] = None,
        picklists: Annotated[
            bool,
            Field(description="Include each picklist's allowed values", examples=[True]),
        ] = True,
    ) -> Annotated[CallToolResult, FieldList]:
        """A module's fields: API names (what every other tool takes), labels, types,
        whether required or read-only, picklist values, and a lookup's module."""

        async def call(note: AuditNote) -> Body:
            metas = await manager.describe_fields(module, caller=note.principal.caller(channel))
            fields = [_field(m, picklists) for m in metas]
            if search:
                wanted = search.lower()
                fields = [
                    f
                    for f in fields
                    if wanted in str(f["api_name"]).lower() or wanted in str(f["label"]).lower()
                ]
            note.result = {"count": len(fields)}
            return {"module": module, "fields": fields, "count": len(fields)}

        return await run_tool(call, module=module)

    @tool(READ)
    async def find_users(
        query: Annotated[
            str,
            Field(
                description="An email (exact, case-insensitive) or part of a name",
                examples=["dana@example.com", "whit"],
                min_length=2,
                max_length=255,
            ),
        ],
    ) -> Annotated[CallToolResult, UserList]:
        """CRM users by email or name: their ids, names, emails and status.

        An Owner field, and criteria on it, take the user id."""

        async def call(note: AuditNote) -> Body:
            users = _users(await manager.find_users(query, caller=note.principal.caller(channel)))
            note.result = {"count": len(users)}
            return {"users": users, "count": len(users)}

        return await run_tool(call)

    @tool(READ)
    async def query_coql(
        query: Annotated[
            str,
            Field(
                description=f"One COQL SELECT (read-only). Its LIMIT may be at most {MAX_ROWS}; "
                f"without one, LIMIT {MAX_ROWS} is added. Page with `limit N offset M`. "
                "Anything but a SELECT is refused.",
                examples=[
                    "select Account_Name, Annual_Revenue from Accounts where Industry = "
                    "'Retail' order by Annual_Revenue desc limit 20"
                ],
                min_length=10,
                max_length=5000,
            ),
        ],
    ) -> Annotated[CallToolResult, CoqlRows]:
        """Run one read-only COQL query (Zoho's SQL-like SELECT) with a bounded LIMIT."""

        async def call(note: AuditNote) -> Body:
            bounded = bounded_select(query)
            rows = await manager.coql(bounded.text, caller=note.principal.caller(channel))
            note.result = {"count": len(rows)}
            return {
                "query": bounded.text,
                "data": rows,
                "count": len(rows),
                "more": len(rows) >= bounded.limit,
            }

        return await run_tool(call, fields_argument="query")

    @tool(READ)
    async def get_related_records(
        record_id: RecordIdArg,
        related_list: Annotated[
            Literal[RELATED],  # type: ignore[valid-type]
            Field(description="Which related records", examples=["Contacts"]),
        ],
        module: Annotated[
            Literal["Accounts", "Contacts", "Deals", "Leads"],
            Field(description="The module of record_id", examples=["Accounts"]),
        ] = "Accounts",
        fields: Fields = None,
        page: PageNumber = 1,
        per_page: PerPage = 50,
    ) -> Annotated[CallToolResult, Page]:
        """A record's related records: an account's contacts, deals, notes, tasks, calls
        or events (meetings), a page at a time."""

        async def call(note: AuditNote) -> Body:
            found = await manager.get_related_records(
                record_id,
                related_list,
                module=module,
                fields=fields,
                page=page,
                per_page=per_page,
                caller=note.principal.caller(channel),
            )
            note.result = {"count": len(found.records), "more": found.more}
            body = page_body(related_list, found, per_page, tokens=False)
            body["record_id"] = record_id
            return body

        return await run_tool(call, module=related_list)

    @tool(READ)
    async def get_notes(
        record_id: RecordIdArg,
        module: Annotated[
            Literal["Accounts", "Contacts", "Deals", "Leads"],
            Field(description="The module of record_id", examples=["Accounts"]),
        ] = "Accounts",
        page: PageNumber = 1,
        per_page: PerPage = 20,
    ) -> Annotated[CallToolResult, NoteList]:
        """A record's notes, newest first, a page at a time."""

        async def call(note: AuditNote) -> Body:
            found = await manager.get_notes(
                record_id,
                module=module,
                page=page,
                per_page=per_page,
                caller=note.principal.caller(channel),
            )
            note.result = {"count": len(found.records), "more": found.more}
            return {
                "record_id": record_id,
                "module": module,
                "notes": found.records,
                "count": len(found.records),
                "page": found.page,
                "per_page": per_page,
                "more": found.more,
                "next": {"page": found.page + 1} if found.more else None,
            }

        return await run_tool(call, module="Notes")

    @tool(PROPOSE)
    async def propose_note(
        record_id: RecordIdArg,
        content: Annotated[
            str,
            Field(
                description="The note's text",
                examples=["Renewal at risk: the CFO wants a call before the 15th"],
                min_length=1,
                max_length=32000,
            ),
        ],
        reason: Reason,
        module: Annotated[
            Literal["Accounts", "Deals"],
            Field(description="The module of record_id", examples=["Accounts"]),
        ] = "Accounts",
        title: Annotated[
            str | None,
            Field(description="The note's title", examples=["Renewal risk"], max_length=120),
        ] = None,
    ) -> Annotated[CallToolResult, Proposal]:
        """Propose a note on an account or a deal.

        It waits for a person's approval unless this client may write directly; the answer
        says which (status pending or applied)."""

        async def call(note: AuditNote) -> Any:
            caller = note.principal.caller(channel)
            await manager.get_account(record_id, module=module, fields=["id"], caller=caller)
            changes: dict[str, Any] = {"Note_Content": content}
            if title:
                changes["Note_Title"] = title
            return await propose(
                s,
                note,
                channel,
                action=NOTE,
                module=module,
                record_id=record_id,
                changes=changes,
                reason=reason,
                current=None,
            )

        return await run_tool(call, module=module)

    @tool(PROPOSE)
    async def propose_create(
        module: Module,
        record: Annotated[
            dict[ApiName, JsonValue],
            Field(
                description="The new record's fields by API name (describe_fields lists "
                'them and which are required); a lookup takes {"id": ...}',
                examples=[
                    {
                        "Last_Name": "Okafor",
                        "First_Name": "Ada",
                        "Email": "ada.okafor@example.com",
                        "Account_Name": {"id": "4876876000000321001"},
                    }
                ],
                min_length=1,
                max_length=100,
            ),
        ],
        reason: Reason,
    ) -> Annotated[CallToolResult, Proposal]:
        """Propose a new record in Accounts, Contacts, Deals or Leads.

        Its fields are checked against the module's first (unknown fields and missing
        required ones are named). It waits for a person's approval unless this client may
        write directly; once applied, record_id is the new record's id."""

        async def call(note: AuditNote) -> Any:
            caller = note.principal.caller(channel)
            if "id" in record:
                raise InvalidDataError(
                    "a new record has no id: Zoho gives it one",
                    details={"field": "id", "argument": "record"},
                )
            metas = await manager.describe_fields(module, caller=caller)
            known = {str(m.get("api_name")) for m in metas}
            unknown = sorted(set(record) - known)
            if unknown:
                raise InvalidDataError(
                    f"{', '.join(repr(u) for u in unknown)} not field API names of {module}: "
                    "describe_fields lists them",
                    details={"field": unknown[0], "fields": unknown, "argument": "record"},
                )
            required = sorted(
                str(m["api_name"])
                for m in metas
                if m.get("system_mandatory") and m.get("api_name") not in record
            )
            if required:
                raise InvalidDataError(
                    f"{module} needs {', '.join(required)} to create a record",
                    code="MANDATORY_NOT_FOUND",
                    details={"field": required[0], "fields": required, "argument": "record"},
                )
            return await propose(
                s,
                note,
                channel,
                action=CREATE,
                module=module,
                record_id=None,
                changes=record,
                reason=reason,
                current=None,
            )

        return await run_tool(call, module=module, fields_argument="record")
