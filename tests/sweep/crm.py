"""Putting known accounts, deals, tasks, calls and meetings straight into a sandbox's store.

Last_Activity_Time is read-only in Zoho (and the sandbox), so the hand-checked accounts go in
through the store, as seeding does; everything after that goes through HTTP.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tests.sweep.hand_checked import Case

from sergas.sandbox.backend import Sandbox
from sergas.sandbox.schema import SE_MODULE_KEY


def _blank(sandbox: Sandbox, module: str) -> dict[str, Any]:
    return {f.api_name: None for f in sandbox.modules[module].fields}


def _user(sandbox: Sandbox, index: int) -> dict[str, Any]:
    user = sandbox.users[index]
    return {"name": user["full_name"], "id": user["id"], "email": user["email"]}


def load_cases(sandbox: Sandbox, cases: tuple[Case, ...], now: datetime) -> dict[str, str]:
    """Store the cases' accounts, deals, tasks, calls and meetings; returns account name
    -> id."""
    store = sandbox.store
    created = (now - timedelta(days=400)).isoformat()
    ids: dict[str, str] = {}
    accounts, deals, tasks, calls, meetings = [], [], [], [], []
    for case in cases:
        owner = _user(sandbox, case.owner)
        account = _blank(sandbox, "Accounts") | {
            "id": store.new_id(),
            "Account_Name": case.name,
            "Annual_Revenue": case.revenue,
            "Rating": case.rating,
            "Owner": owner,
            "Created_By": owner,
            "Modified_By": owner,
            "Created_Time": created,
            "Modified_Time": created,
            "Last_Activity_Time": None
            if case.activity_days is None
            else (now - timedelta(days=case.activity_days)).isoformat(),
        }
        accounts.append(account)
        ids[case.name] = account["id"]
        ref = {"name": case.name, "id": account["id"]}
        deal_ids = [store.new_id() for _ in case.deals]
        first_deal = {"name": f"{case.name} deal 1", "id": deal_ids[0]} if deal_ids else None
        for n, (amount, closing, stage) in enumerate(case.deals):
            deals.append(
                _blank(sandbox, "Deals")
                | {
                    "id": deal_ids[n],
                    "Deal_Name": f"{case.name} deal {n + 1}",
                    "Account_Name": ref,
                    "Amount": amount,
                    "Stage": stage,
                    "Closing_Date": (now + timedelta(days=closing)).date().isoformat(),
                    "Owner": owner,
                    "Created_Time": created,
                    "Modified_Time": created,
                }
            )
        for n, (due, status) in enumerate(case.tasks):
            tasks.append(
                _blank(sandbox, "Tasks")
                | {
                    "id": store.new_id(),
                    "Subject": f"{case.name} task {n + 1}",
                    "Due_Date": None
                    if due is None
                    else (now + timedelta(days=due)).date().isoformat(),
                    "Status": status,
                    "What_Id": ref,
                    "Owner": owner,
                    "Created_Time": created,
                    "Modified_Time": created,
                }
            )
        for n, (days, call_type, on_deal) in enumerate(case.calls):
            about = first_deal if on_deal and first_deal else ref
            at = (now - timedelta(days=days)).isoformat()
            calls.append(
                _blank(sandbox, "Calls")
                | {
                    "id": store.new_id(),
                    "Subject": f"{case.name} call {n + 1}",
                    "Call_Type": call_type,
                    "Call_Start_Time": at,
                    "What_Id": about,
                    SE_MODULE_KEY: "Deals" if about is not ref else "Accounts",
                    "Owner": owner,
                    "Created_Time": at,
                    "Modified_Time": at,
                }
            )
        for n, days in enumerate(case.meetings):
            start = now - timedelta(days=days)
            meetings.append(
                _blank(sandbox, "Events")
                | {
                    "id": store.new_id(),
                    "Event_Title": f"{case.name} meeting {n + 1}",
                    "Start_DateTime": start.isoformat(),
                    "End_DateTime": (start + timedelta(hours=1)).isoformat(),
                    "What_Id": ref,
                    SE_MODULE_KEY: "Accounts",
                    "Owner": owner,
                    "Created_Time": created,
                    "Modified_Time": created,
                }
            )
    store.put_many("Accounts", accounts)
    store.put_many("Deals", deals)
    store.put_many("Tasks", tasks)
    store.put_many("Calls", calls)
    store.put_many("Events", meetings)
    return ids
