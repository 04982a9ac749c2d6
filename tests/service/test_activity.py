"""An account's related records and notes over HTTP, in process against the sandbox; a
note from a write key is added, one from a read key waits in the approval queue."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx2
from tests.service.support import Keys

from sergas.access.applying import approve
from sergas.access.approvals import ApprovalStore
from sergas.manager import Caller
from sergas.runtime import Runtime
from sergas.sandbox.server import RunningSandbox


def _notes_on(store: Any, record_id: str) -> list[dict[str, Any]]:
    return [n for n in store.all("Notes") if (n.get("Parent_Id") or {}).get("id") == record_id]


async def test_related_records_and_notes_a_page_at_a_time(
    client: httpx2.AsyncClient, keys: Keys, tier_sandbox: RunningSandbox
) -> None:
    store = tier_sandbox.sandbox.store
    account_id, deals = Counter(
        d["Account_Name"]["id"] for d in store.all("Deals") if d.get("Account_Name")
    ).most_common(1)[0]
    read = Keys.bearer(keys.read)
    first = await client.get(
        f"/v1/accounts/{account_id}/related/Deals",
        params={"per_page": 1, "fields": "Deal_Name,Stage"},
        headers=read,
    )
    everything = await client.get(
        f"/v1/accounts/{account_id}/related/Deals", params={"per_page": 200}, headers=read
    )
    notes = await client.get(f"/v1/accounts/{account_id}/notes", headers=read)
    unknown = await client.get(f"/v1/accounts/{account_id}/related/Quotes", headers=read)
    assert first.status_code == 200, first.text
    assert first.json()["info"] == {"page": 1, "per_page": 1, "count": 1, "more_records": deals > 1}
    assert set(first.json()["data"][0]) <= {"id", "Deal_Name", "Stage"}
    assert {d["id"] for d in everything.json()["data"]} == {
        d["id"] for d in store.all("Deals") if (d.get("Account_Name") or {}).get("id") == account_id
    }
    times = [n["Created_Time"] for n in notes.json()["data"]]
    assert times == sorted(times, reverse=True) and len(times) == len(_notes_on(store, account_id))
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "VALIDATION_ERROR"


async def test_a_read_keys_note_is_a_proposal(
    client: httpx2.AsyncClient, keys: Keys, runtime: Runtime, tier_sandbox: RunningSandbox
) -> None:
    store = tier_sandbox.sandbox.store
    account_id = store.ordered("Accounts")[12]["id"]
    added = await client.post(
        f"/v1/accounts/{account_id}/notes",
        json={"content": "Signed for two more years", "title": "Renewal"},
        headers=Keys.bearer(keys.write),
    )
    assert added.status_code == 201, added.text
    assert added.json()["ok"] is True
    (note,) = [n for n in _notes_on(store, account_id) if n["id"] == added.json()["id"]]
    assert (note["Note_Content"], note["Note_Title"]) == ("Signed for two more years", "Renewal")

    proposed = await client.post(
        f"/v1/accounts/{account_id}/notes",
        json={"content": "Ask about the second site", "reason": "from the call notes"},
        headers=Keys.bearer(keys.read),
    )
    missing = await client.post(
        "/v1/accounts/1234/notes", json={"content": "x"}, headers=Keys.bearer(keys.read)
    )
    assert proposed.status_code == 202, proposed.text
    approval = proposed.json()["approval"]
    assert (proposed.json()["status"], approval["action"], approval["record_id"]) == (
        "pending",
        "note",
        account_id,
    )
    assert not [n for n in _notes_on(store, account_id) if "second site" in n["Note_Content"]]
    assert missing.status_code == 404

    done = await approve(
        ApprovalStore(runtime.engine),
        runtime.manager,
        approval["id"],
        "dana",
        caller=Caller("dana", channel="approval"),
    )
    assert done.status == "applied"
    assert [n for n in _notes_on(store, account_id) if "second site" in n["Note_Content"]]
