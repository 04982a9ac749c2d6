"""COQL: aggregates, and the errors Zoho answers for each kind of mistake."""

from __future__ import annotations

from typing import Any

import pytest
from tests.sandbox.coql_data import (
    ANA,
    BEN,
    build_store,
    error_of,
    ids,
    names,
    run,
)

from sergas.sandbox.schema import MODULES

# -- aggregates ----------------------------------------------------------------------------------


def test_aggregates_without_group_by() -> None:
    query = (
        "select COUNT(id), COUNT(Industry), SUM(Annual_Revenue), AVG(Employees), "
        "MIN(Created_Time) from Accounts"
    )
    result = run(query)
    assert result.rows == [
        {
            "COUNT(id)": 5,
            "COUNT(Industry)": 4,
            "SUM(Annual_Revenue)": 3000.8,
            "AVG(Employees)": 27.5,
            "MIN(Created_Time)": "2024-01-01T00:00:00+00:00",
        }
    ]
    assert result.more_records is False
    row = run("select MAX(Annual_Revenue), MAX(Created_Time), MIN(Employees) from Accounts").rows
    assert row == [
        {
            "MAX(Annual_Revenue)": 2000.0,
            "MAX(Created_Time)": "2024-01-03T00:00:00+00:00",
            "MIN(Employees)": 10,
        }
    ]


def test_sum_of_decimal_fractions() -> None:
    row = run("select SUM(Annual_Revenue) from Accounts where Annual_Revenue < 1").rows[0]
    assert row == {"SUM(Annual_Revenue)": 0.3}
    assert run("select SUM(Employees) from Accounts").rows == [{"SUM(Employees)": 110}]


def test_aggregates_over_nothing() -> None:
    query = "select COUNT(id), SUM(Employees), AVG(Employees), MAX(Employees) from Accounts"
    row = run(query + " where Employees > 999").rows[0]
    assert row == {
        "COUNT(id)": 0,
        "SUM(Employees)": 0,
        "AVG(Employees)": None,
        "MAX(Employees)": None,
    }


def test_group_by() -> None:
    result = run("select Industry, COUNT(id), SUM(Employees) from Accounts group by Industry")
    assert result.rows == [
        {"Industry": None, "COUNT(id)": 1, "SUM(Employees)": 0},
        {"Industry": "Government/Military", "COUNT(id)": 1, "SUM(Employees)": 20},
        {"Industry": "Large Enterprise", "COUNT(id)": 2, "SUM(Employees)": 40},
        {"Industry": "Storage Equipment", "COUNT(id)": 1, "SUM(Employees)": 50},
    ]


def test_group_by_lookup_with_order_and_limit() -> None:
    query = (
        "select Owner, COUNT(id) as total from Accounts where Employees is not null "
        "group by Owner order by COUNT(id) desc limit 1"
    )
    result = run(query)
    assert result.rows == [{"Owner": {"name": "Ana Ruiz", "id": ANA["id"]}, "total": 3}]
    assert result.more_records is True
    query = "select Industry, MAX(Employees) from Accounts group by Industry order by Industry desc"
    assert [row["Industry"] for row in run(query).rows] == [
        "Storage Equipment",
        "Large Enterprise",
        "Government/Military",
        None,
    ]


def test_group_by_lookup_keeps_namesakes_apart() -> None:
    store, named = build_store()
    twin = {**BEN, "name": "Ana Ruiz", "id": "5725767000000300009"}
    store.put("Accounts", {**named["a2"], "Owner": twin})
    rows = run("select Owner, COUNT(id) from Accounts group by Owner", store).rows
    assert rows == [
        {"Owner": {"name": "Ana Ruiz", "id": ANA["id"]}, "COUNT(id)": 3},
        {"Owner": {"name": "Ana Ruiz", "id": twin["id"]}, "COUNT(id)": 1},
        {"Owner": {"name": "ben Okafor", "id": BEN["id"]}, "COUNT(id)": 1},
    ]


def test_group_by_join_column() -> None:
    query = "select Account_Name.Industry, COUNT(id) from Contacts group by Account_Name.Industry"
    assert run(query).rows == [
        {"Account_Name.Industry": None, "COUNT(id)": 1},
        {"Account_Name.Industry": "Government/Military", "COUNT(id)": 1},
        {"Account_Name.Industry": "Large Enterprise", "COUNT(id)": 2},
    ]


