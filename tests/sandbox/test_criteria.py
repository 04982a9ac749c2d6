"""Search criteria and the email/phone/word searches (sergas.sandbox.criteria)."""

from __future__ import annotations

from typing import Any

import pytest

from sergas.sandbox.criteria import (
    Condition,
    Group,
    email_predicate,
    matches_email,
    matches_phone,
    matches_word,
    parse_criteria,
    phone_predicate,
    word_predicate,
)
from sergas.sandbox.errors import ZohoError
from sergas.sandbox.schema import MODULES, Field, Module

ACCOUNTS = MODULES["Accounts"]
CONTACTS = MODULES["Contacts"]
DEALS = MODULES["Deals"]

# A module with the field types the stock schema does not use.
WIDGETS = Module(
    api_name="Widgets",
    singular="Widget",
    id="1",
    fields=(
        Field("id", "bigint", "Record Id", "10"),
        Field("Name", "text", "Name", "11"),
        Field("Active", "boolean", "Active", "12"),
        Field("Colours", "multiselectpicklist", "Colours", "13", picklist=("Red", "Blue")),
        Field("Notes", "textarea", "Notes", "14"),
        Field("Serial", "autonumber", "Serial", "15"),
        Field("Ratio", "percent", "Ratio", "16"),
        Field("Owner", "ownerlookup", "Owner", "17"),
    ),
)

OWNER = {"name": "Ana Ruiz", "id": "5725767000000300001", "email": "ana@example.com"}


def account(**values: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": "5725767000000001001",
        "Account_Name": "Acme, Inc",
        "Industry": "Large Enterprise",
        "Annual_Revenue": 2500000.0,
        "Employees": 120,
        "Phone": "+1 (555) 010-2000",
        "Website": "https://acme.example",
        "Billing_City": "Zürich",
        "Description": None,
        "Parent_Account": {"name": "Acme Holdings", "id": "5725767000000001000"},
        "Owner": OWNER,
        "Created_Time": "2024-02-10T09:00:00+01:00",
        "Last_Health_Check": None,
    }
    record.update(values)
    return record


def matches(criteria: str, record: dict[str, Any], module: Module = ACCOUNTS) -> bool:
    return parse_criteria(criteria, module).matches(record)


def error_of(criteria: str, module: Module = ACCOUNTS) -> ZohoError:
    with pytest.raises(ZohoError) as excinfo:
        parse_criteria(criteria, module)
    return excinfo.value


# -- structure -----------------------------------------------------------------------------------


def test_single_condition() -> None:
    criterion = parse_criteria("(Employees:greater_than:100)", ACCOUNTS)
    assert isinstance(criterion, Condition)
    assert criterion.conditions == 1
    assert (criterion.api_name, criterion.operator, criterion.values) == (
        "Employees",
        "greater_than",
        ("100",),
    )
    assert criterion.matches(account())
    assert not criterion.matches(account(Employees=100))


def test_the_documented_example() -> None:
    text = r"((Account_Name:starts_with:Acme\,Inc)and(Annual_Revenue:greater_than:1000))"
    criterion = parse_criteria(text, ACCOUNTS)
    assert isinstance(criterion, Group)
    assert criterion.conditions == 2
    assert criterion.matches(account(Account_Name="ACME,Inc Europe"))
    assert not criterion.matches(account(Account_Name="Acme Inc"))
    assert not criterion.matches(account(Account_Name="Acme,Inc", Annual_Revenue=1000.0))


def test_and_or_nesting_and_precedence() -> None:
    rich = "(Annual_Revenue:greater_than:1000000)"
    big = "(Employees:greater_than:500)"
    zurich = "(Billing_City:equals:Zürich)"
    record = account()  # rich, not big, in Zürich
    assert matches(f"({rich}and{big})", record) is False
    assert matches(f"({rich}or{big})", record) is True
    assert matches(f"(({rich}and{big})or{zurich})", record) is True
    assert matches(f"({rich}and({big}or{zurich}))", record) is True
    assert matches(f"({big}and({rich}or{zurich}))", record) is False
    # Without brackets `and` binds tighter than `or`.
    assert matches(f"{big}and{rich}or{zurich}", record) is True
    assert matches(f"{zurich}or{big}and{rich}", record) is True
    assert parse_criteria(f"(({rich}and{big})or{zurich})", ACCOUNTS).conditions == 3


