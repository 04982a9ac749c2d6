"""The tool-call audit: one row per MCP `tools/call`, whatever became of it.

`AuditMiddleware` wraps every inbound MCP message; for a `tools/call` it opens an
`AuditNote` (in a ContextVar the tool reads), lets the call run, and writes the row. So a
call that never reached the tool (unknown tool, arguments that fail the schema) is
audited too, as an error. The tool adds what only it knows to the note: its outcome
(ok, queued, denied, error), a short result summary, the approval it created.

Arguments are stored with secrets redacted: anything shaped like a Zoho token or a
Sergas API key, and the values of keys named like secrets.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import structlog
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.types import CallToolResult, TextContent
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from sergas.db.engine import database_errors
from sergas.errors import SergasError, redact
from sergas.service.keys import Principal, redact_keys
from sergas.service.tables import tool_calls

__all__ = ["AuditLog", "AuditMiddleware", "AuditNote", "current_note", "redact_arguments"]

log = structlog.get_logger("sergas.agents")
_MAX_TEXT = 2000  # characters kept of any one string argument


def redact_arguments(value: Any) -> Any:
    """Zoho tokens, Sergas API keys and secret-named keys replaced; long strings cut."""
    value = redact(value)
    if isinstance(value, str):
        text = redact_keys(value)
        return text if len(text) <= _MAX_TEXT else text[:_MAX_TEXT] + "…"
    if isinstance(value, dict):
        return {str(k): redact_arguments(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_arguments(v) for v in value]
    return value


@dataclass
class AuditNote:
    """What one tool call did, filled in as it runs."""

    principal: Principal
    tool: str
    outcome: str = "ok"
    result: dict[str, Any] | None = None
    error_code: str | None = None
    approval_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


_note: ContextVar[AuditNote | None] = ContextVar("sergas_audit_note", default=None)


def current_note() -> AuditNote | None:
    return _note.get()


class AuditLog:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def record(
        self, note: AuditNote, transport: str, arguments: Any, duration_ms: float
    ) -> None:
        row = {
            "at": datetime.now(UTC),
            "client_key_id": note.principal.key_id,
            "client_name": note.principal.name,
            "transport": transport,
            "tool": note.tool[:64],
            "arguments": redact_arguments(arguments if arguments is not None else {}),
            "outcome": note.outcome,
            "result": redact_arguments(note.result) if note.result is not None else None,
            "error_code": note.error_code,
            "duration_ms": round(duration_ms, 3),
            "approval_id": note.approval_id,
        }
        with database_errors(self.engine.url):
            async with self.engine.begin() as conn:
                await conn.execute(insert(tool_calls), [row])

    async def recent(self, limit: int = 100) -> list[dict[str, Any]]:
        """The newest rows first, as dicts."""
        query = select(tool_calls).order_by(tool_calls.c.id.desc()).limit(limit)
        with database_errors(self.engine.url):
            async with self.engine.connect() as conn:
                rows = (await conn.execute(query)).mappings().all()
        return [dict(r) for r in rows]


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
