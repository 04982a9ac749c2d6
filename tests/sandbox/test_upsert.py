"""Upsert's duplicate check: the fields it names must exist, and nothing is written otherwise."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from starlette.applications import Starlette


def accounts(app: Starlette) -> int:
    return int(app.state.sandbox.store.count("Accounts"))


@pytest.mark.parametrize(
    ("check", "json_path", "extra"),
    [
        (["Account_Name", "Shoe_Size"], "$.duplicate_check_fields[1]", {}),
        ("Account_Name", "$.duplicate_check_fields", {"expected_data_type": "jsonarray"}),
    ],
)
async def test_unknown_duplicate_check_field_is_refused_whole(
    crm_client: httpx2.AsyncClient,
    sandbox_app: Starlette,
    check: Any,
    json_path: str,
    extra: dict[str, str],
) -> None:
    before = accounts(sandbox_app)
    body = {"data": [{"Account_Name": "Upserted Co"}], "duplicate_check_fields": check}
    response = await crm_client.post("/crm/v8/Accounts/upsert", json=body)
    assert response.status_code == 400
    assert response.json() == {
        "data": [
            {
                "code": "INVALID_DATA",
                "details": {"api_name": "duplicate_check_fields", "json_path": json_path, **extra},
                "message": "invalid data",
                "status": "error",
            }
        ]
    }
    assert accounts(sandbox_app) == before


async def test_known_duplicate_check_field_updates_the_match(
    crm_client: httpx2.AsyncClient, sandbox_app: Starlette
) -> None:
    existing = next(sandbox_app.state.sandbox.store.all("Accounts"))
    body = {
        "data": [{"Account_Name": "Renamed Co", "Phone": existing["Phone"]}],
        "duplicate_check_fields": ["Phone"],
    }
    response = await crm_client.post("/crm/v8/Accounts/upsert", json=body)
    assert response.status_code == 200
    [item] = response.json()["data"]
    assert (item["action"], item["duplicate_field"]) == ("update", "Phone")
    assert item["details"]["id"] == existing["id"]
