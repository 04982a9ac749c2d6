"""COQL, the SELECT subset Zoho CRM accepts at POST /crm/v8/coql.

    select <columns> from <Module> [where <expr>] [group by <cols>]
        [order by <col> [asc|desc], ...] [limit N [offset M] | limit M, N]

Columns are field api names, `id`, one-level lookup joins (`Account_Name.Account_Name`,
`Parent_Account.id`, `Owner.id`) and the aggregates COUNT, SUM, MIN, MAX and AVG (upper case,
as Zoho requires). Keywords are case-insensitive. The WHERE clause takes
`= != <> > >= < <=`, `[not] like`, `[not] in (...)`, `[not] between .. and ..` and
`is [not] null`, combined with `and` / `or` and brackets; `and` binds tighter than `or`
(Zoho insists on brackets once there are more than two conditions; the sandbox does not).

The query is parsed and checked completely before any record is read; the WHERE clause is
compiled into one predicate. Without WHERE and ordered by id, a page is a slice of the
store's id-ordered list.
"""

from __future__ import annotations

import math
import re
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, TypeAlias

from sergas.sandbox.errors import (
    DuplicateData,
    InvalidData,
    InvalidModule,
    InvalidQuery,
    LimitExceeded,
    SyntaxErrorCoql,
    ZohoError,
)
from sergas.sandbox.schema import (
    DATE_TYPES,
    DATETIME_TYPES,
    LOOKUP_TYPES,
    NUMBER_TYPES,
    Field,
    Module,
)
from sergas.sandbox.store import Record, RecordStore
from sergas.sandbox.values import compile_condition, is_null, normaliser

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

