"""COQL: parsing, filtering, ordering, joins, limits and offsets (sergas.sandbox.coql)."""

from __future__ import annotations

import pytest
from tests.sandbox.coql_data import (
    BEN,
    R,
    build_store,
    error_of,
    ids,
    names,
    run,
)

from sergas.sandbox.coql import credits_for_limit, execute
from sergas.sandbox.errors import ZohoError
from sergas.sandbox.schema import MODULES, Field, Module
from sergas.sandbox.store import RecordStore

# -- basic selects -------------------------------------------------------------------------------


def test_select_returns_columns_and_id_in_ascending_id_order() -> None:
    result = run("select Account_Name, Annual_Revenue from Accounts")
    assert result.limit == 200
    assert result.more_records is False
    assert result.rows[0] == {
        "Account_Name": "Acme Inc",
        "Annual_Revenue": 1000.5,
        "id": R["a1"]["id"],
    }
    assert [row["id"] for row in result.rows] == names("a1", "a2", "a3", "a4", "a5")
    assert result.rows[2]["Annual_Revenue"] is None


def test_lookups_come_back_as_name_and_id_without_email() -> None:
    row = run("select Owner, Parent_Account from Accounts where id = " + R["a2"]["id"]).rows[0]
    assert row == {
        "Owner": {"name": "ben Okafor", "id": BEN["id"]},
        "Parent_Account": {"name": "Acme Inc", "id": R["a1"]["id"]},
        "id": R["a2"]["id"],
    }
    row = run("select Parent_Account from Accounts where id = '" + R["a1"]["id"] + "'").rows[0]
    assert row["Parent_Account"] is None


def test_select_id_only_and_unselected_fields_left_out() -> None:
    assert run("select id from Deals").rows == [{"id": R["d1"]["id"]}, {"id": R["d2"]["id"]}]
    row = run("select Deal_Name from Deals limit 1").rows[0]
    assert set(row) == {"Deal_Name", "id"}


def test_keywords_are_case_insensitive_and_semicolon_allowed() -> None:
    query = (
        "SeLeCt Account_Name FROM Accounts WHERE Employees >= 20 ORDER BY Employees DESC LIMIT 2;"
    )
    assert ids(query) == names("a5", "a3")


def test_module_and_field_names_are_case_insensitive() -> None:
    row = run("select account_name from accounts where EMPLOYEES = 10").rows[0]
    assert row == {"Account_Name": "Acme Inc", "id": R["a1"]["id"]}


def test_aliases() -> None:
    row = run("select Account_Name as name, 'Employees' as 'staff' from Accounts limit 1").rows[0]
    assert row == {"name": "Acme Inc", "staff": 10, "id": R["a1"]["id"]}


def test_no_rows() -> None:
    result = run("select Account_Name from Accounts where Employees > 1000")
    assert result.rows == []
    assert result.more_records is False


