"""The WHERE clause: which operators each field type takes, and one compiled predicate."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from sergas.sandbox.coql.columns import Resolver
from sergas.sandbox.coql.query import MAX_IN_VALUES, BoolOp, Node
from sergas.sandbox.errors import InvalidQuery, LimitExceeded, ZohoError
from sergas.sandbox.schema import DATE_TYPES, DATETIME_TYPES, LOOKUP_TYPES, NUMBER_TYPES, Field
from sergas.sandbox.store import Record
from sergas.sandbox.values import compile_condition

ORDERED_TYPES = NUMBER_TYPES | DATE_TYPES | DATETIME_TYPES
_TEXT_OPS = frozenset({"=", "!=", "like", "not like", "in", "not in", "is null", "is not null"})
_LOOKUP_OPS = frozenset({"=", "!=", "in", "not in", "is null", "is not null"})
_ORDERED_OPS = frozenset(
    {
        "=",
        "!=",
        ">",
        ">=",
        "<",
        "<=",
        "between",
        "not between",
        "in",
        "not in",
        "is null",
        "is not null",
    }
)
_BOOLEAN_OPS = frozenset({"="})
# COQL operator -> values.compile_condition operator.
OPS: Final = {
    "=": "equals",
    "!=": "not_equal",
    ">": "greater_than",
    ">=": "greater_equal",
    "<": "less_than",
    "<=": "less_equal",
    "like": "like",
    "not like": "not_like",
    "in": "in",
    "not in": "not_in",
    "between": "between",
    "not between": "not_between",
    "is null": "is_null",
    "is not null": "is_not_null",
}


def operators_for(field: Field) -> frozenset[str]:
    """The WHERE operators COQL allows on a field's type."""
    if field.data_type in LOOKUP_TYPES:
        return _LOOKUP_OPS
    if field.data_type in ORDERED_TYPES:
        return _ORDERED_OPS
    if field.data_type == "boolean":
        return _BOOLEAN_OPS
    return _TEXT_OPS


Predicate = Callable[[Record], bool]


def compile_where(node: Node, resolver: Resolver) -> Predicate:
    if isinstance(node, BoolOp):
        tests = [compile_where(child, resolver) for child in node.children]
        combined = tests[0]
        for test in tests[1:]:
            combined = _pair(node.operator, combined, test)
        return combined

    column = resolver.column(node.column)
    target = column.field
    if node.operator not in operators_for(target):
        raise InvalidQuery(
            "Invalid query formed",
            {
                "reason": "invalid operator found",
                "column_name": node.column,
                "operator": node.near,
            },
        )
    if node.operator in ("in", "not in") and len(node.operand) > MAX_IN_VALUES:
        raise LimitExceeded(
            details={"limit": MAX_IN_VALUES, "column_name": node.column, "operator": node.near}
        )
    try:
        check = compile_condition(target, OPS[node.operator], node.operand)
    except ZohoError as error:
        raise InvalidQuery(
            "Invalid query formed",
            {
                "reason": "invalid value given for the column",
                "column_name": node.column,
                "operator": node.near,
                "expected_data_type": target.data_type,
            },
        ) from error
    get = column.get
    return lambda record: check(get(record))


def _pair(operator: str, first: Predicate, second: Predicate) -> Predicate:
    if operator == "and":
        return lambda record: first(record) and second(record)
    return lambda record: first(record) or second(record)
