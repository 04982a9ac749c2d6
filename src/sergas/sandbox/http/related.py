"""Related records, notes on a record, and lead conversion: thin routes over the backend."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sergas.sandbox import errors as E
from sergas.sandbox.http.common import (
    crm,
    int_param,
    json_body,
    json_response,
    modified_since,
    names_param,
    page_response,
    records_body,
    written,
)
from sergas.sandbox.related import NOTES

if TYPE_CHECKING:
    from sergas.sandbox.backend import Caller, Sandbox


async def _list(sb: Sandbox, request: Request, caller: Caller, ids: list[str] | None) -> Response:
    q, p = request.query_params, request.path_params
    page = await sb.related.list_related(
        caller,
        p["module"],
        p["id"],
        p["related"],
        fields=names_param(q.get("fields")),
        page=int_param(q, "page"),
        per_page=int_param(q, "per_page"),
        page_token=q.get("page_token") or None,
        sort_by=q.get("sort_by") or None,
        sort_order=q.get("sort_order") or None,
        ids=ids,
        modified_since=modified_since(request),
    )
    return page_response(page)


@crm()
async def list_related(sb: Sandbox, request: Request, caller: Caller) -> Response:
    return await _list(sb, request, caller, names_param(request.query_params.get("ids")))


@crm()
async def get_related(sb: Sandbox, request: Request, caller: Caller) -> Response:
    return await _list(sb, request, caller, [request.path_params["related_id"]])


@crm(body=True, per_item=True)
async def relate(sb: Sandbox, request: Request, caller: Caller) -> Response:
    p = request.path_params
    items = records_body(request.state.json)
    if "related_id" in p:
        items = [
            {**(items[0] if items and isinstance(items[0], dict) else {}), "id": p["related_id"]}
        ]
    return written(await sb.related.relate(caller, p["module"], p["id"], p["related"], items))


@crm()
async def delink(sb: Sandbox, request: Request, caller: Caller) -> Response:
    p = request.path_params
    if "related_id" in p:
        ids = [p["related_id"]]
    else:
        ids = names_param(request.query_params.get("ids")) or []
    return written(await sb.related.delink(caller, p["module"], p["id"], p["related"], ids))


@crm()
async def add_notes(sb: Sandbox, request: Request, caller: Caller) -> Response:
    """POST /{module}/{id}/Notes; POST on any other related list is not a Zoho operation."""
    p = request.path_params
    if p["related"].lower() != NOTES.lower():
        raise E.InvalidRequestMethod()
    notes = records_body(await json_body(request, per_item=True))
    return written(await sb.related.add_notes(caller, p["module"], p["id"], notes))


@crm(body=True, per_item=True)
async def convert_lead(sb: Sandbox, request: Request, caller: Caller) -> Response:
    p = request.path_params
    if p["module"].lower() != "leads":
        raise E.InvalidUrlPattern()
    item = await sb.leads.convert(caller, p["id"], records_body(request.state.json))
    return json_response({"data": [item]})


ROUTES = [
    Route("/crm/v8/{module}/{id}/actions/convert", convert_lead, methods=["POST"]),
    Route("/crm/v8/{module}/{id}/{related}/{related_id}", get_related, methods=["GET"]),
    Route("/crm/v8/{module}/{id}/{related}/{related_id}", relate, methods=["PUT"]),
    Route("/crm/v8/{module}/{id}/{related}/{related_id}", delink, methods=["DELETE"]),
    Route("/crm/v8/{module}/{id}/{related}", list_related, methods=["GET"]),
    Route("/crm/v8/{module}/{id}/{related}", relate, methods=["PUT"]),
    Route("/crm/v8/{module}/{id}/{related}", delink, methods=["DELETE"]),
    Route("/crm/v8/{module}/{id}/{related}", add_notes, methods=["POST"]),
]
