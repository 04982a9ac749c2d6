"""Where Sergas meets the `mcp` and httpx2 libraries: what the HTTP layer saw per call, and the
one translation of their failures into Sergas errors. (Auth is `sergas.auth.ZohoAuth` with
the Bearer scheme.)

HTTP requests run in the caller's context (the `mcp` transport copies it per message), so
the event hooks see the caller's context variables: a per-call `Trace` records the HTTP status
and Zoho's error JSON (the transport itself reports any non-JSON-RPC answer only as "Server
returned an error response"), and structlog's bound `correlation_id` goes out as
`X-Correlation-ID` on that call's requests.

The same context tells the response hook whether the call holds one of the org's slots
(`sergas.org.limiter.answered`): a 200 JSON answer that completes the tool call (a result,
not a JSON-RPC error nor a tool error) gives the slot back there, before the `mcp` library
parses and validates it (a few ms of CPU per call, the slot idle meanwhile). An answer
streamed as server-sent events, and every failure, keep the slot until the call returns.
"""

from __future__ import annotations

import asyncio
import contextvars
from dataclasses import dataclass
from typing import Any

import httpx2
import orjson
import structlog
from mcp.client.streamable_http import MCP_SESSION_ID
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult, TextContent
from mcp_types import CONNECTION_CLOSED, INTERNAL_ERROR, INVALID_PARAMS, REQUEST_TIMEOUT

from sergas import errors
from sergas.errors import SergasError, error_from_zoho
from sergas.org.limiter import answered, awaiting_answer

__all__ = [
    "CLOSED",
    "CORRELATION_HEADER",
    "SESSION_LOST",
    "TRACE",
    "Trace",
    "event_hooks",
    "tool_body",
    "translate",
]

CORRELATION_HEADER = "X-Correlation-ID"
SESSION_LOST = "MCP_SESSION_LOST"
CLOSED = "MCP_CONNECTION_CLOSED"


# -- what the HTTP layer saw, per call -------------------------------------------------


@dataclass
class Trace:
    status: int | None = None
    zoho_error: dict[str, Any] | None = None  # Zoho's error JSON from a non-2xx answer
    in_session: bool = False  # the request carried a session id
    session_id: str | None = None  # the last session id a response assigned
    answered: bool = False  # the tool call's answer is in, and its org slot given back


TRACE: contextvars.ContextVar[Trace | None] = contextvars.ContextVar(
    "sergas_mcp_trace", default=None
)


def event_hooks() -> dict[str, list[Any]]:
    """The httpx2 client's hooks: correlation id and trace on requests, trace on responses."""
    return {"request": [_on_request], "response": [_on_response]}


async def _on_request(request: httpx2.Request) -> None:
    correlation = structlog.contextvars.get_contextvars().get("correlation_id")
    if correlation is not None:
        request.headers[CORRELATION_HEADER] = str(correlation)
    trace = TRACE.get()
    if trace is not None:
        trace.in_session = MCP_SESSION_ID in request.headers


async def _on_response(response: httpx2.Response) -> None:
    trace = TRACE.get()
    if trace is None:
        return
    trace.status, trace.zoho_error = response.status_code, None
    trace.session_id = response.headers.get(MCP_SESSION_ID) or trace.session_id
    if response.status_code >= 400:
        await response.aread()  # small error bodies; the transport reads the cached copy
        trace.zoho_error = _zoho_json(response.content)
    elif response.status_code == 200 and awaiting_answer():
        await _answer_if_complete(response, trace)


async def _answer_if_complete(response: httpx2.Response, trace: Trace) -> None:
    """`answered()` when `response` is the JSON answer that completes a `tools/call`: the
    same id, a result, no tool error (the same call is then sent no more; a tools/list that
    the library sends to validate a result, or a result asking for input, is not it)."""
    content_type = response.headers.get("content-type", "")
    if not content_type.lower().startswith("application/json"):
        return
    sent = _json(response.request)
    if sent is None or sent.get("method") != "tools/call" or "id" not in sent:
        return
    await response.aread()  # the transport reads the cached copy
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return
    if not isinstance(body, dict) or body.get("id") != sent["id"] or "error" in body:
        return
    result = body.get("result")
    if (
        isinstance(result, dict)
        and "content" in result
        and result.get("isError") is not True
        and result.get("resultType", "complete") == "complete"
    ):
        trace.answered = True
        await answered()


