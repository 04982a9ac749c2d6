"""Who is calling: a principal, and the scopes a key may carry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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
