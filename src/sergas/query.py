"""Criteria and COQL built from values, escaped per Zoho's rules.

No caller string is ever pasted into a query: values go through `_search_value`,
`_coql_value` or stay JSON values for Bulk Read.

    from sergas.query import F, CoqlQuery
    at_risk = (F("Account_Status") == "At Risk") & (F("Annual_Revenue") > 1_000_000)
    at_risk.to_search()
    # ((Account_Status:equals:At Risk)and(Annual_Revenue:greater_than:1000000))
    at_risk.to_coql()     # (Account_Status = 'At Risk' and Annual_Revenue > 1000000)
    at_risk.to_bulk()     # {"group_operator": "and", "group": [...]}
    CoqlQuery("Accounts", ["Account_Name"], where=at_risk, limit=2000).render()
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

Value = str | int | float | bool | date | datetime
Op = Literal[
    "equals",
    "not_equal",
    "starts_with",
    "in",
    "greater_than",
    "greater_equal",
    "less_than",
    "less_equal",
    "between",
    "is_null",
    "is_not_null",
]
NO_VALUE_OPS = frozenset({"is_null", "is_not_null"})  # the operators that take no value

_API_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)?$")
_COQL_OPS = {
    "equals": "=",
    "not_equal": "!=",
    "greater_than": ">",
    "greater_equal": ">=",
    "less_than": "<",
    "less_equal": "<=",
}
_BULK_OPS = {
    "equals": "equal",
    "not_equal": "not_equal",
    "starts_with": "starts_with",
    "in": "in",
    "greater_than": "greater_than",
    "greater_equal": "greater_equal",
    "less_than": "less_than",
    "less_equal": "less_equal",
    "between": "between",
}


def api_name(name: str) -> str:
    """Field and module names are identifiers, never free text."""
    if not _API_NAME.match(name):
        raise ValueError(f"not a Zoho API name: {name!r}")
    return name


def _text(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.replace(microsecond=0).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _search_value(value: Value) -> str:
    """Search criteria: backslash first, then ( ) and , are backslash-escaped."""
    text = _text(value).replace("\\", "\\\\")
    return re.sub(r"([(),])", r"\\\1", text)


def _coql_value(value: Value) -> str:
    """COQL: numbers and booleans bare; everything else single-quoted, ' and \\ escaped."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = _text(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


class Criteria(ABC):
    """A condition or a group; combine with `&` and `|`."""

    def __and__(self, other: Criteria) -> Criteria:
        return Group("and", (self, other))

    def __or__(self, other: Criteria) -> Criteria:
        return Group("or", (self, other))

    @abstractmethod
    def to_search(self) -> str: ...

    @abstractmethod
    def to_coql(self) -> str: ...

    @abstractmethod
    def to_bulk(self) -> dict[str, Any]: ...

    @abstractmethod
    def count(self) -> int: ...


@dataclass(frozen=True)
class Condition(Criteria):
    field: str
    op: Op
    values: tuple[Value, ...] = ()

    def __post_init__(self) -> None:
        api_name(self.field)

    def to_search(self) -> str:
        if self.op in ("is_null", "is_not_null"):
            op = "equals" if self.op == "is_null" else "not_equal"
            return f"({self.field}:{op}:${{EMPTY}})"
        joined = ",".join(_search_value(v) for v in self.values)
        return f"({self.field}:{self.op}:{joined})"

    def to_coql(self) -> str:
        name, op, values = self.field, self.op, self.values
        if op == "is_null":
            return f"{name} is null"
        if op == "is_not_null":
            return f"{name} is not null"
        if op == "in":
            return f"{name} in ({', '.join(_coql_value(v) for v in values)})"
        if op == "between":
            return f"{name} between {_coql_value(values[0])} and {_coql_value(values[1])}"
        if op == "starts_with":
            prefix = _text(values[0]).replace("\\", "\\\\").replace("'", "\\'")
            return f"{name} like '{prefix}%'"
        return f"{name} {_COQL_OPS[op]} {_coql_value(values[0])}"

    def to_bulk(self) -> dict[str, Any]:
        if self.op in ("is_null", "is_not_null"):
            comparator = "equal" if self.op == "is_null" else "not_equal"
            return {
                "field": {"api_name": self.field},
                "comparator": comparator,
                "value": "${EMPTY}",
            }
        value: Any = [_bulk_value(v) for v in self.values]
        if self.op not in ("in", "between"):
            value = value[0]
        return {"field": {"api_name": self.field}, "comparator": _BULK_OPS[self.op], "value": value}

    def count(self) -> int:
        return 1


