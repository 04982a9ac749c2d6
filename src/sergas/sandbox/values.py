"""Typed comparison of record values against query operands.

Search criteria, COQL and Bulk Read criteria all filter records the same way: both sides are
converted by the field's data type (numbers as numbers, dates as dates, datetimes as aware
UTC datetimes, lookups as their id, text case-insensitively) and then compared.

`compile_condition` does the operand work once and returns a predicate over the raw record
value; `compare` is the one-shot form. Each caller checks which operators its own API allows
for a field type; here every operator works on every type.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Final

from sergas.sandbox.errors import InvalidQuery, ZohoError
from sergas.sandbox.schema import DATE_TYPES, DATETIME_TYPES, LOOKUP_TYPES, Field

Predicate = Callable[[Any], bool]

OPERATORS: Final = frozenset(
    {
        "equals",
        "not_equal",
        "greater_than",
        "greater_equal",
        "less_than",
        "less_equal",
        "between",
        "not_between",
        "in",
        "not_in",
        "starts_with",
        "ends_with",
        "contains",
        "not_contains",
        "like",
        "not_like",
        "is_null",
        "is_not_null",
    }
)
# The only operators an empty record value satisfies.
NULL_MATCHING: Final = frozenset({"is_null", "not_equal", "not_in"})

INTEGER_TYPES: Final = frozenset({"integer", "bigint"})
FLOAT_TYPES: Final = frozenset({"double", "currency", "percent", "decimal"})

_INT_RE = re.compile(r"[+-]?\d+")
_FLOAT_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:?\d{2})"
)
_ID_RE = re.compile(r"\d+")


# -- conversion -----------------------------------------------------------------------------


def _to_int(raw: Any) -> int:
    if isinstance(raw, bool):
        raise ValueError(raw)
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if isinstance(raw, Decimal) and raw.is_finite() and raw == raw.to_integral_value():
        return int(raw)
    if isinstance(raw, str) and _INT_RE.fullmatch(raw.strip()):
        return int(raw.strip())
    raise ValueError(raw)


def _to_float(raw: Any) -> float:
    if isinstance(raw, bool):
        raise ValueError(raw)
    if isinstance(raw, int | float | Decimal):
        value = float(raw)
    elif isinstance(raw, str) and _FLOAT_RE.fullmatch(raw.strip()):
        value = float(raw.strip())
    else:
        raise ValueError(raw)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(raw)
    return value


def _to_date(raw: Any) -> date:
    if isinstance(raw, datetime):
        raise ValueError(raw)
    if isinstance(raw, date):
        return raw
    if isinstance(raw, str) and _DATE_RE.fullmatch(raw.strip()):
        return date.fromisoformat(raw.strip())
    raise ValueError(raw)


def _to_datetime(raw: Any) -> datetime:
    if isinstance(raw, datetime):
        value = raw
    elif isinstance(raw, str) and _DATETIME_RE.fullmatch(raw.strip()):
        value = datetime.fromisoformat(raw.strip())
    else:
        raise ValueError(raw)
    if value.tzinfo is None:
        raise ValueError(raw)
    return value.astimezone(UTC)


def _to_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        lowered = raw.strip().lower()
        if lowered == "true":
            return True
        if lowered == "false":
            return False
    raise ValueError(raw)


def _to_id(raw: Any) -> str:
    if isinstance(raw, dict):
        raw = raw.get("id")
    if isinstance(raw, bool):
        raise ValueError(raw)
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, str) and _ID_RE.fullmatch(raw.strip()):
        return raw.strip()
    raise ValueError(raw)


def _to_text(raw: Any) -> str:
    if isinstance(raw, str):
        return raw
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, int | float | Decimal):
        return str(raw)
    if isinstance(raw, dict) and "name" in raw:
        return str(raw["name"])
    raise ValueError(raw)


def _to_multi(raw: Any) -> tuple[str, ...]:
    if isinstance(raw, list | tuple):
        return tuple(_to_text(item) for item in raw)
    return (_to_text(raw),)


def _kind(field: Field) -> str:
    data_type = field.data_type
    if data_type in INTEGER_TYPES:
        return "int"
    if data_type in FLOAT_TYPES:
        return "float"
    if data_type in DATE_TYPES:
        return "date"
    if data_type in DATETIME_TYPES:
        return "datetime"
    if data_type == "boolean":
        return "bool"
    if data_type in LOOKUP_TYPES:
        return "lookup"
    if data_type == "multiselectpicklist":
        return "multi"
    return "text"


_CONVERTERS: Final[dict[str, Callable[[Any], Any]]] = {
    "int": _to_int,
    "float": _to_float,
    "date": _to_date,
    "datetime": _to_datetime,
    "bool": _to_bool,
    "lookup": _to_id,
    "multi": _to_multi,
    "text": _to_text,
}


def is_null(raw: Any) -> bool:
    """Zoho treats a missing value, "", an empty list and an id-less lookup as empty."""
    if raw is None or raw == "" or raw == [] or raw == ():
        return True
    return isinstance(raw, dict) and not raw.get("id")


def invalid_value(field: Field) -> ZohoError:
    """INVALID_QUERY for an operand that does not fit the field's type."""
    return InvalidQuery(details={"expected_data_type": field.data_type, "api_name": field.api_name})


