"""/v1/accounts: list, get, search, update, bulk update. Records are Zoho's JSON, as the
manager returns them (the same whichever tier fetched them)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request

from sergas.access.schemas import API_NAME, MAX_FIELDS, RECORD_ID
from sergas.service.auth import Reader, Writer, get_runtime
from sergas.service.errors import ApiError, JSONResponse
from sergas.service.responses import (
    ZOHO,
    AccountBody,
    AccountPage,
    BulkOutcome,
    RecordOutcome,
    SearchResult,
    errors,
)
from sergas.service.schemas import BulkUpdateRequest, SearchRequest, UpdateRequest
from sergas.tiers.base import BulkResult, RecordResult

__all__ = ["CHANNEL", "FieldsQuery", "RecordIdPath", "outcome_json", "parse_fields", "router"]

router = APIRouter(prefix="/v1/accounts", tags=["accounts"])
CHANNEL = "http"  # the manager checks each call's permissions for the key that made it

RecordIdPath = Annotated[
    str,
    Path(
        pattern=RECORD_ID, description="Zoho record id (digits)", examples=["4876876000000321001"]
    ),
]
FieldsQuery = Annotated[
    str | None,
    Query(
        description=f"Comma-separated field API names (at most {MAX_FIELDS}); default: all",
        examples=["Account_Name,Owner,Industry"],
        max_length=5000,
    ),
]


def parse_fields(fields: str | None) -> list[str] | None:
    """`a,b,c` → [a, b, c], each checked as an API name (422 otherwise)."""
    if fields is None or not fields.strip():
        return None
    names = [f.strip() for f in fields.split(",") if f.strip()]
    bad = [n for n in names if not re.match(API_NAME, n)]
    if bad or len(names) > MAX_FIELDS:
        problem = (
            f"not field API names: {', '.join(bad[:5])}"
            if bad
            else (f"at most {MAX_FIELDS} fields")
        )
        raise ApiError(
            422,
            "VALIDATION_ERROR",
            f"invalid request: query.fields: {problem}",
            {"errors": [{"loc": ["query", "fields"], "msg": problem, "type": "value_error"}]},
        )
    return names


def outcome_json(result: RecordResult) -> dict[str, Any]:
    return {
        "index": result.index,
        "id": result.id,
        "ok": result.ok,
        "code": result.code,
        "message": result.message,
        "details": dict(result.details),
    }


def bulk_json(result: BulkResult) -> dict[str, Any]:
    return {
        "ok": result.ok,
        "succeeded": len(result.succeeded),
        "failed": len(result.failed),
        "results": [outcome_json(r) for r in result.results],
    }


@router.get(
    "",
    summary="List accounts, a page at a time",
    response_model=AccountPage,
    responses=errors(401, *ZOHO),
)
async def list_accounts(
    request: Request,
    who: Reader,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 200,
    fields: FieldsQuery = None,
    sort_by: Literal["id", "Created_Time", "Modified_Time"] | None = None,
    sort_order: Literal["asc", "desc"] | None = None,
) -> JSONResponse:
    records = await get_runtime(request).manager.get_accounts(
        limit=per_page,
        page=page,
        sort_by=sort_by,
        sort_order=sort_order,
        fields=parse_fields(fields),
        caller=who.caller(CHANNEL),
    )
    return JSONResponse(
        {
            "data": records,
            # A full page may or may not be followed by another; a short one is the last.
            "info": {
                "page": page,
                "per_page": per_page,
                "count": len(records),
                "more_records": len(records) == per_page,
            },
        }
    )


@router.post(
    "/search",
    summary="Search accounts by typed criteria",
    response_model=SearchResult,
    responses=errors(401, 413, *ZOHO),
)
async def search_accounts(request: Request, body: SearchRequest, who: Reader) -> JSONResponse:
    records = await get_runtime(request).manager.search_accounts(
        body.criteria.to_criteria(),
        limit=body.limit,
        fields=body.fields,
        caller=who.caller(CHANNEL),
    )
    return JSONResponse({"data": records, "info": {"count": len(records)}})


@router.post(
    "/bulk-update",
    summary="Update many accounts; one outcome per record",
    response_model=BulkOutcome,
    responses=errors(401, 403, 413, *ZOHO),
)
async def bulk_update(request: Request, body: BulkUpdateRequest, who: Writer) -> JSONResponse:
    cap = request.app.state.service_settings.max_bulk_records
    if len(body.records) > cap:
        raise ApiError(
            413,
            "TOO_MANY_RECORDS",
            f"{len(body.records)} records in one request; at most {cap} "
            "(SERGAS_SERVICE_MAX_BULK_RECORDS)",
            {"records": len(body.records), "max": cap},
        )
    result = await get_runtime(request).manager.bulk_update_accounts(
        body.records, caller=who.caller(CHANNEL)
    )
    return JSONResponse(bulk_json(result))


@router.get(
    "/{record_id}",
    summary="One account",
    response_model=AccountBody,
    responses=errors(401, *ZOHO),
)
async def get_account(
    request: Request, record_id: RecordIdPath, who: Reader, fields: FieldsQuery = None
) -> JSONResponse:
    record = await get_runtime(request).manager.get_account(
        record_id, fields=parse_fields(fields), caller=who.caller(CHANNEL)
    )
    return JSONResponse({"data": record})


@router.patch(
    "/{record_id}",
    summary="Update one account's fields",
    response_model=RecordOutcome,
    responses=errors(401, 403, 413, *ZOHO),
)
async def update_account(
    request: Request, record_id: RecordIdPath, body: UpdateRequest, who: Writer
) -> JSONResponse:
    result = await get_runtime(request).manager.update_account(
        record_id, body.data, caller=who.caller(CHANNEL)
    )
    return JSONResponse(outcome_json(result))
