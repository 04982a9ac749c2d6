"""The parsed query and its result; Zoho's COQL limits and credits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, TypeAlias

DEFAULT_LIMIT: Final = 200
MAX_LIMIT: Final = 2000
MAX_REACHABLE: Final = 100_000
MAX_COLUMNS: Final = 50
MAX_CRITERIA: Final = 25
MAX_IN_VALUES: Final = 100
MAX_AGGREGATES: Final = 5
MAX_GROUP_BY: Final = 4
MAX_ORDER_BY: Final = 10
AGGREGATES: Final = frozenset({"COUNT", "SUM", "MIN", "MAX", "AVG"})


@dataclass
class Condition:
    column: str
    operator: str  # a key of where.OPS
    operand: Any
    near: str


@dataclass
class BoolOp:
    operator: str  # and | or
    children: list[Node]


Node: TypeAlias = "Condition | BoolOp"


@dataclass
class SelectItem:
    column: str
    aggregate: str | None
    alias: str | None
    text: str


@dataclass
class OrderItem:
    column: str
    aggregate: str | None
    descending: bool


@dataclass
class Query:
    items: list[SelectItem]
    module: str
    where: Node | None = None
    group_by: list[str] = field(default_factory=list)
    order_by: list[OrderItem] = field(default_factory=list)
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    criteria: int = 0


@dataclass
class CoqlResult:
    rows: list[dict[str, Any]]
    more_records: bool
    limit: int


def credits_for_limit(limit: int) -> int:
    """API credits a COQL call costs by its LIMIT: 1-200 -> 1, 201-1000 -> 2, above -> 3."""
    if limit <= 200:
        return 1
    if limit <= 1000:
        return 2
    return 3
