"""Per request: an id, bound in logs and sent to Zoho, one access log line, HTTP metrics.

A plain ASGI middleware (no BaseHTTPMiddleware: it would copy every body through a
queue). The request id is the caller's X-Request-ID when it is a sane token, else a new
one; it is echoed in the response, bound in structlog's context as `request_id`, and used as
the manager's correlation id, so the tiers send it to Zoho as X-Correlation-ID.

An exception that escapes the app becomes a 500 in the service's JSON error shape here,
inside this middleware, so it still carries the request id.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import orjson
import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sergas.log import correlation_scope, get_logger

__all__ = ["HttpMetrics", "RequestContextMiddleware"]

log = get_logger("sergas.service")
HEADER = b"x-request-id"
_SANE = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class HttpMetrics:
    """`sergas_http_requests_total{method,route,status}` and a duration histogram.
    `route` is the route's template (`/v1/accounts/{record_id}`), never a raw path."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "sergas_http_requests",
            "HTTP requests served, by route template and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "sergas_http_request_duration_seconds",
            "Time to serve an HTTP request, by route template.",
            ["method", "route"],
            buckets=BUCKETS,
            registry=registry,
        )
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                self.requests.labels(method, route, str(status)),
                self.duration.labels(method, route),
            )
        children[0].inc()
        children[1].observe(seconds)


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == HEADER and _SANE.match(value):
            return bytes(value).decode()
    return uuid.uuid4().hex


def _route(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "(unmatched)"


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, metrics: HttpMetrics | None = None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = rid
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message["headers"] = [*message.get("headers", []), (HEADER, rid.encode())]
            await send(message)

        bound = structlog.contextvars.bind_contextvars(request_id=rid)
        try:
            with correlation_scope(rid):
                try:
                    await self.app(scope, receive, send_with_id)
                except Exception as exc:
                    log.exception("unexpected error", error=type(exc).__name__)
                    if response_started:
                        raise
                    await _internal_error(rid, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = _route(scope)
            if self.metrics is not None:
                self.metrics.observe(scope["method"], route, status, elapsed)
            who = scope["state"].get("principal")
            log.info(
                "request",
                client=getattr(who, "key_id", None),
                method=scope["method"],
                path=scope["path"],
                route=route,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
            )
            structlog.contextvars.reset_contextvars(**bound)
            structlog.contextvars.unbind_contextvars("client")  # bound by the auth dependency


async def _internal_error(rid: str, send: Send) -> None:
    body = orjson.dumps(
        {
            "error": {
                "code": "INTERNAL_ERROR",
                "message": "the service failed; see its log",
                "details": {},
            },
            "request_id": rid,
        }
    )
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
