"""CRM v8 routes: records, search, COQL and the metadata the official SDK reads."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sergas.sandbox import errors as E
from sergas.sandbox.http.common import crm, json_response, many_records, no_content
from sergas.sandbox.limits import write_credits

if TYPE_CHECKING:
    from sergas.sandbox.backend import Sandbox
    from sergas.sandbox.oauth import AccessToken

METADATA_TIME = 1704067200.0  # 2024-01-01: module metadata never changes in the sandbox


def _not_modified_since(request: Request) -> bool:
    raw = request.headers.get("if-modified-since")
    if not raw:
        return False
    try:
        from datetime import datetime

        try:
            since = datetime.fromisoformat(raw)
        except ValueError:
            since = parsedate_to_datetime(raw)
        return since.timestamp() >= METADATA_TIME
    except (TypeError, ValueError):
        raise E.InvalidData("invalid data", {"param_name": "If-Modified-Since"}) from None


@crm()
async def list_records(sb: Sandbox, request: Request, access: AccessToken) -> Response:
    params = request.query_params
    sb.limits.charge(3 if params.get("cvid") else 1)
    page = sb.records.get_records(request.path_params["module"], params, access.user_id)
    return no_content() if page is None else json_response({"data": page.data, "info": page.info})


@crm()
async def get_record(sb: Sandbox, request: Request, access: AccessToken) -> Response:
    sb.limits.charge(1)
    record = sb.records.get(
        request.path_params["module"], request.path_params["id"], request.query_params.get("fields")
    )
    return no_content() if record is None else json_response({"data": [record]})


def _writer(mode: str, *, path_id: bool = False) -> Callable[[Request], Awaitable[Response]]:
    @crm(body=True, heavy=many_records, per_item=True)
    async def write(sb: Sandbox, request: Request, access: AccessToken) -> Response:
        body = request.state.json
        count = (
            len(body["data"])
            if isinstance(body, dict) and isinstance(body.get("data"), list)
            else 1
        )
        sb.limits.charge(write_credits(count))
        result = sb.records.write(
            request.path_params["module"],
            body,
            mode,
            path_id=request.path_params.get("id") if path_id else None,
        )
        return json_response({"data": result.items}, result.status)

    return write


@crm()
async def delete_records(sb: Sandbox, request: Request, access: AccessToken) -> Response:
    raw = request.path_params.get("id") or request.query_params.get("ids") or ""
    ids = [i.strip() for i in raw.split(",") if i.strip()]
    sb.limits.charge(write_credits(len(ids) or 1))
    if "id" in request.path_params and not raw.isdigit():
        raise E.InvalidData("invalid record id", {"resource_path_index": 1})
    result = sb.records.delete(request.path_params["module"], ids)
    return json_response({"data": result.items}, result.status)


@crm(heavy=True)
async def search_records(sb: Sandbox, request: Request, access: AccessToken) -> Response:
    sb.limits.charge(1)
    page = sb.records.search(request.path_params["module"], request.query_params)
    return no_content() if page is None else json_response({"data": page.data, "info": page.info})


@crm(body=True, heavy=True)
async def coql(sb: Sandbox, request: Request, access: AccessToken) -> Response:
    page, credits = sb.records.coql(request.state.json)
    sb.limits.charge(credits)
    return no_content() if page is None else json_response({"data": page.data, "info": page.info})


@crm()
async def users(sb: Sandbox, request: Request, access: AccessToken) -> Response:
    sb.limits.charge(1)
    kind = request.query_params.get("type", "AllUsers")
    if kind == "CurrentUser":
        found = [u for u in sb.users if u["id"] == access.user_id]
    elif kind in ("AllUsers", "ActiveUsers"):
        found = list(sb.users)
    else:
        raise E.InvalidData("invalid data", {"param_name": "type"})
    info = {"per_page": 200, "count": len(found), "page": 1, "more_records": False}
    return json_response({"users": found, "info": info})


@crm()
async def org(sb: Sandbox, request: Request, access: AccessToken) -> Response:
    sb.limits.charge(1)
    return json_response({"org": [sb.org]})


@crm()
async def modules(sb: Sandbox, request: Request, access: AccessToken) -> Response:
    sb.limits.charge(1)
    if _not_modified_since(request):
        return Response(status_code=304)
    return json_response({"modules": [m.metadata() for m in sb.modules.values()]})


@crm()
async def fields(sb: Sandbox, request: Request, access: AccessToken) -> Response:
    sb.limits.charge(1)
    name = request.query_params.get("module")
    if not name:
        raise E.RequiredParamMissing(details={"param_name": "module"})
    module = sb.module(name)
    if module is None:
        raise E.InvalidModule(details={"api_name": "module"})
    if _not_modified_since(request):
        return Response(status_code=304)
    return json_response({"fields": [f.metadata(sb.modules) for f in module.fields]})


ROUTES = [
    Route("/crm/v8/users", users, methods=["GET"]),
    Route("/crm/v8/org", org, methods=["GET"]),
    Route("/crm/v8/settings/modules", modules, methods=["GET"]),
    Route("/crm/v8/settings/fields", fields, methods=["GET"]),
    Route("/crm/v8/coql", coql, methods=["POST"]),
    Route("/crm/v8/{module}/search", search_records, methods=["GET"]),
    Route("/crm/v8/{module}/upsert", _writer("upsert"), methods=["POST"]),
    Route("/crm/v8/{module}/{id}", get_record, methods=["GET"]),
    Route("/crm/v8/{module}/{id}", _writer("update", path_id=True), methods=["PUT"]),
    Route("/crm/v8/{module}/{id}", delete_records, methods=["DELETE"]),
    Route("/crm/v8/{module}", list_records, methods=["GET"]),
    Route("/crm/v8/{module}", _writer("create"), methods=["POST"]),
    Route("/crm/v8/{module}", _writer("update"), methods=["PUT"]),
    Route("/crm/v8/{module}", delete_records, methods=["DELETE"]),
]
