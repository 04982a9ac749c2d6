"""The MCP server's audit middleware: every `tools/call` leaves a `tool_calls` row.

`AuditMiddleware` wraps every inbound MCP message; for a `tools/call` it opens an
`AuditNote` (in a ContextVar the tool reads), lets the call run, and records it through
`sergas.access.audit.AuditLog`. So a call that never reached the tool (unknown tool,
arguments that fail the schema) is audited too, as an error. The tool adds what only it
knows to the note: its outcome (ok, queued, denied, error), a short result summary, the
approval it created.

A refused caller (no key, not a key, an unknown, revoked or wrong key) is audited too, by
`record_refusal()`, on both transports: outcome `denied`, the key id it claimed (never the
secret), the key's name when it exists, and why; and logged at warning.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.types import CallToolResult

from sergas.access.audit import AuditLog, AuditNote
from sergas.access.keys import KeyRefused
from sergas.access.principal import Principal
from sergas.agents.errors import error_result
from sergas.errors import SergasError
from sergas.log import get_logger

__all__ = ["UNIDENTIFIED", "AuditMiddleware", "current_note", "record_refusal"]

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
            await record_refusal(self.audit, self.transport, exc, tool, params.get("arguments"))
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
                # E.g. arguments that fail the schema: they never reach the tool.
                note.outcome = "error"
                error = _error(result)
                note.error_code = note.error_code or str(error.get("code") or "TOOL_ERROR")
                note.result = note.result or {"message": str(error.get("message", ""))[:500]}
            return result
        finally:
            _note.reset(token)
            elapsed = (time.perf_counter() - started) * 1000
            await self._record(note, params.get("arguments"), elapsed)

    async def _record(self, note: AuditNote, arguments: Any, elapsed_ms: float) -> None:
        await _write(self.audit, note, self.transport, arguments, elapsed_ms)


UNIDENTIFIED = Principal(None, "(unidentified)", "read")


async def _write(
    audit: AuditLog, note: AuditNote, transport: str, arguments: Any, elapsed_ms: float
) -> None:
    try:
        await audit.record(note, transport, arguments, elapsed_ms)
    except Exception:  # the call's answer must not depend on the audit's database
        log.exception("audit write failed", tool=note.tool)


async def record_refusal(
    audit: AuditLog,
    transport: str,
    exc: SergasError,
    tool: str,
    arguments: Any = None,
    **context: Any,
) -> None:
    """Audit and log one refused caller. `tool`: the tool asked for, or what was refused
    (`POST /mcp`, `(session start)`); `context`: more to keep (the remote address)."""
    refused = exc.audit_details() if isinstance(exc, KeyRefused) else {}
    key_id, name = refused.get("key_id"), refused.get("name")
    who = Principal(key_id, name or UNIDENTIFIED.name, "read")
    summary = {"message": exc.message, **refused, **context}
    log.warning(
        "caller refused",
        transport=transport,
        tool=tool,
        code=exc.code,
        **{k: v for k, v in summary.items() if k != "message"},
    )
    note = AuditNote(who, tool, "denied", summary, exc.code)
    await _write(audit, note, transport, arguments, 0.0)


def _refused(exc: SergasError) -> CallToolResult:
    return error_result(exc.code, exc.message, exc.details)


def _is_error(result: Any) -> bool:
    if isinstance(result, dict):
        return bool(result.get("isError") or result.get("is_error"))
    return bool(getattr(result, "is_error", False))


def _error(result: Any) -> dict[str, Any]:
    """The error object of a tool error (the one shape), or {}."""
    body = (
        result.get("structuredContent")
        if isinstance(result, dict)
        else getattr(result, "structured_content", None)
    )
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}