def test_whitespace_and_keyword_case() -> None:
    text = " ( (Employees:greater_than:100) AND (Industry:equals:Large Enterprise) ) "
    assert matches(text, account())
    assert matches("((Employees:equals:1) Or (Employees:equals:120))", account())


def test_fifteen_conditions_allowed_sixteen_rejected() -> None:
    fifteen = "or".join(["(Employees:equals:1)"] * 14 + ["(Employees:equals:120)"])
    criterion = parse_criteria(f"({fifteen})", ACCOUNTS)
    assert criterion.conditions == 15
    assert criterion.matches(account())
    error = error_of("(" + "or".join(["(Employees:equals:1)"] * 16) + ")")
    assert error.code == "CRITERIA_LIMIT_EXCEEDED"
    assert error.status == 400
    assert error.message == "no of criterium that can be given exceed the limit 15"


# -- text semantics ------------------------------------------------------------------------------


def test_equals_on_text_means_contains_case_insensitively() -> None:
    assert matches("(Account_Name:equals:acme)", account())
    assert matches("(Account_Name:equals:ME, I)", account())
    assert not matches("(Account_Name:equals:Zeta)", account())
    assert matches("(Website:equals:ACME.example)", account())
    assert matches("(Billing_City:equals:ZÜR)", account())


def test_not_equal_on_text_is_exact() -> None:
    assert matches("(Account_Name:not_equal:Acme)", account())
    assert not matches(r"(Account_Name:not_equal:acme\, inc)", account())


def test_equals_on_picklist_is_whole_value() -> None:
    assert matches("(Industry:equals:large enterprise)", account())
    assert not matches("(Industry:equals:Large)", account())
    assert matches("(Industry:not_equal:Large)", account())


def test_starts_with_and_in() -> None:
    assert matches("(Account_Name:starts_with:ac)", account())
    assert not matches("(Account_Name:starts_with:Inc)", account())
    assert matches("(Industry:in:Government/Military,Large Enterprise)", account())
    assert not matches("(Industry:in:Government/Military,Storage Equipment)", account())
    assert matches(r"(Account_Name:in:Zeta,acme\, inc)", account())
    assert not matches("(Account_Name:in:Acme,Inc)", account())


def test_textarea_autonumber_and_multiselect() -> None:
    widget = {"id": "1", "Notes": "Line one\nline two", "Serial": "W-0042", "Colours": ["Red"]}
    assert matches("(Notes:equals:LINE TWO)", widget, WIDGETS)
    assert matches("(Notes:starts_with:line one)", widget, WIDGETS)
    assert matches("(Serial:equals:w-0042)", widget, WIDGETS)
    assert not matches("(Serial:equals:0042)", widget, WIDGETS)
    assert matches("(Colours:equals:red)", widget, WIDGETS)
    assert matches("(Colours:in:Blue,Red)", widget, WIDGETS)
    assert matches("(Colours:starts_with:re)", widget, WIDGETS)
    assert matches("(Colours:not_equal:Blue)", widget, WIDGETS)


def test_empty_marker() -> None:
    assert matches("(Description:equals:${EMPTY})", account())
    assert not matches("(Description:not_equal:${EMPTY})", account())
    assert matches("(Account_Name:not_equal:${EMPTY})", account())
    assert matches("(Last_Health_Check:equals:${EMPTY})", account())


