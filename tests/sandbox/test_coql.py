"""COQL: parsing, filtering, ordering, joins, aggregates and Zoho's limits (sergas.sandbox.coql)."""

from __future__ import annotations

from typing import Any

import pytest

from sergas.sandbox.coql import CoqlResult, credits_for_limit, execute
from sergas.sandbox.errors import ZohoError
from sergas.sandbox.schema import MODULES, Field, Module
from sergas.sandbox.store import RecordStore

ANA = {"name": "Ana Ruiz", "id": "5725767000000300001", "email": "ana@example.com"}
BEN = {"name": "ben Okafor", "id": "5725767000000300002", "email": "ben@example.com"}


def _account(store: RecordStore, **values: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": store.new_id(),
        "Account_Name": None,
        "Industry": None,
        "Annual_Revenue": None,
        "Employees": None,
        "Billing_City": None,
        "Parent_Account": None,
        "Owner": ANA,
        "Created_Time": None,
    }
    record.update(values)
    store.put("Accounts", record)
    return record


def _link(record: dict[str, Any]) -> dict[str, Any]:
    return {"name": record["Account_Name"], "id": record["id"]}


def build_store() -> tuple[RecordStore, dict[str, dict[str, Any]]]:
    """Five accounts, four contacts and two deals with hand-picked values."""
    store = RecordStore(MODULES)
    a1 = _account(
        store,
        Account_Name="Acme Inc",
        Industry="Large Enterprise",
        Annual_Revenue=1000.5,
        Employees=10,
        Billing_City="Zürich",
        Created_Time="2024-01-01T10:00:00+05:30",  # 04:30 UTC
    )
    a2 = _account(
        store,
        Account_Name="globex",
        Industry="Government/Military",
        Annual_Revenue=2000.0,
        Employees=20,
        Parent_Account=_link(a1),
        Owner=BEN,
        Created_Time="2024-01-02T00:00:00+00:00",
    )
    a3 = _account(
        store,
        Account_Name='O\'Brien (Holdings), Ltd "UK" \\ 50%',
        Industry="Large Enterprise",
        Employees=30,
        Parent_Account=_link(a1),
        Created_Time="2023-12-31T23:00:00-05:00",  # 04:00 UTC on Jan 1
    )
    a4 = _account(
        store,
        Account_Name="Initech",
        Annual_Revenue=0.1,
        Owner=BEN,
        Created_Time="2024-01-03T00:00:00+00:00",
    )
    a5 = _account(
        store,
        Account_Name="Ünïcode 東京",
        Industry="Storage Equipment",
        Annual_Revenue=0.2,
        Employees=50,
        Billing_City="東京",
        Created_Time="2024-01-01T00:00:00+00:00",
    )
    contacts = []
    for last, account in (("Smith", a1), ("Jones", a2), ("Brown", None), ("smith", a3)):
        contact = {
            "id": store.new_id(),
            "Last_Name": last,
            "Email": f"{last.lower()}@example.com",
            "Account_Name": _link(account) if account else None,
            "Owner": ANA,
        }
        store.put("Contacts", contact)
        contacts.append(contact)
    deals = []
    for name, amount, closing in (("Big", 500.0, "2024-06-30"), ("Small", 5.0, "2024-01-15")):
        deal = {
            "id": store.new_id(),
            "Deal_Name": name,
            "Amount": amount,
            "Closing_Date": closing,
            "Stage": "Qualification",
            "Account_Name": _link(a1),
            "Owner": ANA,
        }
        store.put("Deals", deal)
        deals.append(deal)
    named = {"a1": a1, "a2": a2, "a3": a3, "a4": a4, "a5": a5}
    named.update({f"c{i + 1}": c for i, c in enumerate(contacts)})
    named.update({"d1": deals[0], "d2": deals[1]})
    return store, named


STORE, R = build_store()


def run(query: str, store: RecordStore = STORE) -> CoqlResult:
    return execute(query, store, MODULES)


def ids(query: str, store: RecordStore = STORE) -> list[str]:
    return [row["id"] for row in run(query, store).rows]


def names(*keys: str) -> list[str]:
    return [R[key]["id"] for key in keys]


def error_of(query: str, store: RecordStore = STORE) -> ZohoError:
    with pytest.raises(ZohoError) as excinfo:
        execute(query, store, MODULES)
    assert excinfo.value.status == excinfo.value.http_status
    return excinfo.value


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
