"""Typed comparison of record values against operands (sergas.sandbox.values)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from sergas.sandbox.errors import ZohoError
from sergas.sandbox.schema import MODULES, Field, Module
from sergas.sandbox.values import (
    OPERATORS,
    coerce,
    compare,
    compile_condition,
    is_null,
    like_matcher,
    normaliser,
)

ACCOUNTS = MODULES["Accounts"]
DEALS = MODULES["Deals"]


def f(name: str, module: Module = ACCOUNTS) -> Field:
    found = module.field(name)
    assert found is not None
    return found


NAME = f("Account_Name")
INDUSTRY = f("Industry")
REVENUE = f("Annual_Revenue")
EMPLOYEES = f("Employees")
RECORD_ID = f("id")
CREATED = f("Created_Time")
CLOSING = f("Closing_Date", DEALS)
OWNER = f("Owner")
PARENT = f("Parent_Account")
PHONE = f("Phone")
FLAG = Field("Flag", "boolean", "Flag", "1")
TAGS = Field("Tags", "multiselectpicklist", "Tags", "2", picklist=("Red", "Green", "Blue"))

OWNER_VALUE = {"name": "Ana Ruiz", "id": "5725767000000300001", "email": "ana@example.com"}


def invalid(excinfo: pytest.ExceptionInfo[ZohoError]) -> dict[str, Any]:
    error = excinfo.value
    assert isinstance(error, ZohoError)
    assert error.code == "INVALID_QUERY"
    assert error.status == 400
    return error.details


# -- coerce ------------------------------------------------------------------------------------


def test_coerce_numbers() -> None:
    assert coerce(EMPLOYEES, "42") == 42
    assert type(coerce(EMPLOYEES, "42")) is int
    assert coerce(EMPLOYEES, " -7 ") == -7
    assert coerce(EMPLOYEES, 12.0) == 12
    assert coerce(RECORD_ID, "5725767000000001001") == 5725767000000001001
    assert coerce(REVENUE, "1000.50") == 1000.5
    assert coerce(REVENUE, 7) == 7.0
    assert coerce(REVENUE, "1e3") == 1000.0


@pytest.mark.parametrize(
    ("field", "raw"),
    [
        (EMPLOYEES, "12.5"),
        (EMPLOYEES, "twelve"),
        (EMPLOYEES, True),
        (EMPLOYEES, 12.5),
        (REVENUE, "nan"),
        (REVENUE, "inf"),
        (REVENUE, "1_000"),
        (REVENUE, "1,000"),
        (REVENUE, False),
        (CLOSING, "2024-13-01"),
        (CLOSING, "2024-01-01T00:00:00+00:00"),
        (CLOSING, "01/02/2024"),
        (CREATED, "2024-01-01T10:00:00"),
        (CREATED, "2024-01-01"),
        (CREATED, "yesterday"),
        (FLAG, "yes"),
        (FLAG, 1),
        (OWNER, "Ana Ruiz"),
        (OWNER, "x"),
        (NAME, {"id": "1"}),
    ],
)
def test_coerce_rejects_values_that_do_not_fit(field: Field, raw: Any) -> None:
    with pytest.raises(ZohoError) as excinfo:
        coerce(field, raw)
    assert invalid(excinfo) == {"expected_data_type": field.data_type, "api_name": field.api_name}


def test_coerce_dates_and_datetimes() -> None:
    assert coerce(CLOSING, "2024-02-29") == date(2024, 2, 29)
    assert coerce(CLOSING, date(2024, 1, 1)) == date(2024, 1, 1)
    value = coerce(CREATED, "2024-01-01T10:00:00+05:30")
    assert value == datetime(2024, 1, 1, 4, 30, tzinfo=UTC)
    assert value.tzinfo is UTC
    assert coerce(CREATED, "2024-01-01T04:30:00Z") == value
    assert coerce(CREATED, "2024-01-01T04:30:00.250+00:00").microsecond == 250000
    aware = datetime(2024, 1, 1, 12, tzinfo=timezone(timedelta(hours=-7)))
    assert coerce(CREATED, aware) == datetime(2024, 1, 1, 19, tzinfo=UTC)


def test_coerce_booleans_lookups_and_text() -> None:
    assert coerce(FLAG, "TRUE") is True
    assert coerce(FLAG, "false") is False
    assert coerce(FLAG, False) is False
    assert coerce(OWNER, OWNER_VALUE) == "5725767000000300001"
    assert coerce(OWNER, "5725767000000300001") == "5725767000000300001"
    assert coerce(PARENT, 5725767000000001001) == "5725767000000001001"
    assert coerce(NAME, "Zürich AG") == "Zürich AG"
    assert coerce(NAME, 12) == "12"
    assert coerce(INDUSTRY, "Large Enterprise") == "Large Enterprise"
    assert coerce(TAGS, ["Red", "Blue"]) == ("Red", "Blue")


@pytest.mark.parametrize("raw", [None, "", [], {"name": None, "id": None}])
def test_empty_values_coerce_to_none(raw: Any) -> None:
    assert is_null(raw)
    assert coerce(NAME if raw != [] else TAGS, raw) is None


def test_normaliser_tolerates_bad_stored_data() -> None:
    norm = normaliser(EMPLOYEES)
    assert norm(5) == 5
    assert norm("5") == 5
    assert norm("five") is None
    assert normaliser(CREATED)("not a date") is None
    assert normaliser(CREATED)("2024-01-01T00:00:00") is None  # no offset
    assert normaliser(NAME)("ÉCOLE") == "école"
    assert normaliser(OWNER)(OWNER_VALUE) == "5725767000000300001"


# -- compare: text -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actual", "op", "operand", "expected"),
    [
        ("Acme Inc", "equals", "acme inc", True),
        ("Acme Inc", "equals", "Acme", False),
        ("Acme Inc", "not_equal", "ACME INC", False),
        ("Acme Inc", "not_equal", "Acme", True),
        ("Acme Inc", "starts_with", "ACM", True),
        ("Acme Inc", "starts_with", "Inc", False),
        ("Acme Inc", "ends_with", "INC", True),
        ("Acme Inc", "contains", "me i", True),
        ("Acme Inc", "not_contains", "zeta", True),
        ("Acme Inc", "not_contains", "ACME", False),
        ("Acme Inc", "in", ["Zeta", "acme inc"], True),
        ("Acme Inc", "in", ["Acme"], False),
        ("Acme Inc", "not_in", ["Zeta"], True),
        ("Acme Inc", "not_in", ["ACME INC"], False),
        ("Acme Inc", "like", "acme%", True),
        ("Acme Inc", "like", "%INC", True),
        ("Acme Inc", "like", "%me%", True),
        ("Acme Inc", "like", "a%e%c", True),
        ("Acme Inc", "like", "a%x%c", False),
        ("Acme Inc", "like", "acme", False),
        ("Acme Inc", "like", "acme inc", True),
        ("Acme Inc", "not_like", "%zeta%", True),
        ("Acme Inc", "not_like", "%CME%", False),
        ("Acme Inc", "greater_than", "abc", True),
        ("Acme Inc", "less_than", "B", True),
        ("Acme Inc", "between", ["a", "b"], True),
        ("Straße", "equals", "STRASSE", True),
        ("Müller & Söhne", "starts_with", "MÜLLER", True),
        ("東京 Trading", "contains", "東京", True),
        ("50% off (sale), \\o/ 'x' \"y\"", "contains", "(sale), \\o/ 'x' \"y\"", True),
        ("100% pure", "like", "100\\%%", False),
        ("a.b*c", "like", "a.b*c", True),
        ("axbxc", "like", "a.b*c", False),
    ],
)
def test_text_operators(actual: str, op: str, operand: Any, expected: bool) -> None:
    assert compare(NAME, actual, op, operand) is expected


def test_picklists_compare_whole_values_case_insensitively() -> None:
    assert compare(INDUSTRY, "Large Enterprise", "equals", "large enterprise")
    assert not compare(INDUSTRY, "Large Enterprise", "equals", "Large")
    assert compare(INDUSTRY, "Large Enterprise", "in", ["Government/Military", "LARGE ENTERPRISE"])


def test_like_matcher_special_characters_are_literal() -> None:
    assert like_matcher("a(b)[c]?")("a(b)[c]?")
    assert not like_matcher("a(b)[c]?")("ab")
    assert like_matcher("%")("anything")
    assert like_matcher("%%")("")


# -- compare: numbers, dates, datetimes ----------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "operand", "expected"),
    [
        ("equals", "1000.5", True),
        ("equals", 1000.5, True),
        ("equals", "1000", False),
        ("not_equal", "1000", True),
        ("greater_than", "1000", True),
        ("greater_than", "1000.5", False),
        ("greater_equal", "1000.5", True),
        ("less_than", "1000.51", True),
        ("less_equal", "1000.5", True),
        ("less_equal", "1000.49", False),
        ("between", ["1000", "2000"], True),
        ("between", ["1000.5", "1000.5"], True),
        ("between", ["1001", "2000"], False),
        ("not_between", ["1001", "2000"], True),
        ("not_between", ["0", "2000"], False),
        ("in", ["1", "1000.50"], True),
        ("not_in", ["1", "2"], True),
        ("starts_with", "100", True),
    ],
)
def test_currency_operators(op: str, operand: Any, expected: bool) -> None:
    assert compare(REVENUE, 1000.5, op, operand) is expected


def test_decimal_fractions_compare_exactly() -> None:
    assert compare(REVENUE, 0.1, "equals", "0.1")
    assert compare(REVENUE, 0.3, "equals", "0.30")
    assert not compare(REVENUE, 0.1, "greater_than", "0.1")


def test_integers_and_ids() -> None:
    assert compare(EMPLOYEES, 50, "greater_than", "49")
    assert compare(EMPLOYEES, 50, "equals", 50)
    assert compare(EMPLOYEES, 50, "in", ["10", "50"])
    assert compare(RECORD_ID, "5725767000000001002", "greater_than", "5725767000000001001")
    assert not compare(RECORD_ID, "5725767000000001002", "less_than", 5725767000000001001)
    # Numbers compare as numbers, not as text.
    assert compare(EMPLOYEES, 9, "less_than", "10")


def test_dates() -> None:
    assert compare(CLOSING, "2024-03-15", "equals", "2024-03-15")
    assert compare(CLOSING, "2024-03-15", "greater_than", "2024-03-14")
    assert compare(CLOSING, "2024-03-15", "less_equal", "2024-03-15")
    assert compare(CLOSING, "2024-03-15", "between", ("2024-03-01", "2024-03-31"))
    assert compare(CLOSING, "2024-03-15", "not_between", ("2024-04-01", "2024-04-30"))
    assert compare(CLOSING, "2024-03-15", "in", ["2024-01-01", "2024-03-15"])


def test_datetimes_compare_by_instant_across_offsets() -> None:
    stored = "2024-01-01T10:00:00+05:30"  # 04:30 UTC
    assert compare(CREATED, stored, "equals", "2024-01-01T04:30:00+00:00")
    assert compare(CREATED, stored, "equals", "2023-12-31T21:30:00-07:00")
    assert compare(CREATED, stored, "greater_than", "2024-01-01T04:29:59Z")
    assert compare(CREATED, stored, "less_than", "2024-01-01T05:00:00+00:00")
    assert compare(CREATED, stored, "in", ["2024-01-01T04:30:00Z"])
    assert compare(
        CREATED, stored, "between", ["2024-01-01T00:00:00+00:00", "2024-01-01T04:30:00+00:00"]
    )
    assert not compare(CREATED, stored, "greater_than", "2024-01-01T09:00:00+00:00")


def test_booleans() -> None:
    assert compare(FLAG, True, "equals", "true")
    assert compare(FLAG, False, "equals", "FALSE")
    assert compare(FLAG, False, "not_equal", "true")
    assert not compare(FLAG, True, "equals", False)


def test_lookups_compare_by_id() -> None:
    assert compare(OWNER, OWNER_VALUE, "equals", "5725767000000300001")
    assert compare(OWNER, OWNER_VALUE, "not_equal", "5725767000000300002")
    assert compare(OWNER, OWNER_VALUE, "in", ["1", "5725767000000300001"])
    assert compare(OWNER, OWNER_VALUE, "not_in", ["1", "2"])
    assert not compare(OWNER, OWNER_VALUE, "in", ["1", "2"])


def test_multiselect_picklists_match_any_item() -> None:
    assert compare(TAGS, ["Red", "Blue"], "equals", "blue")
    assert not compare(TAGS, ["Red", "Blue"], "equals", "green")
    assert compare(TAGS, ["Red", "Blue"], "not_equal", "green")
    assert compare(TAGS, ["Red", "Blue"], "in", ["Green", "RED"])
    assert compare(TAGS, ["Red", "Blue"], "not_in", ["Green"])
    assert compare(TAGS, ["Red", "Blue"], "starts_with", "bl")
    assert compare(TAGS, ["Red", "Blue"], "not_contains", "green")


# -- null handling -------------------------------------------------------------------------------


@pytest.mark.parametrize("empty", [None, ""])
@pytest.mark.parametrize(
    ("field", "operand"),
    [(NAME, "x"), (REVENUE, "10"), (CLOSING, "2024-01-01"), (OWNER, "1"), (CREATED, None)],
)
def test_empty_record_values_match_only_null_tolerant_operators(
    empty: Any, field: Field, operand: Any
) -> None:
    if operand is None:
        operand = "2024-01-01T00:00:00+00:00"
    expectations = {
        "is_null": True,
        "is_not_null": False,
        "not_equal": True,
        "not_in": True,
        "equals": False,
        "in": False,
        "greater_than": False,
        "greater_equal": False,
        "less_than": False,
        "less_equal": False,
        "between": False,
        "not_between": False,
        "starts_with": False,
        "ends_with": False,
        "contains": False,
        "not_contains": False,
        "like": False,
        "not_like": False,
    }
    assert set(expectations) == OPERATORS
    for op, expected in expectations.items():
        value: Any = operand
        if op in ("in", "not_in"):
            value = [operand]
        elif op in ("between", "not_between"):
            value = [operand, operand]
        assert compare(field, empty, op, value) is expected, op


def test_lookup_without_id_is_empty() -> None:
    assert compare(OWNER, {"name": None, "id": None}, "is_null")
    assert compare(OWNER, {"name": "x", "id": "1"}, "is_not_null")
    assert not compare(TAGS, [], "is_not_null")


def test_unconvertible_stored_value_counts_as_empty() -> None:
    assert compare(EMPLOYEES, "lots", "is_null")
    assert not compare(EMPLOYEES, "lots", "greater_than", "0")


# -- operand errors ------------------------------------------------------------------------------


def test_unknown_operator() -> None:
    with pytest.raises(ZohoError) as excinfo:
        compile_condition(NAME, "matches", "x")
    assert invalid(excinfo) == {"operator": "matches", "reason": "invalid operator"}


@pytest.mark.parametrize(
    ("field", "op", "operand"),
    [
        (REVENUE, "between", ["1"]),
        (REVENUE, "between", "1,2"),
        (REVENUE, "between", ["1", "2", "3"]),
        (REVENUE, "greater_than", "abc"),
        (REVENUE, "in", ["1", "x"]),
        (NAME, "starts_with", ["a"]),
        (NAME, "contains", None),
        (CREATED, "equals", "2024-01-01"),
        (OWNER, "equals", "Ana Ruiz"),
        (TAGS, "equals", ["Red"]),
    ],
)
def test_bad_operands_raise_invalid_query(field: Field, op: str, operand: Any) -> None:
    with pytest.raises(ZohoError) as excinfo:
        compile_condition(field, op, operand)
    assert invalid(excinfo)["api_name"] == field.api_name


def test_compiled_predicate_is_reusable() -> None:
    predicate = compile_condition(REVENUE, "greater_than", "100")
    assert [predicate(v) for v in (50, 150, None, 100.01, "")] == [
        False,
        True,
        False,
        True,
        False,
    ]
