"""Running a parsed query: check Zoho's limits, select, order, page, shape the rows."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping
from typing import Any

from sergas.sandbox.coql.aggregate import aggregate
from sergas.sandbox.coql.columns import Column, Resolver, unsupported
from sergas.sandbox.coql.ordering import sorted_records
from sergas.sandbox.coql.parser import Parser
from sergas.sandbox.coql.query import (
    MAX_AGGREGATES,
    MAX_COLUMNS,
    MAX_CRITERIA,
    MAX_GROUP_BY,
    MAX_LIMIT,
    MAX_ORDER_BY,
    MAX_REACHABLE,
    BoolOp,
    Condition,
    CoqlResult,
    Query,
)
from sergas.sandbox.coql.where import compile_where
from sergas.sandbox.errors import (
    DuplicateData,
    InvalidData,
    InvalidModule,
    InvalidQuery,
    LimitExceeded,
)
from sergas.sandbox.schema import Module
from sergas.sandbox.store import Record, RecordStore


def find_module(name: str, modules: Mapping[str, Module]) -> Module:
    found = modules.get(name)
    if found is None:
        lowered = name.lower()
        found = next((m for m in modules.values() if m.api_name.lower() == lowered), None)
    if found is None:
        raise InvalidModule("the given module is not supported in api")
    return found


def check_limits(query: Query) -> None:
    if len(query.items) > MAX_COLUMNS:
        raise LimitExceeded(details={"limit": MAX_COLUMNS, "clause": "select"})
    if query.criteria > MAX_CRITERIA:
        raise LimitExceeded(details={"limit": MAX_CRITERIA, "clause": "where"})
    if sum(1 for item in query.items if item.aggregate) > MAX_AGGREGATES:
        raise LimitExceeded(details={"limit": MAX_AGGREGATES, "clause": "aggregate"})
    if len(query.group_by) > MAX_GROUP_BY:
        raise LimitExceeded(details={"limit": MAX_GROUP_BY, "clause": "group by"})
    if len(query.order_by) > MAX_ORDER_BY:
        raise LimitExceeded(details={"limit": MAX_ORDER_BY, "clause": "order by"})
    if query.limit <= 0:
        raise InvalidData("limit should be greater than 0")
    if query.limit > MAX_LIMIT:
        raise LimitExceeded(details={"limit": MAX_LIMIT})
    if query.offset + query.limit > MAX_REACHABLE:
        raise InvalidQuery("offset given seems to be invalid", {"offset": query.offset})


def execute(query: str, store: RecordStore, modules: Mapping[str, Module]) -> CoqlResult:
    """Run a COQL SELECT; raises a ZohoError subclass for anything Zoho would reject."""
    parsed = Parser(query).parse()
    module = find_module(parsed.module, modules)
    check_limits(parsed)
    resolver = Resolver(module, modules, store)
    predicate = compile_where(parsed.where, resolver) if parsed.where is not None else None
    if parsed.group_by or any(item.aggregate for item in parsed.items):
        return aggregate(parsed, resolver, store, predicate)

    columns: list[tuple[str, Column]] = []
    seen: set[str] = set()
    for item in parsed.items:
        column = resolver.column(item.column)
        key = item.alias or column.key
        if column.key in seen or key in seen:
            if item.alias and item.alias in seen:
                raise InvalidQuery("duplicate alias", {"alias": item.alias})
            raise DuplicateData("duplicate select column", {"column_name": item.column})
        seen.update((column.key, key))
        columns.append((key, column))

    for entry in parsed.order_by:
        if entry.aggregate:
            raise unsupported(f"{entry.aggregate}({entry.column})")
    order = [(resolver.column(entry.column), entry.descending) for entry in parsed.order_by]
    while len(order) > 1 and order[-1][0].key == "id" and not order[-1][1]:
        order.pop()  # ties are broken by ascending id anyway
    if not order or (len(order) == 1 and order[0][0].key == "id"):
        descending = bool(order and order[0][1])
        records = store.ordered(module.api_name, "id", descending)
    else:
        records = sorted_records(store, module.api_name, order)

    start, stop = parsed.offset, parsed.offset + parsed.limit
    if predicate is None:
        page = records[start : stop + 1]
    else:
        page = []
        matched = 0
        candidates = _by_lookup(parsed, order, store, module)
        if candidates is None:
            candidates = records[_first_possible(parsed, order, records) :]
        for record in candidates:
            if predicate(record):
                if matched >= start:
                    page.append(record)
                    if matched >= stop:
                        break
                matched += 1
    more = len(page) > parsed.limit
    rows = [_row(record, columns) for record in page[: parsed.limit]]
    return CoqlResult(rows, more, parsed.limit)


def _and_children(parsed: Query) -> list[Any]:
    where = parsed.where
    return where.children if isinstance(where, BoolOp) and where.operator == "and" else [where]


def _by_lookup(
    parsed: Query, order: list[tuple[Column, bool]], store: RecordStore, module: Module
) -> list[Record] | None:
    """The only records that can match "<lookup> in (ids)" or "<lookup> = id" (an and-ed
    condition), ascending by id; None when the query has no such condition or another
    order. Only saves the scan; the WHERE still decides."""
    if order and (order[0][0].key != "id" or order[0][1]):
        return None
    for condition in _and_children(parsed):
        if not isinstance(condition, Condition) or condition.operator not in ("in", "="):
            continue
        field = module.by_name.get(condition.column)
        if field is None or field.data_type != "lookup":
            continue
        values = condition.operand if condition.operator == "in" else [condition.operand]
        if not isinstance(values, list | tuple):
            continue
        index = store.by_lookup(module.api_name, field.api_name)
        found = [r for v in dict.fromkeys(str(v) for v in values) for r in index.get(v, ())]
        found.sort(key=lambda r: int(r["id"]))
        return found
    return None


def _first_possible(parsed: Query, order: list[tuple[Column, bool]], records: list[Record]) -> int:
    """Where a page walked by id ("id > N and ..." ascending by id) can start: the records
    before it fail the WHERE anyway. Only saves the scan (a walk's pages would otherwise
    cost the whole module each); the rows are the same."""
    if (order and (order[0][0].key != "id" or order[0][1])) or not records:
        return 0
    for condition in _and_children(parsed):
        if (
            isinstance(condition, Condition)
            and condition.column.lower() == "id"
            and condition.operator in (">", ">=")
            and str(condition.operand).isdigit()
        ):
            bound = int(condition.operand)
            if condition.operator == ">":
                return bisect_right(records, bound, key=lambda r: int(r["id"]))
            return bisect_left(records, bound, key=lambda r: int(r["id"]))
    return 0


def _row(record: Record, columns: list[tuple[str, Column]]) -> dict[str, Any]:
    row = {key: column.present(column.get(record)) for key, column in columns}
    row["id"] = record["id"]
    return row