# -- where: operators by type -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Account_Name = 'acme inc'", ["a1"]),
        ("Account_Name != 'Acme Inc'", ["a2", "a3", "a4", "a5"]),
        ("Account_Name <> 'Acme Inc'", ["a2", "a3", "a4", "a5"]),
        ("Account_Name like 'ac%'", ["a1"]),
        ("Account_Name like '%INC'", ["a1"]),
        ("Account_Name like '%i%'", ["a1", "a3", "a4"]),
        ("Account_Name not like '%i%'", ["a2", "a5"]),  # ï is not i
        ("Account_Name like '%Ï%'", ["a5"]),
        ("Account_Name in ('Globex', 'initech', 'nobody')", ["a2", "a4"]),
        ("Account_Name not in ('Globex', 'initech')", ["a1", "a3", "a5"]),
        ("Industry = 'Large Enterprise'", ["a1", "a3"]),
        ("Industry != 'Large Enterprise'", ["a2", "a4", "a5"]),
        ("Industry is null", ["a4"]),
        ("Industry is not null", ["a1", "a2", "a3", "a5"]),
        ("Billing_City = '東京'", ["a5"]),
        ("Billing_City = 'zürich'", ["a1"]),
        ("Account_Name = 'ünïcode 東京'", ["a5"]),
    ],
)
def test_text_and_picklist_operators(where: str, expected: list[str]) -> None:
    assert ids(f"select Account_Name from Accounts where {where}") == names(*expected)


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Employees = 20", ["a2"]),
        ("Employees = '20'", ["a2"]),
        ("Employees != 20", ["a1", "a3", "a4", "a5"]),
        ("Employees > 20", ["a3", "a5"]),
        ("Employees >= 20", ["a2", "a3", "a5"]),
        ("Employees < 20", ["a1"]),
        ("Employees <= 20", ["a1", "a2"]),
        ("Employees between 10 and 30", ["a1", "a2", "a3"]),
        ("Employees not between 10 and 30", ["a5"]),
        ("Employees in (10, 50)", ["a1", "a5"]),
        ("Employees not in (10, 50)", ["a2", "a3", "a4"]),
        ("Employees is null", ["a4"]),
        ("Annual_Revenue = 0.1", ["a4"]),
        ("Annual_Revenue > 0.1", ["a1", "a2", "a5"]),
        ("Annual_Revenue >= 1000.5", ["a1", "a2"]),
        ("Annual_Revenue between '0.1' and '0.2'", ["a4", "a5"]),
        ("Employees > -5", ["a1", "a2", "a3", "a5"]),
    ],
)
def test_number_operators(where: str, expected: list[str]) -> None:
    assert ids(f"select Account_Name from Accounts where {where}") == names(*expected)


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Created_Time = '2024-01-01T04:30:00+00:00'", ["a1"]),
        ("Created_Time = '2023-12-31T20:30:00-08:00'", ["a1"]),
        ("Created_Time > '2024-01-01T04:00:00Z'", ["a1", "a2", "a4"]),
        ("Created_Time >= '2024-01-01T04:00:00Z'", ["a1", "a2", "a3", "a4"]),
        ("Created_Time < '2024-01-01T04:30:00+00:00'", ["a3", "a5"]),
        (
            "Created_Time between '2024-01-01T00:00:00+00:00' and '2024-01-01T23:59:59+00:00'",
            ["a1", "a3", "a5"],
        ),
        (
            "Created_Time not between '2024-01-01T00:00:00+00:00' and '2024-01-01T23:59:59+00:00'",
            ["a2", "a4"],
        ),
        ("Created_Time in ('2024-01-02T00:00:00Z', '2024-01-03T05:30:00+05:30')", ["a2", "a4"]),
    ],
)
def test_datetime_operators(where: str, expected: list[str]) -> None:
    assert ids(f"select Account_Name from Accounts where {where}") == names(*expected)


def test_date_operators() -> None:
    base = "select Deal_Name from Deals where "
    assert ids(base + "Closing_Date = '2024-06-30'") == names("d1")
    assert ids(base + "Closing_Date < '2024-06-30'") == names("d2")
    assert ids(base + "Closing_Date between '2024-01-01' and '2024-01-31'") == names("d2")
    assert ids(base + "Closing_Date not in ('2024-01-15')") == names("d1")


def test_lookup_operators_compare_ids() -> None:
    base = "select Account_Name from Accounts where "
    a1 = R["a1"]["id"]
    assert ids(base + f"Parent_Account = '{a1}'") == names("a2", "a3")
    assert ids(base + f"Parent_Account = {a1}") == names("a2", "a3")
    assert ids(base + f"Parent_Account != {a1}") == names("a1", "a4", "a5")
    assert ids(base + f"Parent_Account in ({a1}, 1)") == names("a2", "a3")
    assert ids(base + f"Parent_Account not in ({a1})") == names("a1", "a4", "a5")
    assert ids(base + "Parent_Account is null") == names("a1", "a4", "a5")
    assert ids(base + "Parent_Account is not null") == names("a2", "a3")
    assert ids(base + f"Owner = '{BEN['id']}'") == names("a2", "a4")
    assert ids(base + f"id = '{a1}'") == names("a1")
    assert ids(base + f"id > {a1} and id < {R['a4']['id']}") == names("a2", "a3")


def test_a_walk_by_id_gets_the_rows_an_unbounded_query_gets() -> None:
    """Pages walked by id ("id > last and ...") start past the bound without scanning what
    lies before it; the rows are the same as filtering everything."""
    a2 = R["a2"]["id"]
    base = "select Account_Name from Accounts where "
    assert ids(base + f"id > {a2} and Employees >= 0") == [
        i for i in ids(base + "Employees >= 0") if int(i) > int(a2)
    ]
    assert ids(base + f"(id >= {a2}) and (Employees is not null)") == [
        i for i in ids(base + "Employees is not null") if int(i) >= int(a2)
    ]
    assert ids(base + f"id > {R['a5']['id']} and Employees >= 0") == []
    assert ids(base + f"id > {a2} and Employees >= 0 order by id desc") == names("a5", "a3")


