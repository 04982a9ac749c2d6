"""Who may call which MCP tool: the caller's permission context, checked before any call.

Tools are named here by their canonical names (the sandbox's, which are the keys of the
tool-name map; a deployment may map them to other names on its server). A context either
comes with the client (`ZohoMCPClient(..., context=...)`, its ceiling) or is bound for a
block of code, e.g. by the manager for one agent's request:

    with mcp_context(MCPContext.reader(caller="health-agent")):
        await tier.get_account(record_id)        # allowed
        await tier.update_account(record_id, {}) # PermissionDeniedError, nothing sent

Both apply: a call must be permitted by the client's context and by the bound one. Nested
`mcp_context` blocks only narrow what the outer block allowed, never widen it. The tier's own
look-ups (describe_module for default fields, search_records for user lookups) are tool calls
like any other: a context listing `allowed_tools` must include them where they are needed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from sergas.errors import PermissionDeniedError

__all__ = [
    "FULL_ACCESS",
    "READ_TOOLS",
    "TOOLS",
    "WRITE_TOOLS",
    "MCPContext",
    "current_mcp_context",
    "mcp_context",
]

READ_TOOLS = frozenset(
    {"search_records", "get_record", "list_records", "coql_query", "describe_module"}
)
WRITE_TOOLS = frozenset({"update_record", "bulk_update_records"})
TOOLS = READ_TOOLS | WRITE_TOOLS


@dataclass(frozen=True, slots=True)
class MCPContext:
    """A caller's permissions: `read_only` refuses every write tool; `allowed_tools`, when
    set, is the only tools the caller may use (canonical names). `caller` names the caller
    in refusals and logs."""

    read_only: bool = False
    allowed_tools: frozenset[str] | None = None
    caller: str | None = None

    def __post_init__(self) -> None:
        if self.allowed_tools is not None:
            unknown = set(self.allowed_tools) - TOOLS
            if unknown:
                raise ValueError(f"unknown MCP tools: {', '.join(sorted(unknown))}")

    @classmethod
    def reader(cls, caller: str | None = None) -> MCPContext:
        """Read-only access to every read tool."""
        return cls(read_only=True, caller=caller)

    @classmethod
    def only(cls, tools: Iterable[str], caller: str | None = None) -> MCPContext:
        return cls(allowed_tools=frozenset(tools), caller=caller)

    def permits(self, tool: str) -> bool:
        if self.read_only and tool in WRITE_TOOLS:
            return False
        return self.allowed_tools is None or tool in self.allowed_tools

    def check(self, tool: str) -> None:
        """Raise PermissionDeniedError unless `tool` is permitted."""
        if self.permits(tool):
            return
        who = f"caller {self.caller!r}" if self.caller else "this caller"
        why = "is read-only" if self.read_only and tool in WRITE_TOOLS else "may not use it"
        raise PermissionDeniedError(
            f"MCP tool {tool!r} refused: {who} {why}",
            details={"tool": tool, "caller": self.caller, "read_only": self.read_only},
        )

    def narrow(self, other: MCPContext) -> MCPContext:
        """What both contexts allow."""
        if self.allowed_tools is None:
            allowed = other.allowed_tools
        elif other.allowed_tools is None:
            allowed = self.allowed_tools
        else:
            allowed = self.allowed_tools & other.allowed_tools
        return MCPContext(
            read_only=self.read_only or other.read_only,
            allowed_tools=allowed,
            caller=other.caller or self.caller,
        )


FULL_ACCESS = MCPContext()

_CURRENT: ContextVar[MCPContext | None] = ContextVar("sergas_mcp_context", default=None)


def current_mcp_context() -> MCPContext | None:
    """The context bound by the innermost `mcp_context` block, if any."""
    return _CURRENT.get()


@contextmanager
def mcp_context(context: MCPContext) -> Iterator[MCPContext]:
    """Bind `context` (narrowed by any outer binding) for the calls made inside the block."""
    outer = _CURRENT.get()
    bound = outer.narrow(context) if outer is not None else context
    token = _CURRENT.set(bound)
    try:
        yield bound
    finally:
        _CURRENT.reset(token)
