"""The baseline of benchmarks.tiers: Zoho's official SDK used naively, one call at a time.

Runs in its own process (the SDK's configuration is process-global) and prints one JSON line:
`{"seconds": …, "records": …}`. Initialization and the first token are outside the timing.

    python -m benchmarks._naive_sdk export URL FIELDS
    python -m benchmarks._naive_sdk update URL IDS_JSON_FILE VALUE
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
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

from sergas.sandbox.config import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN

ACCOUNTS = RecordOperations("Accounts")


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


def _token() -> OAuthToken:
    """The harness's access token when it passes one (Zoho allows 10 refreshes in 10 minutes
    per refresh token, and every process refreshing would spend them), else a refresh."""
    access = os.environ.get("SERGAS_BENCH_ACCESS_TOKEN")
    if access:
        return OAuthToken(access_token=access, find_user=False)
    return OAuthToken(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, refresh_token=REFRESH_TOKEN)


def export(fields: str) -> int:
    """Sequential get_records pages of 200, page tokens past 2,000."""
    count = 0
    token: str | None = None
    while True:
        params = ParameterMap()
        params.add(GetRecordsParam.fields, fields)
        params.add(GetRecordsParam.per_page, 200)
        if token:
            params.add(GetRecordsParam.page_token, token)
        response = ACCOUNTS.get_records(params)
        if response is None or response.get_status_code() != 200:
            return count
        wrapper: Any = response.get_object()
        count += len(wrapper.get_data())
        info = wrapper.get_info()
        token = info.get_next_page_token()
        if not info.get_more_records():
            return count


def update(ids: list[str], value: int) -> int:
    """Sequential update_records of 100."""
    done = 0
    for start in range(0, len(ids), 100):
        body = BodyWrapper()
        records = []
        for rid in ids[start : start + 100]:
            record = Record()
            record.set_id(int(rid))
            record.add_key_value("Health_Score", value)
            records.append(record)
        body.set_data(records)
        response = ACCOUNTS.update_records(body)
        if response is not None and response.get_status_code() in (200, 207):
            done += len(records)
    return done


def main(argv: list[str]) -> None:
    mode, url = argv[0], argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        initialize(url, Path(tmp))
        try:
            started = time.perf_counter()
            if mode == "export":
                records = export(argv[2])
            else:
                records = update(json.loads(Path(argv[2]).read_text()), int(argv[3]))
            seconds = time.perf_counter() - started
        finally:
            Initializer.initializer = None
    print(json.dumps({"seconds": seconds, "records": records}))


if __name__ == "__main__":
    main(sys.argv[1:])
