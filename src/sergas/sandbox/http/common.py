"""What every sandbox route shares: JSON in and out, auth, parsing, Zoho's error rendering."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from sergas.sandbox import errors as E
from sergas.sandbox.limits import CLIENT_HEADER
from sergas.sandbox.paging import Page
from sergas.sandbox.records import NotModified, WriteResult

if TYPE_CHECKING:
    from sergas.sandbox.backend import Caller, Sandbox

JSON_TYPE = "application/json;charset=UTF-8"
SLOT_HELD = "sandbox_slot_held"  # scope["state"] key: the middleware holds the org's slot

Handler = Callable[["Sandbox", Request, "Caller"], Awaitable[Response]]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=JSON_TYPE, headers=headers)


def no_content() -> Response:
    return Response(status_code=204)


def not_modified() -> Response:
    return Response(status_code=304)


def page_response(page: Page | NotModified | None) -> Response:
    """A list answer: the page, 204 when empty, 304 when nothing changed."""
    if isinstance(page, NotModified):
        return not_modified()
    return no_content() if page is None else json_response({"data": page.data, "info": page.info})


def written(result: WriteResult) -> Response:
    return json_response({"data": result.items}, result.status)


def error_response(exc: E.ZohoError) -> Response:
    body = {"data": [exc.to_json()]} if exc.per_item else exc.to_json()
    return json_response(body, exc.status)


def sandbox_of(request: Request) -> Sandbox:
    sb: Sandbox = request.app.state.sandbox
    return sb


async def json_body(request: Request, *, per_item: bool = False) -> Any:
    """Zoho parses JSON whatever the Content-Type (the official SDK sends none)."""
    raw = await request.body()
    if not raw:
        raise E.InvalidData("invalid data", {"api_name": "body"}, per_item=per_item)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise E.InvalidData("invalid data", {"api_name": "body"}, per_item=per_item) from None


def crm(
    *, body: bool = False, per_item: bool = False
) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """A CRM route: check the token, render ZohoErrors, add the credits header.

    With `body=True` the JSON body is parsed first and left in `request.state.json`. The
    org's concurrency slot is held by the middleware; credits, the sub-concurrency slot and
    the latency are the backend operation's.
    """

    def decorate(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            sb = sandbox_of(request)
            headers = request.headers
            try:
                caller = sb.authenticate(
                    headers.get("authorization"),
                    headers.get(CLIENT_HEADER),
                    slot_held=request.scope.get("state", {}).get(SLOT_HELD, False),
                )
                if body:
                    request.state.json = await json_body(request, per_item=per_item)
                response = await handler(sb, request, caller)
            except E.ZohoError as exc:
                response = error_response(exc)
            remaining = sb.limits.credits_header()
            if remaining is not None:
                response.headers["X-API-CREDITS-REMAINING"] = remaining
            return response

        return endpoint

    return decorate


# -- parsing query strings and bodies into the backend's typed arguments ----------------------


def int_param(params: Mapping[str, str], name: str) -> int | None:
    """An integer query parameter; absent or empty is None."""
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise E.InvalidData(
            "invalid data", {"param_name": name, "expected_data_type": "integer"}
        ) from None


def modified_since(request: Request) -> datetime | None:
    """If-Modified-Since: ISO 8601 (as Zoho's docs write it) or an HTTP date."""
    raw = request.headers.get("if-modified-since")
    if not raw:
        return None
    try:
        try:
            since = datetime.fromisoformat(raw)
        except ValueError:
            since = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        raise E.InvalidData("invalid data", {"param_name": "If-Modified-Since"}) from None
    return since if since.tzinfo else since.replace(tzinfo=UTC)


def names_param(raw: str | None) -> list[str] | None:
    """A comma-separated list (field names, ids); absent or empty is None."""
    if not raw:
        return None
    return [name.strip() for name in raw.split(",") if name.strip()] or None


def records_body(parsed: Any) -> list[Any]:
    """The `data` list of a records write body, `{"data": [records]}`."""
    if not isinstance(parsed, dict) or not isinstance(parsed.get("data"), list):
        raise E.InvalidData(
            'the json body is invalid; expected {"data": [records]}',
            {"api_name": "data", "json_path": "$.data"},
            per_item=True,
        )
    data: list[Any] = parsed["data"]
    return data