@pytest.mark.parametrize(
    ("query", "code", "details"),
    [
        (
            "select count(id) from Accounts",
            "INVALID_DATA",
            {"reason": "unsupported aggregate function", "column": "count(id)"},
        ),
        (
            "select MEDIAN(Employees) from Accounts",
            "INVALID_DATA",
            {"reason": "unsupported aggregate function", "column": "MEDIAN(Employees)"},
        ),
        (
            "select MAX(Employees), MAX(Employees) from Accounts",
            "DUPLICATE_DATA",
            {"column_name": "Employees", "aggregate": "MAX"},
        ),
        (
            "select Account_Name, COUNT(id) from Accounts",
            "INVALID_QUERY",
            {
                "column_name": "Account_Name",
                "reason": "column should be present in the group by clause",
            },
        ),
        (
            "select MIN(Account_Name) from Accounts",
            "INVALID_QUERY",
            {
                "column_name": "Account_Name",
                "aggregate": "MIN",
                "reason": "aggregate function not supported for the column",
            },
        ),
        (
            "select SUM(Account_Name) from Accounts",
            "INVALID_QUERY",
            {
                "column_name": "Account_Name",
                "aggregate": "SUM",
                "reason": "aggregate function not supported for the column",
            },
        ),
    ],
)
def test_aggregate_errors(query: str, code: str, details: dict[str, Any]) -> None:
    error = error_of(query)
    assert (error.code, error.details) == (code, details)


def test_more_than_five_aggregates() -> None:
    columns = ", ".join(f"{f}(Employees)" for f in ("COUNT", "SUM", "MIN", "MAX", "AVG"))
    assert len(run(f"select {columns} from Accounts").rows) == 1
    error = error_of(f"select {columns}, COUNT(Industry) from Accounts")
    assert (error.code, error.details) == ("LIMIT_EXCEEDED", {"limit": 5, "clause": "aggregate"})


# -- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "near"),
    [
        ("selec id from Accounts", "selec"),
        ("select from Accounts", "from"),
        ("select id, from Accounts", "from"),
        ("select id from Accounts where", None),
        ("select id from Accounts where Employees", ""),
        ("select id from Accounts where Employees = ", ""),
        ("select id from Accounts where Employees == 1", "="),
        ('select id from Accounts where Account_Name = "Acme"', '"Acme"'),
        ("select id from Accounts where Account_Name = 'Acme", "'Acme"),
        ("select id from Accounts where Employees between 1 or 2", "or"),
        ("select id from Accounts where Employees in 1, 2", "1"),
        ("select id from Accounts where (Employees = 1", ""),
        ("select id from Accounts order Employees", "order"),
        ("select id from Accounts limit 10 20", "20"),
        ("select id from Accounts.Foo", "Accounts.Foo"),
        ("select id from Accounts where Account_Name like 5", "5"),
        ("select id from Accounts extra", "extra"),
    ],
)
def test_syntax_errors(query: str, near: str | None) -> None:
    error = error_of(query)
    assert (error.code, error.status) == ("SYNTAX_ERROR", 400)
    if near is None:
        assert error.details == {"clause": "where"}
        assert error.message == "missing clause"
    else:
        assert error.message == "error occured while parsing the query"
        assert error.details["near"].startswith(near)


def test_missing_from_clause() -> None:
    error = error_of("select id")
    assert (error.code, error.message, error.details) == (
        "SYNTAX_ERROR",
        "missing clause",
        {"clause": "from"},
    )


def test_only_select_is_supported() -> None:
    error = error_of("delete from Accounts where id = 1")
    assert (error.code, error.message, error.details) == (
        "SYNTAX_ERROR",
        "given coql query not supported",
        {},
    )


def test_not_operator_is_not_supported() -> None:
    error = error_of("select id from Accounts where not (Employees = 1)")
    assert (error.code, error.message, error.details) == (
        "SYNTAX_ERROR",
        "operator not supported",
        {"operator": "not"},
    )


