"""Who a manager call is made for, and what they may do: checked by the manager before
routing, whatever tier would serve the call (the one place a permission is enforced).

    reader = Caller.reader("health-agent", key_id="3f9c2a1b7d4e", channel="http")
    await manager.get_account(record_id, caller=reader)          # allowed
    await manager.update_account(record_id, {}, caller=reader)   # PermissionDeniedError

The front doors pass the caller of each call: the HTTP service and the MCP server the API
key's (`sergas.access.principal.Principal.caller`), the CLI the local operator, an approved
proposal the approver's authority. A call that names no caller runs as the manager's own
(`ZohoIntegrationManager(caller=...)`, by default the program that opened it: full access).

A refusal raises `PermissionDeniedError` before anything is routed or sent, is logged, and
is handed to the manager's `audit` (the runtime records it in the audit table).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sergas.errors import PermissionDeniedError

__all__ = [
    "OPERATIONS",
    "PROGRAM",
    "READ_OPERATIONS",
    "WRITE_OPERATIONS",
    "Caller",
    "Refusal",
    "RefusalAudit",
]

READ_OPERATIONS = frozenset(
    {
        "get_account",
        "get_accounts",
        "iter_accounts",
        "search_accounts",
        "coql",
        "bulk_read_accounts",
        "describe_fields",
        "list_records",
        "search_page",
        "get_related_records",
        "get_notes",
        "get_deleted_records",
        "count_records",
        "find_users",
    }
)
WRITE_OPERATIONS = frozenset(
    {"update_account", "bulk_update_accounts", "add_note", "create_records"}
)
OPERATIONS = READ_OPERATIONS | WRITE_OPERATIONS


@dataclass(frozen=True, slots=True)
class Caller:
    """A caller's identity and permissions. `read_only` refuses every write operation;
    `operations`, when set, is the only operations the caller may use. `name` and `key_id`
    (an API key's public id, never a secret) say who in refusals, logs and the audit;
    `channel` how the call came (http, mcp-http, mcp-stdio, cli, approval, library)."""

    name: str
    read_only: bool = False
    operations: frozenset[str] | None = None
    key_id: str | None = None
    channel: str = "library"

    def __post_init__(self) -> None:
        if self.operations is not None:
            unknown = set(self.operations) - OPERATIONS
            if unknown:
                raise ValueError(f"unknown manager operations: {', '.join(sorted(unknown))}")

    @classmethod
    def reader(cls, name: str, *, key_id: str | None = None, channel: str = "library") -> Caller:
        """Every read, no write."""
        return cls(name, read_only=True, key_id=key_id, channel=channel)

    @classmethod
    def only(
        cls,
        operations: Iterable[str],
        name: str,
        *,
        key_id: str | None = None,
        channel: str = "library",
    ) -> Caller:
        return cls(name, operations=frozenset(operations), key_id=key_id, channel=channel)

    def label(self) -> str:
        return self.name if self.key_id is None else f"{self.name} ({self.key_id})"

    def permits(self, operation: str) -> bool:
        if self.read_only and operation in WRITE_OPERATIONS:
            return False
        return self.operations is None or operation in self.operations

    def refusal(self, operation: str) -> PermissionDeniedError:
        """The error for an operation this caller may not run."""
        read_only = self.read_only and operation in WRITE_OPERATIONS
        why = "is read-only" if read_only else "may not use it"
        return PermissionDeniedError(
            f"{operation} refused: {self.label()} {why}; nothing was sent to Zoho",
            details={
                "operation": operation,
                "caller": self.name,
                "key_id": self.key_id,
                "read_only": self.read_only,
            },
        )


PROGRAM = Caller("the program that opened the manager")


@dataclass(frozen=True, slots=True)
class Refusal:
    """One refused call, as the audit records it: who, what, on which records."""

    caller: Caller
    operation: str
    error: PermissionDeniedError
    arguments: Mapping[str, Any] = field(default_factory=dict)


RefusalAudit = Callable[[Refusal], Awaitable[None]]
