"""Zoho Accounts routes: token grant/refresh and revoke."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sergas.sandbox.errors import OAuthError
from sergas.sandbox.http.common import json_response, sandbox_of


async def _form(request: Request) -> dict[str, str]:
    """Zoho takes the fields as a form body or as a query string (its docs show the latter)."""
    values = dict(request.query_params)
    if request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        values.update({k: v for k, v in form.items() if isinstance(v, str)})
    return values


async def token(request: Request) -> Response:
    sb = sandbox_of(request)
    try:
        body = sb.oauth.token(await _form(request), sb.config.base_url)
    except OAuthError as exc:
        return json_response(exc.to_json(), exc.status)
    return json_response(body)


async def revoke(request: Request) -> Response:
    sb = sandbox_of(request)
    form = await _form(request)
    try:
        sb.oauth.revoke(form.get("token", ""))
    except OAuthError as exc:
        return json_response({"status": "failure", "error": exc.error}, exc.status)
    return json_response({"status": "success"})


ROUTES = [
    Route("/oauth/v2/token", token, methods=["POST"]),
    Route("/oauth/v2/token/revoke", revoke, methods=["POST"]),
]
