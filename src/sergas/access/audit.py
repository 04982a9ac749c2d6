"""The tool-call audit: one row per MCP `tools/call`, whatever became of it, and one per call
the manager refused.

`AuditNote` is what one call did (who, which tool, its outcome, a short result summary, the
approval it created); `AuditLog.record()` writes it as a `tool_calls` row. The MCP server's
middleware (`sergas.agents.audit`) opens a note per call and records it. The manager hands
every refusal (a caller's permission, whatever the front door) to `record_refusal()`: the
row names the manager operation as its tool, the channel as its transport, outcome "denied".

Arguments are stored with secrets redacted: anything shaped like a Zoho token or a
Sergas API key, and the values of keys named like secrets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from sergas.access.keys import redact_keys
from sergas.access.principal import Principal, Scope
from sergas.db.engine import database_errors
from sergas.db.tables import tool_calls
from sergas.errors import redact

if TYPE_CHECKING:
    from sergas.manager.caller import Refusal

__all__ = ["AuditLog", "AuditNote", "redact_arguments"]

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

    async def record_refusal(self, refusal: Refusal) -> None:
        """A call the manager refused for its caller's permissions."""
        caller, error = refusal.caller, refusal.error
        scope: Scope = "read" if caller.read_only else "write"
        who = Principal(caller.key_id, caller.name[:255], scope)
        note = AuditNote(who, refusal.operation, "denied", {"message": error.message}, error.code)
        await self.record(note, caller.channel[:16], dict(refusal.arguments), 0.0)

    async def recent(self, limit: int = 100) -> list[dict[str, Any]]:
        """The newest rows first, as dicts."""
        query = select(tool_calls).order_by(tool_calls.c.id.desc()).limit(limit)
        with database_errors(self.engine.url):
            async with self.engine.connect() as conn:
                rows = (await conn.execute(query)).mappings().all()
        return [dict(r) for r in rows]