def _json(request: httpx2.Request) -> dict[str, Any] | None:
    try:
        body = orjson.loads(request.content)
    except (httpx2.RequestNotRead, orjson.JSONDecodeError):
        return None
    return body if isinstance(body, dict) else None


def _zoho_json(raw: bytes) -> dict[str, Any] | None:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if isinstance(body, dict) and isinstance(body.get("code"), str) and "jsonrpc" not in body:
        return body
    return None


# -- the boundary -------------------------------------------------------------------------


def translate(exc: BaseException, trace: Trace | None = None) -> SergasError:
    """Every foreign exception of an MCP call, as a Sergas error. Causes are named in
    `details["cause"]`, never chained: HTTP errors hold requests, and requests hold tokens."""
    if isinstance(exc, SergasError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        leaf = _first_leaf(exc)
        return translate(leaf, trace) if leaf else errors.ConnectionError("MCP session failed")
    cause = {"cause": f"{type(exc).__name__}: {exc}"}
    if isinstance(exc, httpx2.TimeoutException):
        return errors.TimeoutError("the MCP endpoint did not answer in time", details=cause)
    if isinstance(exc, httpx2.HTTPError):
        return errors.ConnectionError("the MCP endpoint could not be reached", details=cause)
    if isinstance(exc, MCPError):
        return _from_mcp_error(exc, trace)
    # Malformed results (pydantic), unexpected protocol turns: the server misbehaved.
    return errors.ServerError(
        "the MCP endpoint answered outside the protocol", code="MCP_PROTOCOL_ERROR", details=cause
    )


def _first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException | None:
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            found = _first_leaf(exc)
            if found is not None:
                return found
        elif not isinstance(exc, asyncio.CancelledError):
            return exc
    return None


def _from_mcp_error(exc: MCPError, trace: Trace | None) -> SergasError:
    details = {"mcp_code": exc.code, "mcp_message": exc.message}
    status = trace.status if trace is not None else None
    if trace is not None and status is not None and status >= 400:
        body = trace.zoho_error
        if body is not None:
            found = body.get("details")
            return error_from_zoho(
                body["code"], status, str(body.get("message", "")), found if found else {}
            )
        if status == 404 and trace.in_session:
            return errors.ConnectionError(
                "the MCP session is gone (the server restarted or expired it)",
                code=SESSION_LOST,
                http_status=404,
                details=details,
            )
        return error_from_zoho(None, status, f"the MCP endpoint answered HTTP {status}", details)
    if exc.code == CONNECTION_CLOSED:
        return errors.ConnectionError("the MCP connection closed", code=CLOSED, details=details)
    if exc.code == REQUEST_TIMEOUT:
        return errors.TimeoutError("the MCP call timed out", details=details)
    if exc.code == INVALID_PARAMS:
        return errors.InvalidDataError(exc.message, code="MCP_INVALID_PARAMS", details=details)
    if exc.code == INTERNAL_ERROR:
        return errors.ServerError(exc.message, code="MCP_INTERNAL_ERROR", details=details)
    return SergasError(exc.message, code=f"MCP_ERROR_{exc.code}", details=details)


def tool_body(result: CallToolResult) -> dict[str, Any]:
    """A tool's Zoho JSON (structured content, else its JSON text); a tool error raises the
    Sergas error for Zoho's code."""
    body = result.structured_content
    if body is None:
        body = _text_json(result)
    if result.is_error:
        if body is not None and isinstance(body.get("code"), str):
            found = body.get("details")
            details = found if isinstance(found, dict) else {}
            raise error_from_zoho(body["code"], None, str(body.get("message", "")), details)
        text = " ".join(b.text for b in result.content if isinstance(b, TextContent))
        raise SergasError(text[:500] or "the MCP tool failed", code="MCP_TOOL_ERROR")
    if body is None:
        raise errors.ServerError("the MCP tool answered without JSON", code="MCP_PROTOCOL_ERROR")
    found_body: dict[str, Any] = body
    return found_body


def _text_json(result: CallToolResult) -> dict[str, Any] | None:
    """For servers that send Zoho's JSON only as text."""
    for block in result.content:
        if isinstance(block, TextContent):
            try:
                parsed = orjson.loads(block.text)
            except orjson.JSONDecodeError:
                continue
            if isinstance(parsed, dict):
                return parsed
    return None
