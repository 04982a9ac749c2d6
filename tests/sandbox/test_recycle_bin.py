"""GET /{module}/deleted: the recycle bin that DELETE feeds, and what ages out of it."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from starlette.applications import Starlette
from tests.helpers import reauthorize

from sergas.sandbox.backend import Sandbox

DAY = 86_400


@pytest.fixture
def sb(sandbox_app: Starlette) -> Sandbox:
    sandbox: Sandbox = sandbox_app.state.sandbox
    return sandbox


async def deleted(client: httpx2.AsyncClient, module: str = "Accounts", **params: Any) -> Any:
    return await client.get(f"/crm/v8/{module}/deleted", params=params)


async def test_the_seed_has_a_recycle_bin(crm_client: httpx2.AsyncClient, sb: Sandbox) -> None:
    for module in ("Accounts", "Contacts", "Deals", "Leads", "Calls"):
        body = (await deleted(crm_client, module)).json()
        entries = body["data"]
        assert entries, module
        assert all(
            set(e) == {"deleted_by", "id", "display_name", "type", "created_by", "deleted_time"}
            for e in entries
        )
        times = [e["deleted_time"] for e in entries]
        assert times == sorted(times, reverse=True)
        assert {e["type"] for e in entries} <= {"recycle", "permanent"}
        assert all(sb.store.get(module, e["id"]) is None for e in entries)
    # Nothing was ever deleted from Notes.
    assert (await deleted(crm_client, "Notes")).status_code == 204


async def test_delete_feeds_the_bin(crm_client: httpx2.AsyncClient, sb: Sandbox) -> None:
    accounts = list(sb.store.all("Accounts"))[:2]
    await crm_client.delete("/crm/v8/Accounts", params={"ids": ",".join(a["id"] for a in accounts)})
    await crm_client.post("/__sandbox/clock", json={"advance_seconds": 5})
    await reauthorize(crm_client)
    contact = next(sb.store.all("Contacts"))
    await crm_client.delete(f"/crm/v8/Contacts/{contact['id']}")
    body = (await deleted(crm_client, type="recycle", per_page=2)).json()
    me = sb.current_user
    # Latest deletion first; of one request's, the last id first.
    assert [e["id"] for e in body["data"]] == [a["id"] for a in reversed(accounts)]
    first = body["data"][0]
    assert first["display_name"] == accounts[1]["Account_Name"]
    assert first["deleted_by"] == {"name": me["full_name"], "id": me["id"]}
    assert first["created_by"] == {k: accounts[1]["Created_By"][k] for k in ("name", "id")}
    assert first["type"] == "recycle"
    recycled = (await deleted(crm_client, type="recycle")).json()["info"]["count"]
    assert body["info"] == {
        "per_page": 2,
        "count": 2,
        "page": 1,
        "more_records": recycled > 2,
    }
    contacts = (await deleted(crm_client, "Contacts", type="recycle")).json()["data"]
    assert contacts[0]["display_name"] == contact["Full_Name"]


async def test_sixty_days_later_it_is_permanent(
    crm_client: httpx2.AsyncClient, sb: Sandbox
) -> None:
    account = next(sb.store.all("Accounts"))
    await crm_client.delete(f"/crm/v8/Accounts/{account['id']}")
    await crm_client.post("/__sandbox/clock", json={"advance_seconds": 61 * DAY})
    await reauthorize(crm_client)
    recycle = await deleted(crm_client, type="recycle")
    assert recycle.status_code == 204
    permanent = (await deleted(crm_client, type="permanent")).json()["data"]
    assert account["id"] in {e["id"] for e in permanent}
    everything = (await deleted(crm_client)).json()["data"]
    assert {e["type"] for e in everything} == {"permanent"}


async def test_deleted_since_and_errors(crm_client: httpx2.AsyncClient, sb: Sandbox) -> None:
    now = (await crm_client.get("/__sandbox/clock")).json()["iso"]
    later = {"If-Modified-Since": "2040-01-01T00:00:00+00:00"}
    nothing = await crm_client.get("/crm/v8/Accounts/deleted", headers=later)
    assert (nothing.status_code, nothing.content) == (304, b"")
    await crm_client.post("/__sandbox/clock", json={"advance_seconds": 1})
    await reauthorize(crm_client)
    account = next(sb.store.all("Accounts"))
    await crm_client.delete(f"/crm/v8/Accounts/{account['id']}")
    since = await crm_client.get("/crm/v8/Accounts/deleted", headers={"If-Modified-Since": now})
    assert [e["id"] for e in since.json()["data"]] == [account["id"]]
    bad = (await deleted(crm_client, type="shredded")).json()
    assert (bad["code"], bad["details"]["param_name"]) == ("INVALID_DATA", "type")
    assert (await deleted(crm_client, "Nope")).json()["code"] == "INVALID_MODULE"
