"""Zoho search criteria, `((Field:operator:value)and(Field:operator:value))`, parsed and compiled.

`parse_criteria` turns the `criteria` parameter of GET /{module}/search (already URL-decoded)
into a `Criterion` whose `matches(record)` runs a predicate compiled once per query. The
email, phone and word searches are the other three forms of the same endpoint.

Zoho's rules, as the sandbox applies them:
- `equals` on text, textarea, email, phone and website fields matches as *contains*,
  case-insensitively; picklists and autonumbers compare whole values.
- `in` takes up to 100 comma-separated values; `between` takes exactly two.
- Inside a value `\\(`, `\\)`, `\\,` and `\\\\` stand for the character itself; an unescaped comma
  separates values; an unescaped parenthesis is malformed.
- `${EMPTY}` as a value asks for an empty field (`equals`) or a filled one (`not_equal`).
- Lookups compare by id when the value is numeric, otherwise by the lookup's name;
  `Lookup.id` and `Lookup.name` pick one explicitly.
- At most 15 conditions (Zoho's error message says 15; its docs say 10).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from sergas.sandbox.errors import CriteriaLimitExceeded, InvalidData, InvalidQuery
from sergas.sandbox.schema import LOOKUP_TYPES, NUMBER_TYPES, Field, Module
from sergas.sandbox.values import compile_condition, is_null

Record = dict[str, Any]
RecordPredicate = Callable[[Record], bool]

MAX_CONDITIONS: Final = 15
MAX_IN_VALUES: Final = 100
EMPTY: Final = "${EMPTY}"

_ORDERED = frozenset(
    {
        "equals",
        "not_equal",
        "greater_than",
        "greater_equal",
        "less_than",
        "less_equal",
        "between",
        "in",
    }
)
_TEXT = frozenset({"equals", "not_equal", "starts_with", "in"})
_WHOLE = frozenset({"equals", "not_equal", "in"})

# Operators the search API allows per data type.
OPERATORS_BY_TYPE: Final[dict[str, frozenset[str]]] = {
    "text": _TEXT,
    "email": _TEXT,
    "phone": _TEXT,
    "website": _TEXT,
    "textarea": frozenset({"equals", "not_equal", "starts_with"}),
    "picklist": _WHOLE,
    "autonumber": _WHOLE,
    "multiselectpicklist": frozenset({"equals", "not_equal", "in", "starts_with"}),
    "boolean": frozenset({"equals", "not_equal"}),
    "date": _ORDERED,
    "datetime": _ORDERED,
    **dict.fromkeys(NUMBER_TYPES, _ORDERED),
    **dict.fromkeys(LOOKUP_TYPES, _WHOLE),
}
SEARCH_OPERATORS: Final = frozenset().union(*OPERATORS_BY_TYPE.values())

# Types where `equals` means "contains".
CONTAINS_TYPES: Final = frozenset({"text", "textarea", "email", "phone", "website"})
# Types the `word` search looks into.
WORD_TYPES: Final = frozenset(
    {"text", "textarea", "email", "phone", "website", "autonumber", "picklist"}
)

_FIELD_RE = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*(?:\.[A-Za-z_$][A-Za-z0-9_$]*)?")
_OPERATOR_RE = re.compile(r"[A-Za-z_]+")
_PHONE_RE = re.compile(r"[+]?[0-9\s\-().]+")


# -- the parsed tree --------------------------------------------------------------------------


class Criterion(ABC):
    """A parsed criteria expression; `conditions` counts its leaf conditions."""

    conditions: int

    @abstractmethod
    def matches(self, record: Record) -> bool: ...

    def predicate(self) -> RecordPredicate:
        """The compiled test, for callers that filter many records."""
        return self.matches


@dataclass(eq=False)
class Condition(Criterion):
    api_name: str
    operator: str
    values: tuple[str, ...]
    test: RecordPredicate = field(repr=False)
    conditions: int = 1

    def matches(self, record: Record) -> bool:
        return self.test(record)

    def predicate(self) -> RecordPredicate:
        return self.test


@dataclass(eq=False)
class Group(Criterion):
    operator: str  # "and" | "or"
    children: tuple[Criterion, ...]
    conditions: int = 0
    test: RecordPredicate = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.conditions = sum(child.conditions for child in self.children)
        tests = tuple(child.predicate() for child in self.children)
        if self.operator == "and":
            self.test = lambda record: all(test(record) for test in tests)
        else:
            self.test = lambda record: any(test(record) for test in tests)

    def matches(self, record: Record) -> bool:
        return self.test(record)

    def predicate(self) -> RecordPredicate:
        return self.test


# -- parsing --------------------------------------------------------------------------------


def _malformed(reason: str, api_name: str = "criteria") -> Exception:
    return InvalidQuery(details={"api_name": api_name, "reason": reason})


class _Parser:
    def __init__(self, text: str, module: Module) -> None:
        self.text = text
        self.pos = 0
        self.module = module
        self.count = 0

    def parse(self) -> Criterion:
        if not self.text.strip():
            raise _malformed("criteria is empty")
        node = self.expression()
        self.skip_space()
        if self.pos != len(self.text):
            raise _malformed(f"unexpected text at position {self.pos}")
        return node

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def keyword(self, word: str) -> bool:
        self.skip_space()
        end = self.pos + len(word)
        if self.text[self.pos : end].lower() != word:
            return False
        if end < len(self.text) and not (self.text[end] == "(" or self.text[end].isspace()):
            return False
        self.pos = end
        return True

    def expect(self, char: str) -> None:
        self.skip_space()
        if self.pos >= len(self.text) or self.text[self.pos] != char:
            raise _malformed(f"expected '{char}' at position {self.pos}")
        self.pos += 1

    def expression(self) -> Criterion:
        terms = [self.conjunction()]
        while self.keyword("or"):
            terms.append(self.conjunction())
        return terms[0] if len(terms) == 1 else Group("or", tuple(terms))

    def conjunction(self) -> Criterion:
        terms = [self.primary()]
        while self.keyword("and"):
            terms.append(self.primary())
        return terms[0] if len(terms) == 1 else Group("and", tuple(terms))

    def primary(self) -> Criterion:
        self.expect("(")
        self.skip_space()
        if self.pos < len(self.text) and self.text[self.pos] == "(":
            node = self.expression()
            self.expect(")")
            return node
        return self.condition()

    def condition(self) -> Criterion:
        name = self.token(_FIELD_RE, "field")
        self.expect(":")
        operator = self.token(_OPERATOR_RE, "operator")
        self.expect(":")
        values = self.value()
        self.count += 1
        if self.count > MAX_CONDITIONS:
            raise CriteriaLimitExceeded()
        return build_condition(self.module, name, operator.lower(), values)

    def token(self, pattern: re.Pattern[str], what: str) -> str:
        self.skip_space()
        match = pattern.match(self.text, self.pos)
        if match is None:
            raise _malformed(f"expected a {what} at position {self.pos}")
        self.pos = match.end()
        return match.group()

    def value(self) -> tuple[str, ...]:
        """Read up to the closing parenthesis; split on unescaped commas and unescape."""
        parts: list[str] = []
        current: list[str] = []
        text = self.text
        while True:
            if self.pos >= len(text):
                raise _malformed("missing ')' after the value")
            char = text[self.pos]
            if char == "\\" and self.pos + 1 < len(text) and text[self.pos + 1] in "(),\\":
                current.append(text[self.pos + 1])
                self.pos += 2
                continue
            if char == ")":
                self.pos += 1
                break
            if char == "(":
                raise _malformed(f"unescaped '(' in the value at position {self.pos}")
            if char == ",":
                parts.append("".join(current))
                current = []
            else:
                current.append(char)
            self.pos += 1
        parts.append("".join(current))
        return tuple(parts)


def parse_criteria(text: str, module: Module) -> Criterion:
    """Parse a search `criteria` value; raises INVALID_QUERY or CRITERIA_LIMIT_EXCEEDED."""
    return _Parser(text, module).parse()


# -- conditions -----------------------------------------------------------------------------


def _resolve(module: Module, name: str) -> tuple[Field, str | None]:
    """The field and, for `Lookup.id` / `Lookup.name`, the part of the lookup to compare."""
    base, _, part = name.partition(".")
    found = module.field(base)
    if found is None or (
        part and (found.data_type not in LOOKUP_TYPES or part not in ("id", "name"))
    ):
        raise InvalidQuery(details={"api_name": name, "reason": "the field is not available"})
    return found, part or None


def _bad_operator(name: str, operator: str) -> Exception:
    return InvalidQuery(
        details={"api_name": name, "operator": operator, "reason": "invalid operator found"}
    )


def build_condition(module: Module, name: str, operator: str, values: tuple[str, ...]) -> Condition:
    """One `(name:operator:values)` condition, compiled."""
    target, part = _resolve(module, name)
    allowed = OPERATORS_BY_TYPE.get(target.data_type, _WHOLE)
    if operator not in allowed:
        raise _bad_operator(name, operator)
    if operator in ("in", "between"):
        values = tuple(value.strip() for value in values)
    else:
        values = (",".join(values).strip(),)
    if operator == "in" and len(values) > MAX_IN_VALUES:
        raise InvalidQuery(
            'Only 100 values are allowed in "IN" criteria', {"param_name": target.api_name}
        )
    if operator == "between" and len(values) != 2:
        raise InvalidQuery(
            details={"operator": operator, "reason": "between needs two values: from,to"}
        )
    if any(value == "" for value in values):
        raise InvalidQuery(details={"api_name": name, "reason": "value is missing"})

    api_name = target.api_name
    if values == (EMPTY,) and operator in ("equals", "not_equal"):
        check = compile_condition(target, "is_null" if operator == "equals" else "is_not_null")
    elif target.data_type in LOOKUP_TYPES:
        check = _lookup_check(target, part, operator, values)
    else:
        op = operator
        if op == "equals" and target.data_type in CONTAINS_TYPES:
            op = "contains"
        operand: Any = values if operator in ("in", "between") else values[0]
        check = compile_condition(target, op, operand)

    def test(record: Record) -> bool:
        return check(record.get(api_name))

    return Condition(name, operator, values, test)


def _lookup_check(
    target: Field, part: str | None, operator: str, values: tuple[str, ...]
) -> Callable[[Any], bool]:
    by_id = part == "id" or (part is None and all(v.isdigit() for v in values))
    if by_id:
        return compile_condition(target, operator, values if operator == "in" else values[0])
    names = frozenset(v.casefold() for v in values)

    def named(raw: Any) -> bool:
        if is_null(raw) or not isinstance(raw, dict):
            return False
        return str(raw.get("name") or "").casefold() in names

    if operator == "not_equal":
        return lambda raw: not named(raw)
    return named


# -- email, phone and word searches ---------------------------------------------------------


def _fields_of(module: Module, types: frozenset[str]) -> tuple[str, ...]:
    return tuple(f.api_name for f in module.fields if f.data_type in types)


def email_predicate(module: Module, value: str) -> RecordPredicate:
    """Case-insensitive partial match in any email field."""
    needle = value.strip().casefold()
    if not needle:
        raise InvalidData(details={"param_name": "email"})
    names = _fields_of(module, frozenset({"email"}))

    def test(record: Record) -> bool:
        for name in names:
            found = record.get(name)
            if isinstance(found, str) and needle in found.casefold():
                return True
        return False

    return test


def _digits(text: str) -> str:
    return "".join(char for char in text if char.isdigit())


def phone_predicate(module: Module, value: str) -> RecordPredicate:
    """Digits-only partial match in any phone field; INVALID_DATA for a malformed number."""
    stripped = value.strip()
    needle = _digits(stripped)
    if len(stripped) < 3 or not _PHONE_RE.fullmatch(stripped) or not needle:
        raise InvalidData(details={"param_name": "phone"})
    names = _fields_of(module, frozenset({"phone"}))

    def test(record: Record) -> bool:
        for name in names:
            found = record.get(name)
            if isinstance(found, str) and needle in _digits(found):
                return True
        return False

    return test


def word_predicate(module: Module, word: str) -> RecordPredicate:
    """Case-insensitive substring in any text-like field; needs at least 2 characters."""
    needle = word.strip().casefold()
    if len(needle) < 2:
        raise InvalidData(details={"param_name": "word"})
    names = _fields_of(module, WORD_TYPES)
    multi = _fields_of(module, frozenset({"multiselectpicklist"}))

    def test(record: Record) -> bool:
        for name in names:
            found = record.get(name)
            if isinstance(found, str) and needle in found.casefold():
                return True
        for name in multi:
            found = record.get(name)
            if isinstance(found, list) and any(
                isinstance(item, str) and needle in item.casefold() for item in found
            ):
                return True
        return False

    return test


# Callers may test record by record; the compiled predicate is kept for the last few values.
_RECENT: dict[tuple[str, str, str], tuple[Module, RecordPredicate]] = {}


def _cached(
    kind: str, module: Module, value: str, build: Callable[[Module, str], RecordPredicate]
) -> RecordPredicate:
    key = (kind, module.api_name, value)
    hit = _RECENT.get(key)
    if hit is not None and hit[0] is module:
        return hit[1]
    predicate = build(module, value)
    if len(_RECENT) >= 64:
        _RECENT.clear()
    _RECENT[key] = (module, predicate)
    return predicate


def matches_email(record: Record, module: Module, value: str) -> bool:
    return _cached("email", module, value, email_predicate)(record)


def matches_phone(record: Record, module: Module, value: str) -> bool:
    return _cached("phone", module, value, phone_predicate)(record)


def matches_word(record: Record, module: Module, word: str) -> bool:
    return _cached("word", module, word, word_predicate)(record)