def test_a_query_on_a_lookup_reads_its_index_and_sees_every_change() -> None:
    """ "<lookup> in (...)" and "<lookup> = id" give what filtering every record gives, also
    right after a record is relinked (the index follows the module's version)."""
    store, rows = build_store()
    a1, a2 = rows["a1"]["id"], rows["a2"]["id"]
    base = "select Account_Name from Accounts where "
    everything = "(Parent_Account in (" + f"{a1}, {a2})) or (Employees = -1)"
    assert ids(base + f"Parent_Account in ({a1}, {a2}, 7)", store) == ids(base + everything, store)
    assert ids(base + f"Parent_Account = '{a1}' and Employees >= 0", store) == [
        i
        for i in ids(base + f"(Parent_Account = {a1}) or (Employees = -1)", store)
        if i in ids(base + "Employees >= 0", store)
    ]
    assert ids(base + f"Parent_Account in ({a1})", store) == [rows["a2"]["id"], rows["a3"]["id"]]
    relinked = store.get("Accounts", rows["a5"]["id"])
    assert relinked is not None
    store.put("Accounts", relinked | {"Parent_Account": {"name": "Acme Inc", "id": a1}})
    assert ids(base + f"Parent_Account in ({a1})", store) == names("a2", "a3", "a5")
    assert ids(base + f"Parent_Account in ({a1}) order by id desc limit 1", store) == names("a5")


def test_boolean_and_multiselect_fields() -> None:
    widgets = Module(
        "Widgets",
        "Widget",
        "9",
        (
            Field("id", "bigint", "Record Id", "90"),
            Field("Name", "text", "Name", "91"),
            Field("Active", "boolean", "Active", "92"),
        ),
    )
    store = RecordStore(["Widgets"])
    store.put_many(
        "Widgets",
        [
            {"id": "1", "Name": "on", "Active": True},
            {"id": "2", "Name": "off", "Active": False},
        ],
    )
    modules = {"Widgets": widgets}
    assert [
        r["id"]
        for r in execute("select Name from Widgets where Active = true", store, modules).rows
    ] == ["1"]
    assert [
        r["id"]
        for r in execute("select Name from Widgets where Active = 'false'", store, modules).rows
    ] == ["2"]
    with pytest.raises(ZohoError) as excinfo:
        execute("select Name from Widgets where Active != true", store, modules)
    assert excinfo.value.code == "INVALID_QUERY"
    assert excinfo.value.details["operator"] == "!="


# -- where: strings, escapes, logic --------------------------------------------------------------


def test_quotes_brackets_commas_backslashes_in_values() -> None:
    name = R["a3"]["Account_Name"]
    assert name == 'O\'Brien (Holdings), Ltd "UK" \\ 50%'
    literal = name.replace("\\", "\\\\").replace("'", "\\'")
    assert ids(f"select Account_Name from Accounts where Account_Name = '{literal}'") == names("a3")
    assert ids("select id from Accounts where Account_Name like 'o\\'brien (%'") == names("a3")
    assert ids("select id from Accounts where Account_Name like '%), ltd%'") == names("a3")
    assert ids("select id from Accounts where Account_Name like '%\"UK\" \\\\%'") == names("a3")
    assert ids("select id from Accounts where Account_Name in ('x,y', 'Globex')") == names("a2")


def test_and_or_and_brackets() -> None:
    base = "select id from Accounts where "
    assert ids(base + "Industry = 'Large Enterprise' and Employees > 10") == names("a3")
    assert ids(base + "Employees = 10 or Employees = 50") == names("a1", "a5")
    assert ids(base + "(Employees = 10 or Employees = 50) and Billing_City = '東京'") == names("a5")
    assert ids(base + "Employees = 10 or (Employees = 50 and Billing_City = 'x')") == names("a1")
    assert ids(base + "((Employees = 10))") == names("a1")
    nested = "(Employees = 10 or Employees = 50) and (Billing_City = 'x' or Employees > 0)"
    assert ids(base + nested) == names("a1", "a5")


