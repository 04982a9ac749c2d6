"""The approval queue in the browser: current and proposed values side by side, agents'
text shown as text, decisions for write scope only (no button for a read key, and its POST
refused), every cookie-borne POST carrying the session's token and coming from this site."""

from __future__ import annotations

import httpx2
import pytest
from tests.service.support import Keys
from tests.web.support import hidden, sign_in

from sergas.access.approvals import Approval, ApprovalStore
from sergas.access.principal import Principal
from sergas.runtime import Runtime
from sergas.sandbox.server import RunningSandbox

REASON = 'Rating looks stale <img src=x onerror="alert(1)"> </td><script>alert(2)</script>'
AGENT = Principal("a1b2c3d4e5f6", "agent <i>smith</i>", "read")


@pytest.fixture
async def proposal(runtime: Runtime, sandbox: RunningSandbox) -> Approval:
    record = next(iter(sandbox.sandbox.store.all("Accounts")))
    return await ApprovalStore(runtime.engine).propose(
        AGENT,
        record["id"],
        {"Rating": "Shut Down", "Description": "<b>closed</b>"},
        REASON,
        current={"Rating": record.get("Rating"), "Description": record.get("Description")},
    )


async def test_a_read_key_sees_proposals_but_cannot_decide(
    client: httpx2.AsyncClient, keys: Keys, runtime: Runtime, proposal: Approval
) -> None:
    await sign_in(client, keys.read)
    page = await client.get("/approvals")
    assert page.status_code == 200
    assert f"#{proposal.id}" in page.text
    assert (
        "Approve and apply" not in page.text
        and '<form method="post" action="/approvals' not in page.text
    )
    assert "read scope" in page.text

    csrf = hidden(page.text)["csrf"]  # the sign-out form's: a valid token for this session
    refused = await client.post(
        f"/approvals/{proposal.id}", data={"decision": "approve", "csrf": csrf}
    )
    assert refused.status_code == 403 and "needs a key with write scope" in refused.text
    bearer = await client.post(
        f"/approvals/{proposal.id}",
        data={"decision": "reject"},
        headers=Keys.bearer(keys.read),
    )
    assert bearer.status_code == 403
    assert (await ApprovalStore(runtime.engine).get(proposal.id)).status == "pending"


async def test_values_side_by_side_and_agent_text_escaped(
    client: httpx2.AsyncClient, keys: Keys, proposal: Approval
) -> None:
    page = await client.get("/approvals", headers=Keys.bearer(keys.write))
    text = page.text
    assert "<script>alert(2)</script>" not in text and "<img src=x" not in text
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in text
    assert "agent &lt;i&gt;smith&lt;/i&gt;" in text
    row = text.split("<code>Description</code>")[1].split("</tr>")[0]
    current = proposal.current or {}
    cells = [c.split("</code>")[0] for c in row.split("<code>")[1:]]
    assert cells[1] == "&#34;&lt;b&gt;closed&lt;/b&gt;&#34;"  # the proposed value, as JSON text
    assert len(cells) == 2 and (current.get("Description") is None) == (cells[0] == "null")
    assert "Value when proposed" in text and "Proposed value" in text


async def test_a_write_key_approves_and_zoho_has_it(
    client: httpx2.AsyncClient,
    keys: Keys,
    runtime: Runtime,
    sandbox: RunningSandbox,
    proposal: Approval,
) -> None:
    await sign_in(client, keys.write)
    page = await client.get("/approvals")
    assert f"Approve and apply #{proposal.id}" in page.text
    csrf = hidden(page.text)["csrf"]

    # A forged post: no token, then a wrong one, then the right one from another site.
    for data, headers in (
        ({"decision": "approve"}, {}),
        ({"decision": "approve", "csrf": "0" * 40}, {}),
        ({"decision": "approve", "csrf": csrf}, {"Origin": "https://evil.test"}),
        ({"decision": "approve", "csrf": csrf}, {"Sec-Fetch-Site": "cross-site"}),
    ):
        forged = await client.post(f"/approvals/{proposal.id}", data=data, headers=headers)
        assert forged.status_code == 403, (data, headers)
    assert (await ApprovalStore(runtime.engine).get(proposal.id)).status == "pending"
    assert sandbox.sandbox.store.get("Accounts", proposal.record_id)["Rating"] != "Shut Down"

    done = await client.post(
        f"/approvals/{proposal.id}",
        data={"decision": "approve", "csrf": csrf, "note": "agreed <u>x</u>"},
        headers={"Origin": "http://sergas.test"},
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/approvals?decided={proposal.id}"
    decided = await ApprovalStore(runtime.engine).get(proposal.id)
    assert (
        decided.status == "applied"
        and decided.decided_by == "writer (sgk_" + decided.decided_by.split("sgk_")[1]
    )
    assert decided.note == "agreed <u>x</u>"
    record = sandbox.sandbox.store.get("Accounts", proposal.record_id)
    assert record["Rating"] == "Shut Down" and record["Description"] == "<b>closed</b>"

    shown = await client.get(done.headers["location"])
    assert f"#{proposal.id} applied: Zoho answered SUCCESS" in shown.text
    assert "agreed &lt;u&gt;x&lt;/u&gt;" in shown.text

    again = await client.post(
        f"/approvals/{proposal.id}", data={"decision": "reject", "csrf": csrf}
    )
    assert again.status_code == 409 and "not pending" in again.text


async def test_rejecting_sends_nothing_to_zoho(
    client: httpx2.AsyncClient,
    keys: Keys,
    runtime: Runtime,
    sandbox: RunningSandbox,
    proposal: Approval,
) -> None:
    before = sandbox.stats()["records_written"].get("Accounts", 0)
    # A script with a write key: Bearer, no cookie, so no form token needed.
    done = await client.post(
        f"/approvals/{proposal.id}",
        data={"decision": "reject", "note": "no"},
        headers=Keys.bearer(keys.write),
    )
    assert done.status_code == 303
    assert (await ApprovalStore(runtime.engine).get(proposal.id)).status == "rejected"
    assert sandbox.stats()["records_written"].get("Accounts", 0) == before

    bad = await client.post(
        f"/approvals/{proposal.id}", data={"decision": "maybe"}, headers=Keys.bearer(keys.write)
    )
    assert bad.status_code == 400


async def test_new_records_and_notes_are_shown_for_what_they_add(
    client: httpx2.AsyncClient, keys: Keys, runtime: Runtime, sandbox: RunningSandbox
) -> None:
    record = next(iter(sandbox.sandbox.store.all("Accounts")))
    store = ApprovalStore(runtime.engine)
    create = await store.propose(
        AGENT,
        None,
        {"Last_Name": "Okafor"},
        "met at the fair",
        current=None,
        module="Contacts",
        action="create",
    )
    note = await store.propose(
        AGENT,
        record["id"],
        {"Note_Content": "Call the CFO"},
        "from the brief",
        current=None,
        action="note",
    )
    await sign_in(client, keys.read)
    page = (await client.get("/approvals")).text
    assert f"#{create.id} · create new Contacts record" in page
    assert f'#{note.id} · note on <a href="/accounts/{record["id"]}">' in page
    assert "The new record&#39;s fields" in page or "The new record's fields" in page
    assert "The note it adds" in page and "Call the CFO" in page
    assert page.count("Value when proposed") == 0  # only updates compare values