def test_unknown_module() -> None:
    error = error_of("select id from Widgets")
    assert (error.code, error.status, error.details) == ("INVALID_MODULE", 400, {})
    assert error.message == "the given module is not supported in api"


def test_custom_views_are_not_supported() -> None:
    error = error_of("select id from Accounts#123")
    assert (error.code, error.details) == ("INVALID_QUERY", {"cvid": "123"})


@pytest.mark.parametrize(
    ("where", "column", "operator"),
    [
        ("Account_Name > 'a'", "Account_Name", ">"),
        ("Account_Name between 'a' and 'b'", "Account_Name", "between"),
        ("Industry <= 'x'", "Industry", "<="),
        ("Employees like '1%'", "Employees", "like"),
        ("Owner like '%a%'", "Owner", "like"),
        ("Owner > 1", "Owner", ">"),
        ("Created_Time not like '%2024%'", "Created_Time", "not like"),
    ],
)
def test_operator_not_allowed_for_type(where: str, column: str, operator: str) -> None:
    error = error_of(f"select id from Accounts where {where}")
    assert error.code == "INVALID_QUERY"
    assert error.message == "Invalid query formed"
    assert error.details == {
        "reason": "invalid operator found",
        "column_name": column,
        "operator": operator,
    }


@pytest.mark.parametrize(
    ("where", "data_type"),
    [
        ("Employees = 'ten'", "integer"),
        ("Employees in (1, 'x')", "integer"),
        ("Annual_Revenue > 'lots'", "currency"),
        ("Created_Time > '2024-01-01'", "datetime"),
        ("Owner = 'Ana Ruiz'", "ownerlookup"),
    ],
)
def test_values_of_the_wrong_type(where: str, data_type: str) -> None:
    error = error_of(f"select id from Accounts where {where}")
    assert error.code == "INVALID_QUERY"
    assert error.details["expected_data_type"] == data_type
    assert error.details["reason"] == "invalid value given for the column"


def test_in_takes_at_most_100_values() -> None:
    hundred = ", ".join(str(n) for n in range(100))
    assert ids(f"select id from Accounts where Employees in ({hundred})") == names(
        "a1", "a2", "a3", "a5"
    )
    error = error_of(f"select id from Accounts where Employees in ({hundred}, 100)")
    assert error.code == "LIMIT_EXCEEDED"
    assert error.details == {"limit": 100, "column_name": "Employees", "operator": "in"}


def nested(conditions: list[str]) -> str:
    """`(a or (b or (c ...)))`: two conditions per bracket level, as Zoho wants."""
    if len(conditions) == 1:
        return conditions[0]
    return f"({conditions[0]} or {nested(conditions[1:])})"


def test_at_most_25_criteria() -> None:
    where = nested(["Employees = 1"] * 24 + ["Employees = 10"])
    assert ids(f"select id from Accounts where {where}") == names("a1")
    error = error_of(f"select id from Accounts where {where} or Employees = 2")
    assert (error.code, error.details) == ("LIMIT_EXCEEDED", {"limit": 25, "clause": "where"})


def test_at_most_50_columns() -> None:
    fields = [f.api_name for f in MODULES["Accounts"].fields]
    joins = [f"Parent_Account.{name}" for name in fields]
    columns = (fields + joins)[:50]
    assert len(run(f"select {', '.join(columns)} from Accounts limit 1").rows[0]) == 50
    more = (fields + joins)[:51]
    error = error_of(f"select {', '.join(more)} from Accounts")
    assert (error.code, error.details) == ("LIMIT_EXCEEDED", {"limit": 50, "clause": "select"})


def test_duplicate_columns() -> None:
    error = error_of("select Account_Name, Employees, account_name from Accounts")
    assert (error.code, error.message, error.details) == (
        "DUPLICATE_DATA",
        "duplicate select column",
        {"column_name": "account_name"},
    )
    error = error_of("select Account_Name as x, Employees as x from Accounts")
    assert (error.code, error.details) == ("INVALID_QUERY", {"alias": "x"})


def test_errors_render_as_zoho_json() -> None:
    error = error_of("select Nope from Accounts")
    assert error.to_json() == {
        "code": "INVALID_QUERY",
        "details": {"column_name": "Nope"},
        "message": "unsupported column",
        "status": "error",
    }
