"""The baseline of benchmarks.sweep: the same sweep written straightforwardly with Zoho's
official SDK, one call after another.

Accounts, deals and tasks are read with `get_records` pages of 200 (page tokens past 2,000),
scored with the same rules (sergas.sweep.scoring), and the changed accounts are written with
`update_records` in sequential batches of 100. Runs in its own process (the SDK's
configuration is process-global) and prints one JSON line: `seconds` covers the sweep (the
first token included, as in ours), `wall_seconds` the SDK's initialization as well.

    python -m benchmarks._sweep_baseline URL
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store.file_store import FileStore
from zohocrmsdk.src.com.zoho.api.logger import Logger
from zohocrmsdk.src.com.zoho.crm.api.dc import DataCenter
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.parameter_map import ParameterMap
from zohocrmsdk.src.com.zoho.crm.api.record import (
    BodyWrapper,
    GetRecordsParam,
    Record,
    RecordOperations,
)
from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig
from zohocrmsdk.src.com.zoho.crm.api.util import Choice

from sergas.sandbox.config import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN
from sergas.sweep.scoring import AccountSignals, Deal, Owner, score_account
from sergas.sweep.settings import SweepSettings

ACCOUNT_FIELDS = (
    "Account_Name,Owner,Last_Activity_Time,Annual_Revenue,Rating,Health_Score,Account_Status"
)
DEAL_FIELDS = "Account_Name,Amount,Stage,Closing_Date"
TASK_FIELDS = "What_Id,Status,Due_Date"


def initialize(url: str, directory: Path) -> None:
    Initializer.initialize(
        environment=DataCenter.Environment(url, f"{url}/oauth/v2/token", url),
        token=OAuthToken(
            client_id=CLIENT_ID, client_secret=CLIENT_SECRET, refresh_token=REFRESH_TOKEN
        ),
        store=FileStore(str(directory / "sdk_tokens.csv")),
        sdk_config=SDKConfig(auto_refresh_fields=False),
        resource_path=str(directory),
        logger=Logger.get_instance(Logger.Levels.WARNING, str(directory / "sdk.log")),
    )


def read_all(module: str, fields: str, calls: list[int]) -> list[Record]:
    """Every record of `module`: get_records pages of 200, one after another."""
    operations = RecordOperations(module)
    records: list[Record] = []
    token: str | None = None
    while True:
        params = ParameterMap()
        params.add(GetRecordsParam.fields, fields)
        params.add(GetRecordsParam.per_page, 200)
        if token:
            params.add(GetRecordsParam.page_token, token)
        response = operations.get_records(params)
        calls[0] += 1
        if response is None or response.get_status_code() != 200:
            return records
        wrapper: Any = response.get_object()
        records.extend(wrapper.get_data())
        info = wrapper.get_info()
        token = info.get_next_page_token()
        if not info.get_more_records():
            return records


def _value(value: Any) -> Any:
    return value.get_value() if isinstance(value, Choice) else value


def _date(value: Any) -> date | None:
    return value if isinstance(value, date) else None


def signals(
    accounts: list[Record], deals: list[Record], tasks: list[Record], settings: SweepSettings
) -> list[AccountSignals]:
    open_stages, inactive = set(settings.open_deal_stages), set(settings.inactive_ratings)
    deals_by: dict[int, list[Deal]] = defaultdict(list)
    for deal in deals:
        account = deal.get_key_value("Account_Name")
        if account is not None and _value(deal.get_key_value("Stage")) in open_stages:
            amount = deal.get_key_value("Amount")
            deals_by[account.get_id()].append(
                Deal(
                    None if amount is None else float(amount),
                    _date(deal.get_key_value("Closing_Date")),
                )
            )
    tasks_by: dict[int, list[date | None]] = defaultdict(list)
    for task in tasks:
        what = task.get_key_value("What_Id")
        if what is not None and _value(task.get_key_value("Status")) != "Completed":
            tasks_by[what.get_id()].append(_date(task.get_key_value("Due_Date")))
    out = []
    for record in accounts:
        if _value(record.get_key_value("Rating")) in inactive:
            continue
        owner = record.get_key_value("Owner")
        revenue = record.get_key_value("Annual_Revenue")
        out.append(
            AccountSignals(
                id=str(record.get_id()),
                name=str(record.get_key_value("Account_Name")),
                owner=Owner(str(owner.get_id()), owner.get_name(), owner.get_email()),
                last_activity=record.get_key_value("Last_Activity_Time"),
                annual_revenue=None if revenue is None else float(revenue),
                open_deals=tuple(deals_by.get(record.get_id(), ())),
                open_task_due_dates=tuple(tasks_by.get(record.get_id(), ())),
                health_score=record.get_key_value("Health_Score"),
                account_status=_value(record.get_key_value("Account_Status")),
            )
        )
    return out


def sweep(calls: list[int]) -> dict[str, int]:
    settings = SweepSettings()
    now = datetime.now(UTC)
    accounts = read_all("Accounts", ACCOUNT_FIELDS, calls)
    deals = read_all("Deals", DEAL_FIELDS, calls)
    tasks = read_all("Tasks", TASK_FIELDS, calls)
    changed = []
    for account in signals(accounts, deals, tasks, settings):
        result = score_account(account, settings, now)
        if (account.health_score, account.account_status) != (result.score, result.status):
            record = Record()
            record.set_id(int(account.id))
            record.add_key_value("Health_Score", result.score)
            record.add_key_value("Account_Status", Choice(result.status))
            record.add_key_value("Last_Health_Check", now.replace(microsecond=0))
            changed.append(record)
    operations = RecordOperations("Accounts")
    written = 0
    for start in range(0, len(changed), 100):
        body = BodyWrapper()
        body.set_data(changed[start : start + 100])
        response = operations.update_records(body)
        calls[0] += 1
        if response is not None and response.get_status_code() in (200, 207):
            written += sum(
                1
                for item in response.get_object().get_data()
                if _value(item.get_status()) == "success"
            )
    return {"accounts": len(accounts), "changed": len(changed), "written": written}


def main(url: str) -> None:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        initialize(url, Path(tmp))
        try:
            calls = [0]
            begun = time.perf_counter()
            counts = sweep(calls)
            seconds = time.perf_counter() - begun
        finally:
            Initializer.initializer = None
    wall = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "wall_seconds": wall, "calls": calls[0], **counts}))


if __name__ == "__main__":
    main(sys.argv[1])
