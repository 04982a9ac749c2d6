"""What every sandbox route shares: JSON in and out, auth, credits, Zoho's error rendering."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio
import orjson
from starlette.requests import Request
from starlette.responses import Response

from sergas.sandbox import errors as E

if TYPE_CHECKING:
    from sergas.sandbox.backend import Sandbox
    from sergas.sandbox.oauth import AccessToken

JSON_TYPE = "application/json;charset=UTF-8"

Handler = Callable[["Sandbox", Request, "AccessToken"], Awaitable[Response]]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=JSON_TYPE, headers=headers)


def no_content() -> Response:
    return Response(status_code=204)


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
        raise E.InvalidData(
            "invalid data", {"api_name": "body"}, per_item=per_item
        ) from None


def crm(
    *, heavy: bool | Callable[[Any], bool] = False, body: bool = False, per_item: bool = False
) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """A CRM route: check the token, hold a sub-concurrency slot for heavy APIs, simulate
    latency inside that slot, render ZohoErrors, add limit headers.

    With `body=True` the JSON body is parsed first and left in `request.state.json`;
    `heavy` may then be a predicate on it (writes of more than 10 records are heavy).
    """

    def decorate(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            sb = sandbox_of(request)
            held = False
            try:
                access = sb.oauth.authenticate(request.headers.get("authorization"))
                parsed = await json_body(request, per_item=per_item) if body else None
                request.state.json = parsed
                if heavy is True or (callable(heavy) and heavy(parsed)):
                    sb.limits.enter_heavy()
                    held = True
                delay = sb.faults.latency()
                if delay:
                    await anyio.sleep(delay)
                response = await handler(sb, request, access)
            except E.ZohoError as exc:
                response = error_response(exc)
            finally:
                if held:
                    sb.limits.leave_heavy()
            remaining = sb.limits.credits_header()
            if remaining is not None:
                response.headers["X-API-CREDITS-REMAINING"] = remaining
            return response

        return endpoint

    return decorate


def many_records(parsed: Any) -> bool:
    """Writes of more than 10 records count against Zoho's sub-concurrency cap."""
    data = parsed.get("data") if isinstance(parsed, dict) else None
    return isinstance(data, list) and len(data) > 10