# -- escaping and unusual characters -------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (r"Burns\,B", "Burns,B"),
        (r"ASP \(Application Service Provider\)", "ASP (Application Service Provider)"),
        (r"K\\", "K\\"),
        (r"back\\slash", "back\\slash"),
        (r"a\b", "a\\b"),  # a backslash before another character is literal
        ('O\'Brien "Big"', 'O\'Brien "Big"'),
        ("Crème brûlée", "CRÈME BRÛLÉE"),
        ("日本語", "株式会社日本語"),
        ("a:b:c", "a:b:c"),
        ("50%_off*", "50%_off*"),
        ("Burns, B", "Burns, B"),  # an unescaped comma in a single value is kept
    ],
)
def test_escaped_and_special_values(value: str, stored: str) -> None:
    assert matches(f"(Account_Name:equals:{value})", account(Account_Name=stored))


def test_escaped_parenthesis_in_picklist_value() -> None:
    record = account(Industry="ASP (Application Service Provider)")
    text = r"((Industry:equals:ASP \(Application Service Provider\))and(Employees:equals:120))"
    assert matches(text, record)


def test_values_are_trimmed() -> None:
    assert matches("(Employees:equals: 120 )", account())
    assert matches("(Industry:in: Watch , Large Enterprise )", account())


# -- numbers, dates, datetimes, booleans, lookups -------------------------------------------------


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        ("(Annual_Revenue:equals:2500000)", True),
        ("(Annual_Revenue:not_equal:2500000)", False),
        ("(Annual_Revenue:greater_equal:2500000)", True),
        ("(Annual_Revenue:less_than:2500000.01)", True),
        ("(Annual_Revenue:less_equal:2499999.99)", False),
        ("(Annual_Revenue:between:1000000,3000000)", True),
        ("(Annual_Revenue:between:3000000,4000000)", False),
        ("(Employees:in:10,120,300)", True),
        ("(Employees:in:10,300)", False),
        ("(Created_Time:equals:2024-02-10T08:00:00+00:00)", True),
        ("(Created_Time:greater_than:2024-02-10T08:30:00Z)", False),
        ("(Created_Time:between:2024-02-01T00:00:00+00:00,2024-02-20T00:00:00+00:00)", True),
        ("(Created_Time:less_than:2024-02-10T03:00:01-05:00)", True),
        ("(Created_Time:less_than:2024-02-10T03:00:00-05:00)", False),
        ("(id:equals:5725767000000001001)", True),
        ("(id:greater_than:5725767000000001001)", False),
    ],
)
def test_ordered_types(criteria: str, expected: bool) -> None:
    assert matches(criteria, account()) is expected


def test_dates() -> None:
    deal = {"id": "1", "Closing_Date": "2024-06-30", "Amount": 10.5}
    assert matches("(Closing_Date:equals:2024-06-30)", deal, DEALS)
    assert matches("(Closing_Date:between:2024-06-01,2024-06-30)", deal, DEALS)
    assert matches("(Closing_Date:greater_than:2024-06-29)", deal, DEALS)
    assert not matches("(Closing_Date:in:2024-06-01,2024-07-01)", deal, DEALS)


def test_booleans_and_percent() -> None:
    widget = {"id": "1", "Active": True, "Ratio": 12.5}
    assert matches("(Active:equals:true)", widget, WIDGETS)
    assert not matches("(Active:equals:false)", widget, WIDGETS)
    assert matches("(Active:not_equal:false)", widget, WIDGETS)
    assert matches("(Ratio:between:10,20)", widget, WIDGETS)


def test_lookups_by_id_and_by_name() -> None:
    record = account()
    assert matches("(Owner:equals:5725767000000300001)", record)
    assert not matches("(Owner:equals:5725767000000300002)", record)
    assert matches("(Owner:in:1,5725767000000300001)", record)
    assert matches("(Owner:not_equal:1)", record)
    assert matches("(Parent_Account:equals:acme holdings)", record)
    assert not matches("(Parent_Account:equals:Acme)", record)
    assert matches("(Parent_Account:in:Zeta,Acme Holdings)", record)
    assert matches("(Parent_Account:not_equal:Zeta)", record)
    assert matches("(Parent_Account.id:equals:5725767000000001000)", record)
    assert matches("(Owner.name:equals:Ana Ruiz)", record)
    assert not matches("(Parent_Account:equals:5725767000000001000)", account(Parent_Account=None))
    assert matches("(Parent_Account:not_equal:Acme Holdings)", account(Parent_Account=None))


