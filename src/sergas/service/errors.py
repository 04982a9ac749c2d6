"""Every error the service answers with has one JSON shape:

    {"error": {"code": "...", "message": "...", "details": {...}}, "request_id": "..."}

`http_status()` is the one table from Sergas's errors to HTTP statuses. Zoho refusing
*our* credentials is a gateway failure (502), not the caller's 401; the caller's own
credentials are judged by `sergas.service.auth`.
"""

from __future__ import annotations

from typing import Any

import orjson
import starlette.responses
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from sergas import errors
from sergas.access.keys import redact_keys
from sergas.errors import SergasError
from sergas.log import get_logger

__all__ = ["ApiError", "JSONResponse", "error_body", "http_status", "install_handlers"]

log = get_logger("sergas.service")


class JSONResponse(starlette.responses.JSONResponse):
    """orjson rendering: records are plain dicts, so no model is built per response. (A
    JSON response class, so OpenAPI shows each route's response model.)"""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


class ApiError(Exception):
    """An error the service raises itself (auth, scope, limits), with its status."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details = details or {}
        self.headers = headers


# Most specific first: the first isinstance match wins.
_STATUS: tuple[tuple[type[SergasError], int], ...] = (
    (errors.PermissionDeniedError, 403),
    (errors.AuthError, 502),
    (errors.RateLimitError, 429),
    (errors.NotFoundError, 404),
    (errors.InvalidDataError, 422),
    (errors.LimitExceededError, 400),
    (errors.TimeoutError, 504),
    (errors.ConnectionError, 502),
    (errors.ServerError, 502),
    (errors.CircuitOpenError, 503),
    (errors.DatabaseError, 503),
    (errors.CoordinationError, 503),
    (errors.ConfigError, 503),  # e.g. no tier can serve the call: the message says which setting
)


def http_status(exc: SergasError) -> int:
    if isinstance(exc, errors.LimitExceededError) and exc.http_status == 413:
        return 413  # Zoho found the request too large: so it was, as the caller sent it
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def error_body(
    request: Request, code: str, message: str, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "error": {"code": code, "message": redact_keys(message), "details": details or {}},
        "request_id": getattr(request.state, "request_id", None),
    }


async def _sergas_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SergasError)
    status = http_status(exc)
    headers = {}
    if isinstance(exc, errors.RateLimitError) and exc.retry_after:
        headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    if status >= 500:
        log.warning("request failed", code=exc.code, status=status, error=exc.message)
    return JSONResponse(
        error_body(request, exc.code, exc.message, exc.details), status, headers=headers
    )


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    body = error_body(request, exc.code, exc.message, exc.details)
    return JSONResponse(body, exc.status, headers=exc.headers)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = [
        # No "input": it may be a whole body, secrets included.
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    summary = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in problems[:5])
    body = error_body(
        request, "VALIDATION_ERROR", f"invalid request: {summary}", {"errors": problems}
    )
    return JSONResponse(body, 422)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, "HTTP_ERROR")
    body = error_body(request, code, str(exc.detail))
    return JSONResponse(body, exc.status_code, headers=exc.headers)


def install_handlers(app: FastAPI) -> None:
    app.add_exception_handler(SergasError, _sergas_error)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    # Anything else is answered by RequestContextMiddleware (with the request id).
