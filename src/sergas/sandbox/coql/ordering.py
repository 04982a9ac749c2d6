"""ORDER BY: sort keys per column, and sorted copies of a module reused between pages."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from sergas.sandbox.coql.columns import Column, present_lookup
from sergas.sandbox.schema import LOOKUP_TYPES
from sergas.sandbox.store import Record, RecordStore
from sergas.sandbox.values import is_null, normaliser

SortKey = Callable[[Record], Any]


def sort_value(column: Column) -> Callable[[Record], Any]:
    """A record's value for ordering and grouping: lookups by name, text casefolded, empty
    values first."""
    get = column.get
    if column.field.data_type in LOOKUP_TYPES and column.present is present_lookup:

        def by_name(record: Record) -> Any:
            raw = get(record)
            if not isinstance(raw, dict) or is_null(raw):
                return (False, "", "")
            # The id keeps namesakes apart when grouping.
            return (True, str(raw.get("name") or "").casefold(), str(raw.get("id")))

        return by_name
    norm = normaliser(column.field)

    def by_value(record: Record) -> Any:
        value = norm(get(record))
        return (False, 0) if value is None else (True, value)

    return by_value


def _sort(records: list[Record], keys: list[tuple[SortKey, bool]]) -> list[Record]:
    """Stable multi-key sort; ties keep the input (ascending id) order."""
    ordered = list(records)
    for key, descending in reversed(keys):
        ordered.sort(key=key, reverse=descending)
    return ordered


# Sorted copies of a module's records, reused while the store's id-ordered list (which the
# store rebuilds on every write) is the same object.
_SORTED: weakref.WeakKeyDictionary[
    RecordStore, dict[tuple[str, tuple[tuple[str, bool], ...]], tuple[list[Record], list[Record]]]
] = weakref.WeakKeyDictionary()


def sorted_records(
    store: RecordStore, module: str, order: list[tuple[Column, bool]]
) -> list[Record]:
    base = store.ordered(module)
    keys = [(sort_value(column), descending) for column, descending in order]
    if any(column.joined for column, _ in order):
        return _sort(base, keys)
    cache = _SORTED.setdefault(store, {})
    cache_key = (module, tuple((column.key, descending) for column, descending in order))
    hit = cache.get(cache_key)
    if hit is not None and hit[0] is base:
        return hit[1]
    result = _sort(base, keys)
    if len(cache) >= 16:
        cache.clear()
    cache[cache_key] = (base, result)
    return result
