"""CRM v8 routes: records, search, COQL and the metadata the official SDK reads.

Each route parses the query string or body into the backend operation's arguments and
renders its answer; credits and limits are the operation's.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sergas.sandbox import errors as E
from sergas.sandbox.http.common import (
    crm,
    int_param,
    json_response,
    names_param,
    no_content,
    records_body,
)

if TYPE_CHECKING:
    from sergas.sandbox.backend import Caller, Sandbox
    from sergas.sandbox.records import Page, WriteResult


def _modified_since(request: Request) -> datetime | None:
    raw = request.headers.get("if-modified-since")
    if not raw:
        return None
    try:
        try:
            return datetime.fromisoformat(raw)
        except ValueError:
            return parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        raise E.InvalidData("invalid data", {"param_name": "If-Modified-Since"}) from None


def _page(page: Page | None) -> Response:
    return no_content() if page is None else json_response({"data": page.data, "info": page.info})


def _written(result: WriteResult) -> Response:
    return json_response({"data": result.items}, result.status)


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
    )
    return _page(page)


@crm()
async def get_record(sb: Sandbox, request: Request, caller: Caller) -> Response:
    record = await sb.records.get_record(
        caller,
        request.path_params["module"],
        request.path_params["id"],
        fields=names_param(request.query_params.get("fields")),
    )
    return no_content() if record is None else json_response({"data": [record]})


@crm(body=True, per_item=True)
async def create_records(sb: Sandbox, request: Request, caller: Caller) -> Response:
    records = records_body(request.state.json)
    return _written(await sb.records.create_records(caller, request.path_params["module"], records))


@crm(body=True, per_item=True)
async def update_records(sb: Sandbox, request: Request, caller: Caller) -> Response:
    records = records_body(request.state.json)
    result = await sb.records.update_records(
        caller, request.path_params["module"], records, record_id=request.path_params.get("id")
    )
    return _written(result)


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
    return _written(result)


@crm()
async def delete_records(sb: Sandbox, request: Request, caller: Caller) -> Response:
    ids = names_param(request.query_params.get("ids")) or []
    return _written(await sb.records.delete_records(caller, request.path_params["module"], ids))


@crm()
async def delete_record(sb: Sandbox, request: Request, caller: Caller) -> Response:
    module, record_id = request.path_params["module"], request.path_params["id"]
    return _written(await sb.records.delete_record(caller, module, record_id))


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
    return _page(page)


@crm(body=True)
async def coql(sb: Sandbox, request: Request, caller: Caller) -> Response:
    body = request.state.json
    query = body.get("select_query") if isinstance(body, dict) else None
    return _page(await sb.queries.coql(caller, query if isinstance(query, str) else None))


@crm()
async def users(sb: Sandbox, request: Request, caller: Caller) -> Response:
    found = await sb.metadata.users(caller, request.query_params.get("type"))
    info = {"per_page": 200, "count": len(found), "page": 1, "more_records": False}
    return json_response({"users": found, "info": info})


@crm()
async def org(sb: Sandbox, request: Request, caller: Caller) -> Response:
    return json_response({"org": [await sb.metadata.org(caller)]})


@crm()
async def modules(sb: Sandbox, request: Request, caller: Caller) -> Response:
    found = await sb.metadata.modules(caller, modified_since=_modified_since(request))
    return Response(status_code=304) if found is None else json_response({"modules": found})


@crm()
async def fields(sb: Sandbox, request: Request, caller: Caller) -> Response:
    found = await sb.metadata.fields(
        caller, request.query_params.get("module"), modified_since=_modified_since(request)
    )
    return Response(status_code=304) if found is None else json_response({"fields": found})


ROUTES = [
    Route("/crm/v8/users", users, methods=["GET"]),
    Route("/crm/v8/org", org, methods=["GET"]),
    Route("/crm/v8/settings/modules", modules, methods=["GET"]),
    Route("/crm/v8/settings/fields", fields, methods=["GET"]),
    Route("/crm/v8/coql", coql, methods=["POST"]),
    Route("/crm/v8/{module}/search", search_records, methods=["GET"]),
    Route("/crm/v8/{module}/upsert", upsert_records, methods=["POST"]),
    Route("/crm/v8/{module}/{id}", get_record, methods=["GET"]),
    Route("/crm/v8/{module}/{id}", update_records, methods=["PUT"]),
    Route("/crm/v8/{module}/{id}", delete_record, methods=["DELETE"]),
    Route("/crm/v8/{module}", list_records, methods=["GET"]),
    Route("/crm/v8/{module}", create_records, methods=["POST"]),
    Route("/crm/v8/{module}", update_records, methods=["PUT"]),
    Route("/crm/v8/{module}", delete_records, methods=["DELETE"]),
]
