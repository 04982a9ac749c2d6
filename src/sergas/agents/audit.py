"""The MCP server's audit middleware: every `tools/call` leaves a `tool_calls` row.

`AuditMiddleware` wraps every inbound MCP message; for a `tools/call` it opens an
`AuditNote` (in a ContextVar the tool reads), lets the call run, and records it through
`sergas.access.audit.AuditLog`. So a call that never reached the tool (unknown tool,
arguments that fail the schema) is audited too, as an error. The tool adds what only it
knows to the note: its outcome (ok, queued, denied, error), a short result summary, the
approval it created.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

import orjson
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.types import CallToolResult, TextContent

from sergas.access.audit import AuditLog, AuditNote
from sergas.access.principal import Principal
from sergas.errors import SergasError
from sergas.log import get_logger

__all__ = ["UNIDENTIFIED", "AuditMiddleware", "current_note"]

log = get_logger("sergas.agents")

_note: ContextVar[AuditNote | None] = ContextVar("sergas_audit_note", default=None)


def current_note() -> AuditNote | None:
    return _note.get()


class AuditMiddleware:
    """MCP server middleware: every `tools/call` leaves an audit row."""

    def __init__(
        self,
        audit: AuditLog,
        transport: str,
        principal_of: Callable[[ServerRequestContext[Any, Any]], Awaitable[Principal]],
    ) -> None:
        self.audit = audit
        self.transport = transport
        self.principal_of = principal_of

    async def __call__(
        self, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        if ctx.method != "tools/call":
            return await call_next(ctx)
        params = ctx.params or {}
        tool = str(params.get("name", ""))
        try:
            who = await self.principal_of(ctx)
        except SergasError as exc:  # e.g. the stdio key was revoked since the server started
            note = AuditNote(UNIDENTIFIED, tool, "denied", {"message": exc.message}, exc.code)
            await self._record(note, params.get("arguments"), 0.0)
            return _refused(exc)
        note = AuditNote(who, tool)
        token = _note.set(note)
        started = time.perf_counter()
        try:
            result = await call_next(ctx)
        except Exception as exc:
            note.outcome, note.error_code = "error", type(exc).__name__
            raise
        else:
            if _is_error(result) and note.outcome not in ("denied", "error"):
                note.outcome = "error"
                text = _text(result)
                # Arguments that fail the schema never reach the tool.
                invalid = "validation error" in text
                note.error_code = note.error_code or (
                    "INVALID_ARGUMENTS" if invalid else "TOOL_ERROR"
                )
                note.result = note.result or {"message": text}
            return result
        finally:
            _note.reset(token)
            elapsed = (time.perf_counter() - started) * 1000
            await self._record(note, params.get("arguments"), elapsed)

    async def _record(self, note: AuditNote, arguments: Any, elapsed_ms: float) -> None:
        try:
            await self.audit.record(note, self.transport, arguments, elapsed_ms)
        except Exception:  # the call's answer must not depend on the audit's database
            log.exception("audit write failed", tool=note.tool)


UNIDENTIFIED = Principal(None, "(unidentified)", "read")


def _refused(exc: SergasError) -> CallToolResult:
    body = {"error": {"code": exc.code, "message": exc.message, "details": exc.details}}
    text = orjson.dumps(body).decode()
    return CallToolResult(
        content=[TextContent(type="text", text=text)], structured_content=body, is_error=True
    )


def _is_error(result: Any) -> bool:
    if isinstance(result, dict):
        return bool(result.get("isError") or result.get("is_error"))
    return bool(getattr(result, "is_error", False))


def _text(result: Any) -> str:
    content = (
        result.get("content") if isinstance(result, dict) else getattr(result, "content", None)
    )
    for block in content or []:
        text = block.get("text") if isinstance(block, dict) else getattr(block, "text", None)
        if text:
            return str(text)[:500]
    return ""