def test_contacts_lookup_and_email_field() -> None:
    contact = {
        "id": "1",
        "Last_Name": "Núñez",
        "Email": "Luis.Nunez@Example.com",
        "Account_Name": {"name": "Acme, Inc", "id": "5725767000000001001"},
    }
    assert matches("(Email:equals:luis.nunez@example.com)", contact, CONTACTS)
    assert matches("(Email:starts_with:LUIS)", contact, CONTACTS)
    assert matches(r"(Account_Name:equals:Acme\, Inc)", contact, CONTACTS)
    assert matches("(Last_Name:equals:núñez)", contact, CONTACTS)


# -- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "criteria",
    [
        "",
        "   ",
        "Employees:equals:1",
        "(Employees:equals:1",
        "((Employees:equals:1)",
        "(Employees:equals:1))",
        "(Employees:equals:1)(Employees:equals:2)",
        "(Employees:equals:1)and",
        "(Employees:equals:1)xor(Employees:equals:2)",
        "(Employees:equals)",
        "(Employees)",
        "(:equals:1)",
        "(Employees::1)",
        "(Employees:equals:1\\)",
        "(Account_Name:equals:ASP (Application))",
        "(Employees:equals:)",
        "()",
    ],
)
def test_malformed_criteria(criteria: str) -> None:
    error = error_of(criteria)
    assert error.code == "INVALID_QUERY"
    assert error.status == 400
    assert "reason" in error.details


def test_unknown_field() -> None:
    error = error_of("(Nope:equals:1)")
    assert error.code == "INVALID_QUERY"
    assert error.details == {"api_name": "Nope", "reason": "the field is not available"}
    assert error_of("(Account_Name.id:equals:1)").details["api_name"] == "Account_Name.id"
    assert error_of("(Owner.email:equals:x)").code == "INVALID_QUERY"


@pytest.mark.parametrize(
    ("criteria", "module"),
    [
        ("(Industry:starts_with:Large)", ACCOUNTS),
        ("(Account_Name:greater_than:A)", ACCOUNTS),
        ("(Account_Name:between:A,B)", ACCOUNTS),
        ("(Description:in:a,b)", ACCOUNTS),
        ("(Employees:starts_with:1)", ACCOUNTS),
        ("(Owner:starts_with:Ana)", ACCOUNTS),
        ("(Active:in:true)", WIDGETS),
        ("(Active:greater_than:false)", WIDGETS),
        ("(Account_Name:contains:Acme)", ACCOUNTS),
        ("(Account_Name:like:Acme%)", ACCOUNTS),
        ("(Account_Name:is_null:x)", ACCOUNTS),
        ("(Account_Name:EQUAL:x)", ACCOUNTS),
    ],
)
def test_operator_not_allowed_for_type(criteria: str, module: Module) -> None:
    error = error_of(criteria, module)
    assert error.code == "INVALID_QUERY"
    assert error.details["reason"] == "invalid operator found"
    assert error.details["operator"] == criteria.split(":")[1].lower()


def test_in_takes_at_most_100_values() -> None:
    hundred = ",".join(str(n) for n in range(100))
    assert parse_criteria(f"(Employees:in:{hundred})", ACCOUNTS).matches(account(Employees=99))
    error = error_of(f"(Employees:in:{hundred},100)")
    assert error.code == "INVALID_QUERY"
    assert error.message == 'Only 100 values are allowed in "IN" criteria'
    assert error.details == {"param_name": "Employees"}


@pytest.mark.parametrize(
    "criteria", ["(Employees:between:1)", "(Employees:between:1,2,3)", "(Employees:between:1,)"]
)
def test_between_needs_two_values(criteria: str) -> None:
    assert error_of(criteria).code == "INVALID_QUERY"