def coerce(field: Field, raw: Any) -> Any:
    """A record value or operand as a comparable value of the field's type (None if empty).

    Numbers become int (integer, bigint) or float; dates `date`; datetimes aware datetimes in
    UTC; booleans `bool`; lookups their id string; multi-select picklists a tuple of str;
    everything else str. Raises INVALID_QUERY when the value does not fit the type.
    """
    if is_null(raw):
        return None
    try:
        return _CONVERTERS[_kind(field)](raw)
    except (ValueError, TypeError, ArithmeticError):
        raise invalid_value(field) from None


# -- comparison -----------------------------------------------------------------------------

_Norm = Callable[[Any], Any]
_MISS: Final = object()


def normaliser(field: Field) -> _Norm:
    """Record value -> comparable value (text casefolded); None if empty or unconvertible."""
    kind = _kind(field)
    convert = _CONVERTERS[kind]

    if kind == "text":

        def text(raw: Any) -> Any:
            if raw is None or raw == "":
                return None
            if isinstance(raw, str):
                return raw.casefold()
            try:
                return _to_text(raw).casefold()
            except ValueError:
                return None

        return text

    if kind == "multi":

        def multi(raw: Any) -> Any:
            if is_null(raw):
                return None
            try:
                return tuple(item.casefold() for item in _to_multi(raw))
            except ValueError:
                return None

        return multi

    # Fast paths for the shapes the store holds; anything else goes through the converter.
    fast: Callable[[Any], Any] | None = None
    if kind == "int":

        def fast(raw: Any) -> Any:
            if type(raw) is int:
                return raw
            if type(raw) is str and raw.isascii() and raw.isdigit():
                return int(raw)
            return _MISS

    elif kind == "float":

        def fast(raw: Any) -> Any:
            return raw if type(raw) is float or type(raw) is int else _MISS

    elif kind == "datetime":

        def fast(raw: Any) -> Any:
            if type(raw) is str and raw:
                try:
                    value = datetime.fromisoformat(raw)
                except ValueError:
                    return None
                # Aware datetimes compare and hash by instant, whatever their offset.
                return value if value.tzinfo is not None else None
            return _MISS

    elif kind == "date":

        def fast(raw: Any) -> Any:
            if type(raw) is str and _DATE_RE.fullmatch(raw):
                return date.fromisoformat(raw)
            return _MISS

    elif kind == "lookup":

        def fast(raw: Any) -> Any:
            if type(raw) is dict:
                found = raw.get("id")
                return found if type(found) is str and found else (None if not found else _MISS)
            return _MISS

    def typed(raw: Any) -> Any:
        if fast is not None:
            value = fast(raw)
            if value is not _MISS:
                return value
        if is_null(raw):
            return None
        try:
            return convert(raw)
        except (ValueError, TypeError, ArithmeticError):
            return None

    return typed


def _operand(field: Field, raw: Any) -> Any:
    value = coerce(field, raw)
    if isinstance(value, str):
        return value.casefold()
    if isinstance(value, tuple):
        return tuple(item.casefold() for item in value)
    return value


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def like_matcher(pattern: str) -> Callable[[str], bool]:
    """A matcher for a COQL `like` pattern (`%` matches any run) over casefolded text."""
    folded = pattern.casefold()
    body = folded.strip("%")
    if "%" not in body:
        leading, trailing = folded.startswith("%"), folded.endswith("%") and len(folded) > 1
        if leading and trailing:
            return lambda text: body in text
        if trailing:
            return lambda text: text.startswith(body)
        if leading:
            return lambda text: text.endswith(body)
        return lambda text: text == body
    regex = re.compile(".*".join(re.escape(part) for part in folded.split("%")), re.DOTALL)
    return lambda text: regex.fullmatch(text) is not None


def _pair(field: Field, operand: Any) -> tuple[Any, Any]:
    if isinstance(operand, str) or not isinstance(operand, Iterable):
        raise invalid_value(field)
    items = list(operand)
    if len(items) != 2:
        raise invalid_value(field)
    return _operand(field, items[0]), _operand(field, items[1])


