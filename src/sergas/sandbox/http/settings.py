"""Users, org and /settings routes: the metadata the official SDK and clients read."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sergas.sandbox.http.common import (
    crm,
    int_param,
    json_response,
    modified_since,
    names_param,
    no_content,
    not_modified,
)
from sergas.sandbox.paging import per_page_of, positive
from sergas.sandbox.setup_meta import TAG_LIMIT

if TYPE_CHECKING:
    from sergas.sandbox.backend import Caller, Sandbox


TRANSLATION = {
    "public_views": "Public Views",
    "other_users_views": "Other User's Views",
    "shared_with_me": "Shared With Me",
    "created_by_me": "Created By Me",
}


def _one(key: str, found: Any) -> Response:
    """`{key: [found]}`, or 204 when there is none."""
    return no_content() if not found else json_response({key: [found]})


@crm()
async def users(sb: Sandbox, request: Request, caller: Caller) -> Response:
    q = request.query_params
    size = per_page_of(int_param(q, "per_page"))
    page = positive("page", int_param(q, "page"), 1)
    found = await sb.metadata.users(
        caller,
        q.get("type"),
        ids=names_param(q.get("ids")),
        modified_since=modified_since(request),
    )
    if found is None:
        return not_modified()
    chunk = found[(page - 1) * size : page * size]
    if not chunk:
        return no_content()
    info = {
        "per_page": size,
        "count": len(chunk),
        "page": page,
        "more_records": len(found) > page * size,
    }
    return json_response({"users": chunk, "info": info})


@crm()
async def user(sb: Sandbox, request: Request, caller: Caller) -> Response:
    found = await sb.metadata.user(
        caller, request.path_params["id"], modified_since=modified_since(request)
    )
    if found is None:
        return not_modified()
    if not found:
        return no_content()
    info = {"per_page": 200, "count": 1, "page": 1, "more_records": False}
    return json_response({"users": [found], "info": info})


@crm()
async def org(sb: Sandbox, request: Request, caller: Caller) -> Response:
    return json_response({"org": [await sb.metadata.org(caller)]})


@crm()
async def modules(sb: Sandbox, request: Request, caller: Caller) -> Response:
    found = await sb.metadata.modules(caller, modified_since=modified_since(request))
    return not_modified() if found is None else json_response({"modules": found})


@crm()
async def module(sb: Sandbox, request: Request, caller: Caller) -> Response:
    return _one("modules", await sb.metadata.module(caller, request.path_params["api_name"]))


@crm()
async def fields(sb: Sandbox, request: Request, caller: Caller) -> Response:
    found = await sb.metadata.fields(
        caller, request.query_params.get("module"), modified_since=modified_since(request)
    )
    return not_modified() if found is None else json_response({"fields": found})


@crm()
async def field(sb: Sandbox, request: Request, caller: Caller) -> Response:
    found = await sb.metadata.field(
        caller, request.path_params["id"], request.query_params.get("module")
    )
    return _one("fields", found)


@crm()
async def layouts(sb: Sandbox, request: Request, caller: Caller) -> Response:
    found = await sb.metadata.layouts(caller, request.query_params.get("module"))
    return json_response({"layouts": found})


@crm()
async def layout(sb: Sandbox, request: Request, caller: Caller) -> Response:
    found = await sb.metadata.layout(
        caller, request.path_params["id"], request.query_params.get("module")
    )
    return _one("layouts", found)


@crm()
async def custom_views(sb: Sandbox, request: Request, caller: Caller) -> Response:
    found = await sb.metadata.custom_views(caller, request.query_params.get("module"))
    default = next((v["id"] for v in found if v["default"]), None)
    info = {
        "per_page": 200,
        "count": len(found),
        "page": 1,
        "more_records": False,
        "default": default,
        "translation": TRANSLATION,
    }
    return json_response({"custom_views": found, "info": info})


@crm()
async def custom_view(sb: Sandbox, request: Request, caller: Caller) -> Response:
    found = await sb.metadata.custom_view(
        caller, request.path_params["id"], request.query_params.get("module")
    )
    if not found:
        return no_content()
    return json_response({"custom_views": [found], "info": {"translation": TRANSLATION}})


@crm()
async def related_lists(sb: Sandbox, request: Request, caller: Caller) -> Response:
    found = await sb.metadata.related_lists(caller, request.query_params.get("module"))
    return no_content() if found is None else json_response({"related_lists": found})


@crm()
async def related_list(sb: Sandbox, request: Request, caller: Caller) -> Response:
    found = await sb.metadata.related_list(
        caller, request.path_params["id"], request.query_params.get("module")
    )
    return _one("related_lists", found)


@crm()
async def profiles(sb: Sandbox, request: Request, caller: Caller) -> Response:
    found = await sb.metadata.profiles(caller)
    return json_response({"profiles": found, "info": {"license_limit": None}})


@crm()
async def profile(sb: Sandbox, request: Request, caller: Caller) -> Response:
    found = await sb.metadata.profiles(caller, request.path_params["id"])
    return no_content() if not found else json_response({"profiles": found})


@crm()
async def tags(sb: Sandbox, request: Request, caller: Caller) -> Response:
    found = await sb.metadata.tags(caller, request.query_params.get("module"))
    return json_response({"tags": found, "info": {"count": len(found), "allowed_count": TAG_LIMIT}})


ROUTES = [
    Route("/crm/v8/users", users, methods=["GET"]),
    Route("/crm/v8/users/{id}", user, methods=["GET"]),
    Route("/crm/v8/org", org, methods=["GET"]),
    Route("/crm/v8/settings/modules", modules, methods=["GET"]),
    Route("/crm/v8/settings/modules/{api_name}", module, methods=["GET"]),
    Route("/crm/v8/settings/fields", fields, methods=["GET"]),
    Route("/crm/v8/settings/fields/{id}", field, methods=["GET"]),
    Route("/crm/v8/settings/layouts", layouts, methods=["GET"]),
    Route("/crm/v8/settings/layouts/{id}", layout, methods=["GET"]),
    Route("/crm/v8/settings/custom_views", custom_views, methods=["GET"]),
    Route("/crm/v8/settings/custom_views/{id}", custom_view, methods=["GET"]),
    Route("/crm/v8/settings/related_lists", related_lists, methods=["GET"]),
    Route("/crm/v8/settings/related_lists/{id}", related_list, methods=["GET"]),
    Route("/crm/v8/settings/profiles", profiles, methods=["GET"]),
    Route("/crm/v8/settings/profiles/{id}", profile, methods=["GET"]),
    Route("/crm/v8/settings/tags", tags, methods=["GET"]),
]
