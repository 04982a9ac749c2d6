"""CRM v8 record routes: records, search, COQL, count, the recycle bin and mass update.

Each route parses the query string or body into the backend operation's arguments and
renders its answer; credits and limits are the operation's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sergas.sandbox import errors as E
from sergas.sandbox.http.common import (
    crm,
    int_param,
    json_response,
    modified_since,
    names_param,
    no_content,
    not_modified,
    page_response,
    records_body,
    written,
)
from sergas.sandbox.records import NotModified

if TYPE_CHECKING:
    from sergas.sandbox.backend import Caller, Sandbox


@crm()
async def list_records(sb: Sandbox, request: Request, caller: Caller) -> Response:
    q = request.query_params
    page = await sb.records.list_records(
        caller,
        request.path_params["module"],
        fields=names_param(q.get("fields")),
        page=int_param(q, "page"),
        per_page=int_param(q, "per_page"),
        page_token=q.get("page_token") or None,
        sort_by=q.get("sort_by") or None,
        sort_order=q.get("sort_order") or None,
        cvid=q.get("cvid") or None,
        ids=names_param(q.get("ids")),
        modified_since=modified_since(request),
    )
    return page_response(page)


@crm()
async def get_record(sb: Sandbox, request: Request, caller: Caller) -> Response:
    record = await sb.records.get_record(
        caller,
        request.path_params["module"],
        request.path_params["id"],
        fields=names_param(request.query_params.get("fields")),
        modified_since=modified_since(request),
    )
    if isinstance(record, NotModified):
        return not_modified()
    return no_content() if record is None else json_response({"data": [record]})


@crm(body=True, per_item=True)
async def create_records(sb: Sandbox, request: Request, caller: Caller) -> Response:
    records = records_body(request.state.json)
    return written(await sb.records.create_records(caller, request.path_params["module"], records))


@crm(body=True, per_item=True)
async def update_records(sb: Sandbox, request: Request, caller: Caller) -> Response:
    records = records_body(request.state.json)
    result = await sb.records.update_records(
        caller, request.path_params["module"], records, record_id=request.path_params.get("id")
    )
    return written(result)


@crm(body=True, per_item=True)
async def upsert_records(sb: Sandbox, request: Request, caller: Caller) -> Response:
    body: Any = request.state.json
    records = records_body(body)
    raw = body.get("duplicate_check_fields")
    if raw is not None and not isinstance(raw, list):
        raise E.InvalidData(
            "invalid data",
            {
                "api_name": "duplicate_check_fields",
                "json_path": "$.duplicate_check_fields",
                "expected_data_type": "jsonarray",
            },
            per_item=True,
        )
    check = [str(name) for name in raw] if raw else None
    result = await sb.records.upsert_records(
        caller, request.path_params["module"], records, duplicate_check_fields=check
    )
    return written(result)


@crm()
async def delete_records(sb: Sandbox, request: Request, caller: Caller) -> Response:
    ids = names_param(request.query_params.get("ids")) or []
    return written(await sb.records.delete_records(caller, request.path_params["module"], ids))


@crm()
async def delete_record(sb: Sandbox, request: Request, caller: Caller) -> Response:
    module, record_id = request.path_params["module"], request.path_params["id"]
    return written(await sb.records.delete_record(caller, module, record_id))


@crm()
async def search_records(sb: Sandbox, request: Request, caller: Caller) -> Response:
    q = request.query_params
    page = await sb.queries.search_records(
        caller,
        request.path_params["module"],
        criteria=q.get("criteria"),
        email=q.get("email"),
        phone=q.get("phone"),
        word=q.get("word"),
        page=int_param(q, "page"),
        per_page=int_param(q, "per_page"),
        fields=names_param(q.get("fields")),
        sort_by=q.get("sort_by") or None,
        sort_order=q.get("sort_order") or None,
    )
    return page_response(page)


@crm(body=True)
async def coql(sb: Sandbox, request: Request, caller: Caller) -> Response:
    body = request.state.json
    query = body.get("select_query") if isinstance(body, dict) else None
    return page_response(await sb.queries.coql(caller, query if isinstance(query, str) else None))


@crm()
async def count(sb: Sandbox, request: Request, caller: Caller) -> Response:
    q = request.query_params
    found = await sb.actions.count(
        caller,
        request.path_params["module"],
        cvid=q.get("cvid") or None,
        criteria=q.get("criteria") or None,
        email=q.get("email") or None,
        phone=q.get("phone") or None,
        word=q.get("word") or None,
    )
    return json_response({"count": found})


@crm()
async def deleted(sb: Sandbox, request: Request, caller: Caller) -> Response:
    q = request.query_params
    page = await sb.actions.deleted(
        caller,
        request.path_params["module"],
        kind=q.get("type") or None,
        page=int_param(q, "page"),
        per_page=int_param(q, "per_page"),
        modified_since=modified_since(request),
    )
    return page_response(page)


@crm(body=True, per_item=True)
async def mass_update(sb: Sandbox, request: Request, caller: Caller) -> Response:
    body: Any = request.state.json
    records = records_body(body)
    ids = body.get("ids")
    cvid = body.get("cvid")
    if ids is not None and not isinstance(ids, list):
        raise E.InvalidData(
            "invalid data",
            {"api_name": "ids", "json_path": "$.ids", "expected_data_type": "jsonarray"},
            per_item=True,
        )
    item = await sb.actions.mass_update(
        caller,
        request.path_params["module"],
        records[0] if records else None,
        ids=ids,
        cvid=str(cvid) if cvid else None,
    )
    return json_response({"data": [item]}, 202)


@crm()
async def mass_update_status(sb: Sandbox, request: Request, caller: Caller) -> Response:
    status = await sb.actions.mass_update_status(
        caller, request.path_params["module"], request.query_params.get("job_id") or None
    )
    return json_response({"data": [status]})


# Paths with a fixed last part come before /{module}/{id}, which would take them as an id.
ROUTES = [
    Route("/crm/v8/coql", coql, methods=["POST"]),
    Route("/crm/v8/{module}/search", search_records, methods=["GET"]),
    Route("/crm/v8/{module}/upsert", upsert_records, methods=["POST"]),
    Route("/crm/v8/{module}/deleted", deleted, methods=["GET"]),
    Route("/crm/v8/{module}/actions/count", count, methods=["GET"]),
    Route("/crm/v8/{module}/actions/mass_update", mass_update, methods=["POST"]),
    Route("/crm/v8/{module}/actions/mass_update", mass_update_status, methods=["GET"]),
]
RECORD_ROUTES = [
    Route("/crm/v8/{module}/{id}", get_record, methods=["GET"]),
    Route("/crm/v8/{module}/{id}", update_records, methods=["PUT"]),
    Route("/crm/v8/{module}/{id}", delete_record, methods=["DELETE"]),
    Route("/crm/v8/{module}", list_records, methods=["GET"]),
    Route("/crm/v8/{module}", create_records, methods=["POST"]),
    Route("/crm/v8/{module}", update_records, methods=["PUT"]),
    Route("/crm/v8/{module}", delete_records, methods=["DELETE"]),
]