@pytest.mark.parametrize(
    ("where", "near"),
    [
        ("Employees = 10 or Employees = 50 and Billing_City = 'x'", "and"),
        ("Employees = 50 and Billing_City = 'x' or Employees = 10", "or"),
        ("Employees = 1 and Employees = 2 and Employees = 3", "and"),
        ("(Employees = 1 or Employees = 2 or Employees = 3) and Employees = 4", "or"),
    ],
)
def test_more_than_two_conditions_need_brackets(where: str, near: str) -> None:
    # Zoho: "with more than two conditions, brackets are required", e.g. (A and (B and C)).
    error = error_of(f"select id from Accounts where {where}")
    assert (error.code, error.status, error.details) == ("SYNTAX_ERROR", 400, {"near": near})


# -- joins ---------------------------------------------------------------------------------------


def test_join_columns_keep_the_dotted_key() -> None:
    rows = run(
        "select Last_Name, Account_Name.Account_Name, Account_Name.Industry from Contacts"
    ).rows
    assert rows[0] == {
        "Last_Name": "Smith",
        "Account_Name.Account_Name": "Acme Inc",
        "Account_Name.Industry": "Large Enterprise",
        "id": R["c1"]["id"],
    }
    assert rows[2]["Account_Name.Account_Name"] is None  # no account


def test_join_in_where_and_order_by() -> None:
    query = (
        "select Last_Name from Contacts where Account_Name.Industry = 'Large Enterprise' "
        "order by Account_Name.Account_Name desc"
    )
    assert ids(query) == names("c4", "c1")
    query = "select Last_Name from Contacts where Account_Name.Annual_Revenue > 1500"
    assert ids(query) == names("c2")
    query = "select Last_Name from Contacts where Account_Name.Account_Name is null"
    assert ids(query) == names("c3")


def test_join_to_a_lookup_of_the_target_and_lookup_ids() -> None:
    rows = run("select Account_Name.Parent_Account, Account_Name.id from Contacts").rows
    assert rows[1]["Account_Name.Parent_Account"] == {"name": "Acme Inc", "id": R["a1"]["id"]}
    assert rows[1]["Account_Name.id"] == R["a2"]["id"]
    assert rows[2]["Account_Name.id"] is None
    query = f"select id from Accounts where Owner.id = '{BEN['id']}'"
    assert ids(query) == names("a2", "a4")
    assert run(f"select Owner.id from Accounts where id = {R['a2']['id']}").rows[0] == {
        "Owner.id": BEN["id"],
        "id": R["a2"]["id"],
    }


@pytest.mark.parametrize(
    "column",
    [
        "Owner.last_name",
        "Account_Name.Nope",
        "Last_Name.Account_Name",
        "Account_Name.Parent_Account.Account_Name",
        "Nope",
    ],
)
def test_unsupported_columns(column: str) -> None:
    error = error_of(f"select {column} from Contacts")
    assert error.code == "INVALID_QUERY"
    assert error.message == "unsupported column"
    assert error.details == {"column_name": column}
    error = error_of(f"select id from Contacts where {column} = '1'")
    assert error.details == {"column_name": column}


# -- order by ------------------------------------------------------------------------------------


def test_order_by_text_is_case_insensitive() -> None:
    query = "select Account_Name from Accounts order by Account_Name"
    assert ids(query) == names("a1", "a2", "a4", "a3", "a5")
    assert ids(query + " desc") == names("a5", "a3", "a4", "a2", "a1")


def test_order_by_puts_empty_values_first_ascending_and_last_descending() -> None:
    query = "select id from Accounts order by Annual_Revenue"
    assert ids(query) == names("a3", "a4", "a5", "a1", "a2")
    assert ids(query + " desc") == names("a2", "a1", "a5", "a4", "a3")


def test_order_by_datetime_uses_the_instant() -> None:
    query = "select id from Accounts order by Created_Time asc"
    assert ids(query) == names("a5", "a3", "a1", "a2", "a4")


def test_order_by_several_keys_ties_by_ascending_id() -> None:
    query = "select id from Accounts order by Industry desc, Employees desc"
    assert ids(query) == names("a5", "a3", "a1", "a2", "a4")
    query = "select id from Accounts order by Owner"  # lookups order by name
    assert ids(query) == names("a1", "a3", "a5", "a2", "a4")
    assert ids("select id from Accounts order by id desc") == names("a5", "a4", "a3", "a2", "a1")
    assert ids("select id from Accounts order by Owner, id desc") == names(
        "a5", "a3", "a1", "a4", "a2"
    )


