"""Who is calling: a principal, and the scopes a key may carry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from sergas.manager.caller import Caller

__all__ = ["PREFIX", "SCOPES", "Principal", "Scope"]

Scope = Literal["read", "write"]
SCOPES: tuple[Scope, ...] = ("read", "write")
PREFIX = "sgk_"  # every Sergas API key starts with it


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key's public id, name and scope. Holds no secret."""

    key_id: str | None
    name: str
    scope: Scope

    @property
    def can_write(self) -> bool:
        return self.scope == "write"

    def label(self) -> str:
        return self.name if self.key_id is None else f"{self.name} ({PREFIX}{self.key_id})"

    def caller(self, channel: str) -> Caller:
        """This principal as the manager's caller: a read-scope key may not write, whatever
        tier would serve the call. `channel`: how the call came (http, mcp-stdio, …)."""
        from sergas.manager.caller import Caller

        return Caller(self.name, read_only=not self.can_write, key_id=self.key_id, channel=channel)
