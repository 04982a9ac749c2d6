"""/v1/accounts/{id}/related/{list} and /v1/accounts/{id}/notes: an account's related
records and notes, a page at a time, and adding a note.

A write-scope key's note is added at once (201, Zoho's outcome). A read-scope key's note is
a proposal in the approval queue (202, the approval), decided by a person with
`sergas approvals` or the dashboard, exactly as an agent's `propose_note`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import APIRouter, Path, Query, Request

from sergas.access.approvals import NOTE, ApprovalStore
from sergas.service.accounts import CHANNEL, FieldsQuery, RecordIdPath, outcome_json, parse_fields
from sergas.service.auth import Reader, get_runtime
from sergas.service.errors import JSONResponse
from sergas.service.responses import ZOHO, Queued, RecordOutcome, RecordPage, errors
from sergas.service.schemas import NoteRequest
from sergas.zoho_limits import RECORDS_PER_PAGE

if TYPE_CHECKING:
    from sergas.tiers.base import RecordPage as Found

__all__ = ["router"]

router = APIRouter(prefix="/v1/accounts", tags=["accounts"])

RelatedList = Literal["Contacts", "Deals", "Notes", "Tasks", "Calls", "Events"]
PageQuery = Annotated[int, Query(ge=1, le=10_000, description="Page number, 1 first")]
PerPageQuery = Annotated[int, Query(ge=1, le=RECORDS_PER_PAGE, description="Records per page")]


def page_json(found: Found, per_page: int) -> dict[str, object]:
    return {
        "data": found.records,
        "info": {
            "page": found.page,
            "per_page": per_page,
            "count": len(found.records),
            "more_records": found.more,
        },
    }


@router.get(
    "/{record_id}/related/{related_list}",
    summary="An account's related records (contacts, deals, notes, tasks, calls, events)",
    response_model=RecordPage,
    responses=errors(401, *ZOHO),
)
async def related_records(
    request: Request,
    record_id: RecordIdPath,
    related_list: Annotated[RelatedList, Path(description="Zoho's related list")],
    who: Reader,
    page: PageQuery = 1,
    per_page: PerPageQuery = RECORDS_PER_PAGE,
    fields: FieldsQuery = None,
) -> JSONResponse:
    found = await get_runtime(request).manager.get_related_records(
        record_id,
        related_list,
        fields=parse_fields(fields),
        page=page,
        per_page=per_page,
        caller=who.caller(CHANNEL),
    )
    return JSONResponse(page_json(found, per_page))


@router.get(
    "/{record_id}/notes",
    summary="An account's notes, newest first",
    response_model=RecordPage,
    responses=errors(401, *ZOHO),
)
async def notes(
    request: Request,
    record_id: RecordIdPath,
    who: Reader,
    page: PageQuery = 1,
    per_page: PerPageQuery = RECORDS_PER_PAGE,
) -> JSONResponse:
    found = await get_runtime(request).manager.get_notes(
        record_id, page=page, per_page=per_page, caller=who.caller(CHANNEL)
    )
    return JSONResponse(page_json(found, per_page))


@router.post(
    "/{record_id}/notes",
    summary="Add a note to an account (a write key), or propose one (a read key)",
    status_code=201,
    response_model=RecordOutcome,
    responses={
        202: {"model": Queued, "description": "A read key's note: queued for a person"},
        **errors(401, 413, *ZOHO),
    },
)
async def add_note(
    request: Request, record_id: RecordIdPath, body: NoteRequest, who: Reader
) -> JSONResponse:
    runtime = get_runtime(request)
    caller = who.caller(CHANNEL)
    if who.can_write:
        result = await runtime.manager.add_note(
            record_id, content=body.content, title=body.title, caller=caller
        )
        return JSONResponse(outcome_json(result), 201)
    # Read first: a proposal for a record that is not there is a 404 now, not a failure
    # after someone approved it.
    await runtime.manager.get_account(record_id, fields=["id"], caller=caller)
    changes = {"Note_Content": body.content} | ({"Note_Title": body.title} if body.title else {})
    approval = await ApprovalStore(runtime.engine).propose(
        who,
        record_id,
        changes,
        body.reason or "a note from the HTTP API",
        current=None,
        action=NOTE,
    )
    shown = {k: v for k, v in approval.to_json().items() if k != "applying_process"}
    return JSONResponse(
        {
            "status": approval.status,
            "approval": shown,
            "note": "queued for approval: your key has read scope",
        },
        202,
    )
