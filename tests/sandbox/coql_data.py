"""The records COQL tests query: five accounts, their contacts and deals, in a store of
their own; and helpers to run a query against them."""

from __future__ import annotations

from typing import Any

import pytest

from sergas.sandbox.coql import CoqlResult, execute
from sergas.sandbox.errors import ZohoError
from sergas.sandbox.schema import MODULES
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