_ORDERED_TYPES = NUMBER_TYPES | DATE_TYPES | DATETIME_TYPES
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
_OPS: Final = {
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
    if field.data_type in _ORDERED_TYPES:
        return _ORDERED_OPS
    if field.data_type == "boolean":
        return _BOOLEAN_OPS
    return _TEXT_OPS


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


# -- tokens -----------------------------------------------------------------------------------

_TOKEN_RE = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>-?\d+(?:\.\d+)?(?![A-Za-z_$]))
  | (?P<ident>[A-Za-z_$][A-Za-z0-9_$]*(?:\.[A-Za-z_$][A-Za-z0-9_$]*)*)
  | (?P<op>>=|<=|!=|<>|=|>|<)
  | (?P<punct>[(),;#])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Token:
    kind: str  # ident | number | string | op | punct | eof
    text: str
    value: Any
    pos: int

    def word(self) -> str:
        return self.text.lower() if self.kind == "ident" else ""


def _syntax(near: str) -> ZohoError:
    return SyntaxErrorCoql(details={"near": near})


def _tokenize(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    length = len(query)
    while pos < length:
        char = query[pos]
        if char == "'":
            chars: list[str] = []
            end = pos + 1
            while True:
                if end >= length:
                    raise _syntax(query[pos : pos + 30])
                current = query[end]
                if current == "\\" and end + 1 < length and query[end + 1] in "'\\":
                    chars.append(query[end + 1])
                    end += 2
                elif current == "'":
                    end += 1
                    break
                else:
                    chars.append(current)
                    end += 1
            tokens.append(_Token("string", query[pos:end], "".join(chars), pos))
            pos = end
            continue
        match = _TOKEN_RE.match(query, pos)
        if match is None:
            raise _syntax(query[pos : pos + 30].split()[0] if query[pos:].strip() else char)
        kind = match.lastgroup or ""
        text = match.group()
        if kind != "space":
            tokens.append(_Token(kind, text, text, pos))
        pos = match.end()
    tokens.append(_Token("eof", "", None, length))
    return tokens


# -- the parsed query ------------------------------------------------------------------------


@dataclass
class _Cond:
    column: str
    operator: str  # a key of _OPS
    operand: Any
    near: str


@dataclass
class _Bool:
    operator: str  # and | or
    children: list[_Node]


_Node: TypeAlias = "_Cond | _Bool"


@dataclass
class _SelectItem:
    column: str
    aggregate: str | None
    alias: str | None
    text: str


@dataclass
class _OrderItem:
    column: str
    aggregate: str | None
    descending: bool


@dataclass
class _Query:
    items: list[_SelectItem]
    module: str
    where: _Node | None = None
    group_by: list[str] = field(default_factory=list)
    order_by: list[_OrderItem] = field(default_factory=list)
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    criteria: int = 0


class _Parser:
    def __init__(self, query: str) -> None:
        self.tokens = _tokenize(query)
        self.index = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind != "eof":
            self.index += 1
        return token

    def at(self, *words: str) -> bool:
        """Whether the next tokens are these keywords."""
        for offset, word in enumerate(words):
            position = self.index + offset
            if position >= len(self.tokens) or self.tokens[position].word() != word:
                return False
        return True

    def accept(self, *words: str) -> bool:
        if self.at(*words):
            self.index += len(words)
            return True
        return False

    def punct(self, char: str) -> bool:
        if self.token.kind == "punct" and self.token.text == char:
            self.index += 1
            return True
        return False

    def expect_punct(self, char: str) -> None:
        if not self.punct(char):
            raise _syntax(self.token.text or char)

    def fail(self) -> ZohoError:
        return _syntax(self.token.text or (self.tokens[self.index - 1].text if self.index else ""))

    # select ... from ...

    def parse(self) -> _Query:
        if not self.accept("select"):
            if self.token.kind == "ident" and self.token.word() in (
                "insert",
                "update",
                "delete",
                "create",
                "drop",
                "alter",
            ):
                raise SyntaxErrorCoql("given coql query not supported")
            raise self.fail()
        items = self.select_items()
        if not self.accept("from"):
            if self.token.kind == "eof":
                raise SyntaxErrorCoql("missing clause", {"clause": "from"})
            raise self.fail()
        if self.token.kind != "ident" or "." in self.token.text:
            raise self.fail()
        module = self.advance().text
        if self.punct("#"):
            # Custom views (`from Module#cvid`) are not part of the sandbox.
            raise InvalidQuery("invalid cvid given", {"cvid": self.token.text})
        query = _Query(items, module)
        if self.accept("where"):
            if self.token.kind == "eof":
                raise SyntaxErrorCoql("missing clause", {"clause": "where"})
            query.where = self.expression(query)
        if self.accept("group", "by"):
            query.group_by = self.column_list()
        if self.accept("order", "by"):
            query.order_by = self.order_items()
        if self.accept("limit"):
            self.limit_clause(query)
        elif self.accept("offset"):
            query.offset = self.offset_value(self.limit_value("offset"))
        self.punct(";")
        if self.token.kind != "eof":
            raise self.fail()
        return query

    def column_name(self) -> str:
        if self.token.kind != "ident" or self.token.word() in _RESERVED:
            raise self.fail()
        return self.advance().text

    def select_items(self) -> list[_SelectItem]:
        items: list[_SelectItem] = []
        while True:
            start = self.token
            if start.kind == "string":
                # Zoho's documented alias form quotes the column: 'Last_Name' as 'name'.
                column, aggregate = self.advance().value, None
            else:
                column = self.column_name()
                aggregate = None
                if self.punct("("):
                    aggregate = column
                    column = self.column_name()
                    self.expect_punct(")")
                    if aggregate not in AGGREGATES:
                        raise InvalidData(
                            details={
                                "reason": "unsupported aggregate function",
                                "column": f"{aggregate}({column})",
                            }
                        )
            text = f"{aggregate}({column})" if aggregate else column
            alias = None
            if self.accept("as"):
                if self.token.kind not in ("ident", "string"):
                    raise self.fail()
                alias = str(self.advance().value)
            items.append(_SelectItem(column, aggregate, alias, text))
            if not self.punct(","):
                return items

    def column_list(self) -> list[str]:
        columns = [self.column_name()]
        while self.punct(","):
            columns.append(self.column_name())
        return columns

    def order_items(self) -> list[_OrderItem]:
        items: list[_OrderItem] = []
        while True:
            column = self.column_name()
            aggregate = None
            if self.punct("("):
                aggregate = column
                column = self.column_name()
                self.expect_punct(")")
            descending = False
            if self.accept("desc"):
                descending = True
            else:
                self.accept("asc")
            items.append(_OrderItem(column, aggregate, descending))
            if not self.punct(","):
                return items

    def limit_clause(self, query: _Query) -> None:
        first = self.limit_value("limit")
        if self.punct(","):
            query.offset = self.offset_value(first)
            query.limit = self.limit_value("limit")
        else:
            query.limit = first
            if self.accept("offset"):
                query.offset = self.offset_value(self.limit_value("offset"))

    def limit_value(self, what: str) -> int:
        token = self.advance()
        if token.kind == "eof":
            raise SyntaxErrorCoql("missing clause", {"clause": what})
        if token.kind != "number" or "." in token.text:
            details = {what: token.value if token.kind == "string" else token.text}
            raise InvalidQuery(f"{what} given seems to be invalid", details)
        return int(token.text)

    @staticmethod
    def offset_value(value: int) -> int:
        if value < 0:
            raise InvalidQuery("offset given seems to be invalid", {"offset": value})
        return value

    # where

    def expression(self, query: _Query) -> _Node:
        terms = [self.conjunction(query)]
        while self.accept("or"):
            terms.append(self.conjunction(query))
        return terms[0] if len(terms) == 1 else _Bool("or", terms)

    def conjunction(self, query: _Query) -> _Node:
        terms = [self.primary(query)]
        while self.accept("and"):
            terms.append(self.primary(query))
        return terms[0] if len(terms) == 1 else _Bool("and", terms)

    def primary(self, query: _Query) -> _Node:
        if self.punct("("):
            node = self.expression(query)
            self.expect_punct(")")
            return node
        if self.at("not"):
            raise SyntaxErrorCoql("operator not supported", {"operator": "not"})
        condition = self.condition()
        query.criteria += 1
        return condition

    def condition(self) -> _Cond:
        column = self.column_name()
        token = self.token
        if token.kind == "op":
            self.advance()
            operator = "!=" if token.text == "<>" else token.text
            return _Cond(column, operator, self.value(), token.text)
        if self.accept("is", "not", "null"):
            return _Cond(column, "is not null", None, "is not null")
        if self.accept("is", "null"):
            return _Cond(column, "is null", None, "is null")
        negated = self.accept("not")
        word = self.token.word()
        prefix = "not " if negated else ""
        if word == "like":
            self.advance()
            pattern = self.token
            if pattern.kind != "string":
                raise self.fail()
            self.advance()
            return _Cond(column, prefix + "like", pattern.value, prefix + "like")
        if word == "in":
            self.advance()
            self.expect_punct("(")
            values = [self.value()]
            while self.punct(","):
                values.append(self.value())
            self.expect_punct(")")
            return _Cond(column, prefix + "in", values, prefix + "in")
        if word == "between":
            self.advance()
            low = self.value()
            if not self.accept("and"):
                raise self.fail()
            return _Cond(column, prefix + "between", (low, self.value()), prefix + "between")
        raise self.fail()

    def value(self) -> Any:
        token = self.token
        if token.kind in ("string", "number"):
            self.advance()
            return token.value
        if token.word() in ("true", "false"):
            self.advance()
            return token.word()
        raise self.fail()


_RESERVED = frozenset(
    {
        "select",
        "from",
        "where",
        "and",
        "or",
        "not",
        "like",
        "in",
        "between",
        "is",
        "null",
        "order",
        "group",
        "by",
        "asc",
        "desc",
        "limit",
        "offset",
        "as",
    }
)


# -- resolving columns ------------------------------------------------------------------------

Getter = Callable[[Record], Any]


@dataclass
class _Column:
    key: str  # the key in result rows
    field: Field  # the field whose type governs comparison
    get: Getter  # raw value from a base record
    present: Callable[[Any], Any]  # raw value -> JSON value in a row
    joined: bool = False


def _present_lookup(raw: Any) -> Any:
    if not isinstance(raw, dict) or is_null(raw):
        return None
    return {"name": raw.get("name"), "id": raw.get("id")}


def _present_id(raw: Any) -> Any:
    if not isinstance(raw, dict) or is_null(raw):
        return None
    return raw.get("id")


def _same(raw: Any) -> Any:
    return raw


def _presenter(target: Field) -> Callable[[Any], Any]:
    return _present_lookup if target.data_type in LOOKUP_TYPES else _same


def _field(module: Module, name: str) -> Field | None:
    found = module.field(name)
    if found is None:
        lowered = name.lower()
        found = next((f for f in module.fields if f.api_name.lower() == lowered), None)
    return found


def _unsupported(column: str) -> ZohoError:
    return InvalidQuery("unsupported column", {"column_name": column})


class _Resolver:
    def __init__(self, module: Module, modules: Mapping[str, Module], store: RecordStore) -> None:
        self.module = module
        self.modules = modules
        self.store = store
        self.cache: dict[str, _Column] = {}

    def column(self, name: str) -> _Column:
        cached = self.cache.get(name)
        if cached is None:
            cached = self.cache[name] = self._resolve(name)
        return cached

    def _resolve(self, name: str) -> _Column:
        parts = name.split(".")
        base = _field(self.module, parts[0])
        if base is None or len(parts) > 2:
            raise _unsupported(name)
        api_name = base.api_name
        if len(parts) == 1:

            def get(record: Record) -> Any:
                return record.get(api_name)

            return _Column(api_name, base, get, _presenter(base))

        sub = parts[1]
        if base.data_type not in LOOKUP_TYPES:
            raise _unsupported(name)
        if sub.lower() == "id":
            # The lookup's own id: compared and shown without reading the other module.
            return _Column(f"{api_name}.id", base, lambda r: r.get(api_name), _present_id)
        target_module = self.modules.get(base.lookup_module or "")
        if target_module is None:
            raise _unsupported(name)
        target = _field(target_module, sub)
        if target is None:
            raise _unsupported(name)
        module_name, target_name = target_module.api_name, target.api_name
        lookup = self.store.get

        def joined(record: Record) -> Any:
            link = record.get(api_name)
            if not isinstance(link, dict):
                return None
            other = lookup(module_name, str(link.get("id")))
            return None if other is None else other.get(target_name)

        return _Column(f"{api_name}.{target_name}", target, joined, _presenter(target), True)


# -- compiling the WHERE clause ---------------------------------------------------------------

Predicate = Callable[[Record], bool]


def _compile(node: _Node, resolver: _Resolver) -> Predicate:
    if isinstance(node, _Bool):
        tests = [_compile(child, resolver) for child in node.children]
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
        check = compile_condition(target, _OPS[node.operator], node.operand)
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


# -- ordering ---------------------------------------------------------------------------------

SortKey = Callable[[Record], Any]


def _sort_value(column: _Column) -> Callable[[Record], Any]:
    """A record's value for ordering and grouping: lookups by name, text casefolded, empty
    values first."""
    get = column.get
    if column.field.data_type in LOOKUP_TYPES and column.present is _present_lookup:

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


def _sorted_records(
    store: RecordStore, module: str, order: list[tuple[_Column, bool]]
) -> list[Record]:
    base = store.ordered(module)
    keys = [(_sort_value(column), descending) for column, descending in order]
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


# -- execution --------------------------------------------------------------------------------


def _module(name: str, modules: Mapping[str, Module]) -> Module:
    found = modules.get(name)
    if found is None:
        lowered = name.lower()
        found = next((m for m in modules.values() if m.api_name.lower() == lowered), None)
    if found is None:
        raise InvalidModule("the given module is not supported in api")
    return found


def _check_limits(query: _Query) -> None:
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
    parsed = _Parser(query).parse()
    module = _module(parsed.module, modules)
    _check_limits(parsed)
    resolver = _Resolver(module, modules, store)
    predicate = _compile(parsed.where, resolver) if parsed.where is not None else None
    if parsed.group_by or any(item.aggregate for item in parsed.items):
        return _aggregate(parsed, resolver, store, predicate)

    columns: list[tuple[str, _Column]] = []
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
            raise _unsupported(f"{entry.aggregate}({entry.column})")
    order = [(resolver.column(entry.column), entry.descending) for entry in parsed.order_by]
    while len(order) > 1 and order[-1][0].key == "id" and not order[-1][1]:
        order.pop()  # ties are broken by ascending id anyway
    if not order or (len(order) == 1 and order[0][0].key == "id"):
        descending = bool(order and order[0][1])
        records = store.ordered(module.api_name, "id", descending)
    else:
        records = _sorted_records(store, module.api_name, order)

    start, stop = parsed.offset, parsed.offset + parsed.limit
    if predicate is None:
        page = records[start : stop + 1]
    else:
        page = []
        matched = 0
        for record in records:
            if predicate(record):
                if matched >= start:
                    page.append(record)
                    if matched >= stop:
                        break
                matched += 1
    more = len(page) > parsed.limit
    rows = [_row(record, columns) for record in page[: parsed.limit]]
    return CoqlResult(rows, more, parsed.limit)


def _row(record: Record, columns: list[tuple[str, _Column]]) -> dict[str, Any]:
    row = {key: column.present(column.get(record)) for key, column in columns}
    row["id"] = record["id"]
    return row


# -- aggregates -------------------------------------------------------------------------------


@dataclass
class _Agg:
    key: str
    func: str
    column: _Column


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


def _aggregate(
    parsed: _Query, resolver: _Resolver, store: RecordStore, predicate: Predicate | None
) -> CoqlResult:
    groups = [resolver.column(name) for name in parsed.group_by]
    group_keys = {column.key for column in groups}
    outputs: list[tuple[str, _Column | _Agg]] = []
    seen: set[str] = set()
    for item in parsed.items:
        column = resolver.column(item.column)
        if item.aggregate:
            data_type = column.field.data_type
            allowed = (
                item.aggregate == "COUNT"
                or (item.aggregate in ("SUM", "AVG") and data_type in NUMBER_TYPES)
                or (item.aggregate in ("MIN", "MAX") and data_type in _ORDERED_TYPES)
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
        keyers = [_sort_value(column) for column in groups]
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
                raise _unsupported(text)
            rows.sort(key=_by_output(found), reverse=entry.descending)
        elif name in group_keys:
            index = [column.key for column in groups].index(name)
            rows.sort(key=_by_group(index), reverse=entry.descending)
        else:
            raise _unsupported(entry.column)

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