def _items(operand: Any) -> list[Any]:
    if isinstance(operand, str | dict) or not isinstance(operand, Iterable):
        return [operand]
    return list(operand)


def _single_text(field: Field, operand: Any) -> str:
    if operand is None or isinstance(operand, list | tuple | dict | set | frozenset):
        raise invalid_value(field)
    return _as_text(operand).casefold()


def compile_condition(field: Field, op: str, operand: Any = None) -> Predicate:
    """A predicate over a raw record value: `pred(record.get(field.api_name))`.

    Operands: a single value for comparisons and text operators, a 2-sequence for
    (not_)between, an iterable for (not_)in, a `%` pattern for (not_)like, nothing for
    is_null / is_not_null. Raises INVALID_QUERY for an unknown operator or a bad operand.
    """
    norm = normaliser(field)
    multi = _kind(field) == "multi"

    if op == "is_null":
        return lambda raw: norm(raw) is None
    if op == "is_not_null":
        return lambda raw: norm(raw) is not None

    if op in ("equals", "not_equal"):
        if multi:
            wanted = _single_text(field, operand)

            def has(raw: Any) -> bool:
                value = norm(raw)
                return value is not None and wanted in value

            return has if op == "equals" else (lambda raw: not has(raw))
        target = _operand(field, operand)
        if op == "equals":

            def equals(raw: Any) -> bool:
                value = norm(raw)
                return value is not None and bool(value == target)

            return equals

        def not_equal(raw: Any) -> bool:
            value = norm(raw)
            return value is None or bool(value != target)

        return not_equal

    if op in ("in", "not_in"):
        if multi:
            singles = frozenset(_single_text(field, item) for item in _items(operand))

            def any_in(raw: Any) -> bool:
                value = norm(raw)
                return value is not None and any(item in singles for item in value)

            return any_in if op == "in" else (lambda raw: not any_in(raw))
        targets = frozenset(_operand(field, item) for item in _items(operand))
        if op == "in":

            def is_in(raw: Any) -> bool:
                value = norm(raw)
                return value is not None and value in targets

            return is_in

        def not_in(raw: Any) -> bool:
            value = norm(raw)
            return value is None or value not in targets

        return not_in

    if op in ("greater_than", "greater_equal", "less_than", "less_equal"):
        bound = _operand(field, operand)
        check: Callable[[Any], bool] = {
            "greater_than": lambda v: v > bound,
            "greater_equal": lambda v: v >= bound,
            "less_than": lambda v: v < bound,
            "less_equal": lambda v: v <= bound,
        }[op]
        return _ordered(norm, check, multi)

    if op in ("between", "not_between"):
        low, high = _pair(field, operand)
        if op == "between":
            return _ordered(norm, lambda v: bool(low <= v <= high), multi)
        return _ordered(norm, lambda v: not low <= v <= high, multi)

    if op in ("starts_with", "ends_with", "contains", "not_contains", "like", "not_like"):
        if operand is None or isinstance(operand, list | tuple | dict | set | frozenset):
            raise invalid_value(field)
        needle = _as_text(operand).casefold()
        text_check: Callable[[str], bool]
        if op == "starts_with":
            text_check = lambda text: text.startswith(needle)  # noqa: E731
        elif op == "ends_with":
            text_check = lambda text: text.endswith(needle)  # noqa: E731
        elif op == "contains":
            text_check = lambda text: needle in text  # noqa: E731
        elif op == "not_contains":
            text_check = lambda text: needle not in text  # noqa: E731
        elif op == "like":
            text_check = like_matcher(needle)
        else:
            matcher = like_matcher(needle)
            text_check = lambda text: not matcher(text)  # noqa: E731
        negated = op in ("not_contains", "not_like")
        return _textual(norm, text_check, multi, negated)

    raise InvalidQuery(details={"operator": op, "reason": "invalid operator"})


def _ordered(norm: _Norm, check: Callable[[Any], bool], multi: bool) -> Predicate:
    def predicate(raw: Any) -> bool:
        value = norm(raw)
        if value is None:
            return False
        try:
            if multi:
                return any(check(item) for item in value)
            return check(value)
        except TypeError:
            return False

    return predicate


def _textual(norm: _Norm, check: Callable[[str], bool], multi: bool, negated: bool) -> Predicate:
    def predicate(raw: Any) -> bool:
        value = norm(raw)
        if value is None:
            return False
        if multi:
            items = [_as_text(item) for item in value]
            return all(map(check, items)) if negated else any(map(check, items))
        return check(_as_text(value).casefold())

    return predicate


def compare(field: Field, actual: Any, op: str, operand: Any = None) -> bool:
    """Whether a record value satisfies `op operand` (see `compile_condition`)."""
    return compile_condition(field, op, operand)(actual)
