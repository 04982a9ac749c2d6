"""The request body limit: a body over `SERGAS_SERVICE_MAX_BODY_BYTES` is answered 413
`REQUEST_TOO_LARGE` before the app reads it, so an oversized request is never parsed, held
in memory, or forwarded to Zoho.

A plain ASGI middleware inside `RequestContextMiddleware` (the answer carries the request
id). A declared `Content-Length` over the limit is refused before a byte is read; a body
without one (chunked) is counted as it arrives and refused at the first chunk past the
limit: the app then sees the client gone, and whatever it would answer is dropped.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BodyLimitMiddleware"]


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, send, declared)
            return
        seen = 0
        refused = started = False

        async def counted() -> Message:
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes and not started:
                    refused = True
                    await self._refuse(scope, send, None)
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 is the answer
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except Exception:
            if not refused:
                raise

    async def _refuse(self, scope: Scope, send: Send, declared: int | None) -> None:
        details: dict[str, Any] = {"max_bytes": self.max_bytes}
        if declared is not None:
            details["content_length"] = declared
        body = orjson.dumps(
            {
                "error": {
                    "code": "REQUEST_TOO_LARGE",
                    "message": f"the request body is over {self.max_bytes} bytes "
                    "(SERGAS_SERVICE_MAX_BODY_BYTES); send fewer records per request",
                    "details": details,
                },
                "request_id": scope.get("state", {}).get("request_id"),
            }
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            text = bytes(value).decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None
