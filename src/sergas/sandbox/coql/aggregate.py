"""GROUP BY and the aggregates COUNT, SUM, MIN, MAX and AVG."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sergas.sandbox.coql.columns import Column, Resolver, unsupported
from sergas.sandbox.coql.ordering import sort_value
from sergas.sandbox.coql.query import CoqlResult, Query
from sergas.sandbox.coql.where import ORDERED_TYPES, Predicate
from sergas.sandbox.errors import DuplicateData, InvalidQuery
from sergas.sandbox.schema import NUMBER_TYPES
from sergas.sandbox.store import Record, RecordStore
from sergas.sandbox.values import normaliser


@dataclass
class _Agg:
    key: str
    func: str
    column: Column


def _sum(numbers: list[Any]) -> int | float:
    """Exact for integers; floats summed exactly, then rounded to the inputs' decimal places
    so that 0.1 + 0.2 gives 0.3 as the CRM shows it."""
    if all(type(n) is int for n in numbers):
        return int(sum(numbers))
    places = 0
    for number in numbers:
        if type(number) is float:
            text = repr(number)
            if "e" in text or "n" in text:
                places = 15
                break
            places = max(places, len(text) - text.index(".") - 1)
    return round(math.fsum(numbers), places)


def _aggregate_value(agg: _Agg, records: list[Record]) -> Any:
    if agg.func == "COUNT" and agg.column.key == "id":
        return len(records)
    norm = normaliser(agg.column.field)
    get = agg.column.get
    pairs = [(value, raw) for raw in map(get, records) if (value := norm(raw)) is not None]
    if agg.func == "COUNT":
        return len(pairs)
    if agg.func in ("SUM", "AVG"):
        numbers = [value for value, _ in pairs]
        total = _sum(numbers)
        if agg.func == "AVG":
            return total / len(numbers) if numbers else None
        return total
    if not pairs:
        return None
    pick = min if agg.func == "MIN" else max
    return agg.column.present(pick(pairs, key=lambda pair: pair[0])[1])


def aggregate(
    parsed: Query, resolver: Resolver, store: RecordStore, predicate: Predicate | None
) -> CoqlResult:
    groups = [resolver.column(name) for name in parsed.group_by]
    group_keys = {column.key for column in groups}
    outputs: list[tuple[str, Column | _Agg]] = []
    seen: set[str] = set()
    for item in parsed.items:
        column = resolver.column(item.column)
        if item.aggregate:
            data_type = column.field.data_type
            allowed = (
                item.aggregate == "COUNT"
                or (item.aggregate in ("SUM", "AVG") and data_type in NUMBER_TYPES)
                or (item.aggregate in ("MIN", "MAX") and data_type in ORDERED_TYPES)
            )
            if not allowed:
                raise InvalidQuery(
                    details={
                        "column_name": item.column,
                        "aggregate": item.aggregate,
                        "reason": "aggregate function not supported for the column",
                    }
                )
            text = f"{item.aggregate}({column.key})"
            if text in seen:
                raise DuplicateData(
                    "duplicate aggregate function",
                    {"column_name": item.column, "aggregate": item.aggregate},
                )
            seen.add(text)
            outputs.append((item.alias or text, _Agg(text, item.aggregate, column)))
        else:
            if column.key not in group_keys:
                raise InvalidQuery(
                    details={
                        "column_name": item.column,
                        "reason": "column should be present in the group by clause",
                    }
                )
            if column.key in seen:
                raise DuplicateData("duplicate select column", {"column_name": item.column})
            seen.add(column.key)
            outputs.append((item.alias or column.key, column))

    records = store.ordered(resolver.module.api_name)
    if predicate is not None:
        records = [record for record in records if predicate(record)]

    buckets: dict[tuple[Any, ...], list[Record]] = {}
    if groups:
        keyers = [sort_value(column) for column in groups]
        for record in records:
            buckets.setdefault(tuple(k(record) for k in keyers), []).append(record)
    else:
        buckets[()] = records

    rows: list[_GroupRow] = []
    for group_key, members in buckets.items():
        row: dict[str, Any] = {}
        for key, output in outputs:
            if isinstance(output, _Agg):
                row[key] = _aggregate_value(output, members)
            else:
                row[key] = output.present(output.get(members[0]))
        rows.append((group_key, row))
    rows.sort(key=lambda pair: pair[0])

    for entry in reversed(parsed.order_by):
        name = resolver.column(entry.column).key
        if entry.aggregate:
            text = f"{entry.aggregate}({name})"
            found = next((k for k, o in outputs if isinstance(o, _Agg) and o.key == text), None)
            if found is None:
                raise unsupported(text)
            rows.sort(key=_by_output(found), reverse=entry.descending)
        elif name in group_keys:
            index = [column.key for column in groups].index(name)
            rows.sort(key=_by_group(index), reverse=entry.descending)
        else:
            raise unsupported(entry.column)

    start, stop = parsed.offset, parsed.offset + parsed.limit
    page = [row for _, row in rows[start:stop]]
    return CoqlResult(page, len(rows) > stop, parsed.limit)


_GroupRow = tuple[tuple[Any, ...], dict[str, Any]]


def _by_output(key: str) -> Callable[[_GroupRow], Any]:
    return lambda pair: _null_first(pair[1][key])


def _by_group(index: int) -> Callable[[_GroupRow], Any]:
    return lambda pair: pair[0][index]


def _null_first(value: Any) -> tuple[bool, Any]:
    if value is None:
        return (False, 0)
    if isinstance(value, dict):
        return (True, str(value.get("name") or "").casefold())
    if isinstance(value, str):
        return (True, value.casefold())
    return (True, value)