def test_sorted_results_follow_writes() -> None:
    store, named = build_store()
    query = "select id from Accounts order by Employees desc limit 1"
    assert ids(query, store) == [named["a5"]["id"]]
    store.put("Accounts", {**named["a1"], "Employees": 99})
    assert ids(query, store) == [named["a1"]["id"]]


# -- limit and offset ----------------------------------------------------------------------------


def _many(count: int) -> RecordStore:
    store = RecordStore(MODULES)
    store.put_many(
        "Accounts",
        [
            {"id": store.new_id(), "Account_Name": f"Account {n:05d}", "Employees": n % 7}
            for n in range(count)
        ],
    )
    return store


MANY = _many(2600)


def test_default_limit_is_200() -> None:
    result = run("select Account_Name from Accounts", MANY)
    assert len(result.rows) == 200
    assert result.limit == 200
    assert result.more_records is True
    assert result.rows[0]["Account_Name"] == "Account 00000"


def test_limit_offset_and_the_comma_form() -> None:
    result = run("select Account_Name from Accounts limit 3 offset 5", MANY)
    assert [r["Account_Name"] for r in result.rows] == [f"Account {n:05d}" for n in (5, 6, 7)]
    assert result.limit == 3
    comma = run("select Account_Name from Accounts limit 5, 3", MANY)
    assert comma.rows == result.rows
    assert comma.limit == 3


def test_offset_without_limit_uses_the_default_limit() -> None:
    result = run("select Account_Name from Accounts offset 2590", MANY)
    assert [r["Account_Name"] for r in result.rows] == [
        f"Account {n:05d}" for n in range(2590, 2600)
    ]
    assert (result.limit, result.more_records) == (200, False)


def test_more_records_at_the_end() -> None:
    last = run("select id from Accounts limit 2000 offset 600", MANY)
    assert len(last.rows) == 2000
    assert last.more_records is False
    almost = run("select id from Accounts limit 2000 offset 599", MANY)
    assert almost.more_records is True
    past = run("select id from Accounts limit 10 offset 5000", MANY)
    assert (past.rows, past.more_records) == ([], False)


def test_limit_and_offset_with_where_and_order() -> None:
    query = "select Account_Name from Accounts where Employees = 3 order by Account_Name desc"
    result = run(query + " limit 2 offset 1", MANY)
    assert [r["Account_Name"] for r in result.rows] == ["Account 02586", "Account 02579"]
    assert result.more_records is True
    everything = run(query + " limit 2000", MANY)
    assert len(everything.rows) == 371
    assert everything.more_records is False


@pytest.mark.parametrize("limit", ["0", "-1", "-2000"])
def test_limit_must_be_positive(limit: str) -> None:
    error = error_of(f"select id from Accounts limit {limit}")
    assert (error.code, error.status) == ("INVALID_DATA", 400)
    assert error.message == "limit should be greater than 0"
    assert error.details == {}


def test_limit_above_2000() -> None:
    error = error_of("select id from Accounts limit 2001")
    assert (error.code, error.status) == ("LIMIT_EXCEEDED", 400)
    assert error.details == {"limit": 2000}
    assert len(run("select id from Accounts limit 2000", MANY).rows) == 2000


@pytest.mark.parametrize(("limit", "given"), [("abc", "abc"), ("'10'", "10"), ("1.5", "1.5")])
def test_non_numeric_limit(limit: str, given: str) -> None:
    error = error_of(f"select id from Accounts limit {limit}")
    assert (error.code, error.status) == ("INVALID_QUERY", 400)
    assert error.message == "limit given seems to be invalid"
    assert error.details == {"limit": given}


def test_offset_rules() -> None:
    assert run("select id from Accounts limit 2000 offset 98000").rows == []
    error = error_of("select id from Accounts limit 2000 offset 98001")
    assert (error.code, error.details) == ("INVALID_QUERY", {"offset": 98001})
    error = error_of("select id from Accounts limit 99999, 2")
    assert error.details == {"offset": 99999}
    assert error_of("select id from Accounts limit 10 offset -1").details == {"offset": -1}
    assert error_of("select id from Accounts limit 10 offset x").details == {"offset": "x"}


def test_credits_for_limit() -> None:
    assert [credits_for_limit(n) for n in (1, 200, 201, 1000, 1001, 2000)] == [1, 1, 2, 2, 3, 3]
