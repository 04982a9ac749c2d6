"""Test hooks under /__sandbox/: stats, faults, clock, reset, grant codes."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sergas.sandbox.http.common import json_response, sandbox_of


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    value = orjson.loads(raw)
    if not isinstance(value, dict):
        raise ValueError("expected a JSON object")
    return value


def _bad(message: str) -> Response:
    return json_response({"status": "error", "code": "INVALID_REQUEST", "message": message}, 400)


async def stats(request: Request) -> Response:
    return json_response(sandbox_of(request).stats())


async def faults(request: Request) -> Response:
    sb = sandbox_of(request)
    if request.method == "POST":
        try:
            body = await _body(request)
            if body.pop("revoke_tokens", False):
                sb.oauth.revoke_all_access_tokens()
            sb.faults.update(body)
        except (ValueError, TypeError, KeyError) as exc:
            return _bad(str(exc))
    return json_response(sb.faults.as_dict())


async def clock(request: Request) -> Response:
    sb = sandbox_of(request)
    if request.method == "POST":
        try:
            body = await _body(request)
            sb.clock.advance(float(body.get("advance_seconds", 0)))
        except (ValueError, TypeError) as exc:
            return _bad(str(exc))
    return json_response({"now": sb.clock.now(), "iso": sb.clock.now_dt().isoformat()})


async def reset(request: Request) -> Response:
    sb = sandbox_of(request)
    try:
        body = await _body(request)
    except ValueError as exc:
        return _bad(str(exc))
    sb.reset(reseed=bool(body.get("records", True)))
    return json_response({"status": "success"})


async def grant_code(request: Request) -> Response:
    """Mint a self-client grant code, as the Zoho API console does."""
    return json_response({"code": sandbox_of(request).oauth.new_grant_code(), "expires_in": 180})


ROUTES = [
    Route("/__sandbox/stats", stats, methods=["GET"]),
    Route("/__sandbox/faults", faults, methods=["GET", "POST"]),
    Route("/__sandbox/clock", clock, methods=["GET", "POST"]),
    Route("/__sandbox/reset", reset, methods=["POST"]),
    Route("/__sandbox/grant-code", grant_code, methods=["POST"]),
]