def _bulk_value(value: Value) -> Any:
    return value if isinstance(value, bool | int | float) else _text(value)


@dataclass(frozen=True)
class Group(Criteria):
    operator: Literal["and", "or"]
    parts: tuple[Criteria, ...]

    def to_search(self) -> str:
        return "(" + self.operator.join(p.to_search() for p in self.parts) + ")"

    def to_coql(self) -> str:
        # COQL takes at most two conditions per bracket level: (a and (b and c)).
        *rest, last = (p.to_coql() for p in self.parts)
        text = last
        for part in reversed(rest):
            text = f"({part} {self.operator} {text})"
        return text

    def to_bulk(self) -> dict[str, Any]:
        return {"group_operator": self.operator, "group": [p.to_bulk() for p in self.parts]}

    def count(self) -> int:
        return sum(p.count() for p in self.parts)


class F:
    """A field to build conditions on: `F("Industry") == "Retail"`, `F("Rating").in_(...)`."""

    def __init__(self, name: str) -> None:
        self.name = api_name(name)

    def __eq__(self, value: object) -> Condition:  # type: ignore[override]
        return Condition(self.name, "equals", (_value(value),))

    def __ne__(self, value: object) -> Condition:  # type: ignore[override]
        return Condition(self.name, "not_equal", (_value(value),))

    def __gt__(self, value: Value) -> Condition:
        return Condition(self.name, "greater_than", (value,))

    def __ge__(self, value: Value) -> Condition:
        return Condition(self.name, "greater_equal", (value,))

    def __lt__(self, value: Value) -> Condition:
        return Condition(self.name, "less_than", (value,))

    def __le__(self, value: Value) -> Condition:
        return Condition(self.name, "less_equal", (value,))

    __hash__ = None  # type: ignore[assignment]

    def starts_with(self, value: str) -> Condition:
        return Condition(self.name, "starts_with", (value,))

    def in_(self, values: Sequence[Value]) -> Condition:
        if not values:
            raise ValueError("in_() needs at least one value")
        return Condition(self.name, "in", tuple(values))

    def between(self, low: Value, high: Value) -> Condition:
        return Condition(self.name, "between", (low, high))

    def is_null(self) -> Condition:
        return Condition(self.name, "is_null")

    def is_not_null(self) -> Condition:
        return Condition(self.name, "is_not_null")


def _value(value: object) -> Value:
    if not isinstance(value, str | int | float | bool | date | datetime):
        raise TypeError(f"unsupported criteria value: {type(value).__name__}")
    return value


@dataclass(frozen=True)
class CoqlQuery:
    """A COQL SELECT built from parts; `render()` gives the query text."""

    module: str
    fields: tuple[str, ...] | list[str]
    where: Criteria | None = None
    order_by: tuple[tuple[str, Literal["asc", "desc"]], ...] = ()
    limit: int = 200
    offset: int = 0

    def render(self) -> str:
        columns = ", ".join(api_name(f) for f in self.fields) or "id"
        text = f"select {columns} from {api_name(self.module)}"
        if self.where is not None:
            text += f" where {self.where.to_coql()}"
        if self.order_by:
            text += " order by " + ", ".join(f"{api_name(f)} {d}" for f, d in self.order_by)
        text += f" limit {int(self.limit)}"
        if self.offset:
            text += f" offset {int(self.offset)}"
        return text