@pytest.mark.parametrize(
    ("criteria", "data_type"),
    [
        ("(Employees:greater_than:many)", "integer"),
        ("(Annual_Revenue:equals:1.2.3)", "currency"),
        ("(Created_Time:equals:2024-01-01)", "datetime"),
        ("(Created_Time:greater_than:2024-01-01T00:00:00)", "datetime"),
        ("(Employees:in:1,two)", "integer"),
    ],
)
def test_values_of_the_wrong_type(criteria: str, data_type: str) -> None:
    error = error_of(criteria)
    assert error.code == "INVALID_QUERY"
    assert error.details["expected_data_type"] == data_type


def test_wrong_boolean() -> None:
    assert error_of("(Active:equals:yes)", WIDGETS).details["expected_data_type"] == "boolean"


# -- email, phone, word --------------------------------------------------------------------------


def test_email_search_is_partial_and_case_insensitive() -> None:
    contact = {"id": "1", "Email": "Luis.Nunez@Example.com"}
    assert matches_email(contact, CONTACTS, "luis.nunez@example.com")
    assert matches_email(contact, CONTACTS, "@EXAMPLE.COM")
    assert not matches_email(contact, CONTACTS, "ana@example.com")
    assert not matches_email({"id": "2", "Email": None}, CONTACTS, "a@b.c")
    # Accounts has no email field: nothing matches.
    assert not matches_email(account(), ACCOUNTS, "acme")


def test_phone_search_compares_digits() -> None:
    record = account()  # +1 (555) 010-2000
    assert matches_phone(record, ACCOUNTS, "555 010 2000")
    assert matches_phone(record, ACCOUNTS, "(555)-010.2000")
    assert matches_phone(record, ACCOUNTS, "+15550102000")
    assert matches_phone(record, ACCOUNTS, "0102")
    assert not matches_phone(record, ACCOUNTS, "555 999")
    contact = {"id": "1", "Phone": None}
    assert not matches_phone(contact, CONTACTS, "555")


@pytest.mark.parametrize("phone", ["12", "  ", "555-CALL", "+1 555 x12", "1+555", "---", "()."])
def test_phone_search_rejects_malformed_numbers(phone: str) -> None:
    with pytest.raises(ZohoError) as excinfo:
        phone_predicate(ACCOUNTS, phone)
    assert excinfo.value.code == "INVALID_DATA"
    assert excinfo.value.status == 400
    with pytest.raises(ZohoError):
        matches_phone(account(), ACCOUNTS, phone)


def test_word_search() -> None:
    record = account()
    assert matches_word(record, ACCOUNTS, "acme")
    assert matches_word(record, ACCOUNTS, "zÜRICH")
    assert matches_word(record, ACCOUNTS, "enterprise")  # picklists count
    assert matches_word(record, ACCOUNTS, "acme.example")
    assert not matches_word(record, ACCOUNTS, "holdings")  # lookup names do not
    assert not matches_word(record, ACCOUNTS, "2500000")  # nor numbers
    widget = {"id": "1", "Colours": ["Red", "Blue"]}
    assert matches_word(widget, WIDGETS, "blu")


@pytest.mark.parametrize("word", ["", "a", " b "])
def test_word_needs_two_characters(word: str) -> None:
    with pytest.raises(ZohoError) as excinfo:
        word_predicate(ACCOUNTS, word)
    assert excinfo.value.code == "INVALID_DATA"
    assert excinfo.value.details == {"param_name": "word"}


def test_empty_email_is_invalid() -> None:
    with pytest.raises(ZohoError) as excinfo:
        email_predicate(CONTACTS, " ")
    assert excinfo.value.code == "INVALID_DATA"


def test_errors_render_as_zoho_json() -> None:
    error = error_of("(Nope:equals:1)")
    assert error.to_json() == {
        "code": "INVALID_QUERY",
        "details": {"api_name": "Nope", "reason": "the field is not available"},
        "message": "Invalid query formed",
        "status": "error",
    }
