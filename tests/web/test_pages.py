"""The pages that read the sweep agree with it: the overview's counts are the sweep's
summary, an owner's page says what their brief says, an account's page shows its score over
time, why, and its records in the CRM. Text from Zoho is shown as text."""

from __future__ import annotations

import asyncio
import re
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from tests.service.support import Keys
from tests.web.conftest import MARKUP_NAME, Swept, sweep
from tests.web.support import counts_shown

from sergas.cli.serve import listen
from sergas.runtime import Runtime
from sergas.sandbox.server import RunningSandbox, loopback_socket
from sergas.sweep.briefs import RunInfo, build_briefs
from sergas.sweep.history import SweepHistory
from sergas.sweep.scoring import STATUSES
from sergas.sweep.settings import load_sweep_settings
from sergas.web.pages import zoho_record_url

pytestmark = pytest.mark.usefixtures("swept")


@pytest.fixture
def reader(client: httpx2.AsyncClient, keys: Keys) -> httpx2.AsyncClient:
    client.headers.update(Keys.bearer(keys.read))
    return client


def escaped(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&#34;")
    )


async def test_the_overview_shows_the_sweeps_summary(
    reader: httpx2.AsyncClient, swept: Swept
) -> None:
    page = await reader.get("/")
    assert page.status_code == 200
    assert counts_shown(page.text) == swept.summary["statuses"]
    assert sum(swept.summary["statuses"].values()) == swept.summary["scored"]
    # The distribution's bars add up to every scored account.
    found = re.findall(r"<title>\d+–\d+: ([\d,]+)</title>", page.text)
    bars = [int(n.replace(",", "")) for n in found]
    assert len(bars) == 10 and sum(bars) == swept.summary["scored"]
    assert '<svg class="chart"' in page.text and 'role="img"' in page.text
    assert "Credits spent" in page.text and "unknown" in page.text  # a served sandbox
    assert "<script" not in page.text.replace(escaped("<script"), "")


async def test_the_trend_and_the_moves_follow_the_runs(
    reader: httpx2.AsyncClient, runtime: Runtime, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    healthy = next(
        r for r in sandbox.sandbox.store.all("Accounts") if r.get("Account_Status") == "Healthy"
    )
    sandbox.sandbox.store.put(
        "Accounts", healthy | {"Last_Activity_Time": None, "Annual_Revenue": None}
    )
    second = await sweep(runtime, tmp_path / "b2", datetime.now(UTC) + timedelta(minutes=1))

    page = await reader.get("/")
    assert counts_shown(page.text) == second.summary["statuses"]
    assert 'aria-labelledby="status-trend-t status-trend-d"' in page.text  # the line chart
    assert page.text.count('<polyline class="line') == 3
    moves = page.text.split('id="moved-h"')[1].split("</section>")[0]
    assert f'href="/accounts/{healthy["id"]}"' in moves and "Healthy →" in moves


async def test_an_owner_page_says_what_their_brief_says(
    reader: httpx2.AsyncClient, runtime: Runtime, swept: Swept
) -> None:
    history = SweepHistory(runtime.engine)
    run = await history.latest(runtime.scope)
    assert run is not None
    owners = await history.owners(run.id)
    owner = max(owners, key=lambda o: o.counts["At Risk"])
    accounts = await history.owner_accounts(run.id, owner.owner.id)
    (brief,) = build_briefs(accounts, {}, RunInfo(run.id, run.checked_at, False, False))

    overview = await reader.get("/")
    assert f'href="/owners/{owner.owner.id}"' in overview.text
    page = await reader.get(f"/owners/{owner.owner.id}")
    assert page.status_code == 200
    assert f"<h1>{escaped(owner.owner.name)}</h1>" in page.text
    assert f"At risk ({len(brief.data['at_risk'])})" in page.text
    for status in STATUSES:
        assert f"{brief.data['counts'][status]:,} {status}" in page.text
    for row in brief.data["at_risk"]:
        assert escaped(row["name"]) in page.text
        assert escaped("; ".join(row["reasons"])) in page.text
    assert "No previous sweep: this one is the baseline" in page.text

    missing = await reader.get("/owners/nobody")
    assert missing.status_code == 404 and "No account of this owner" in missing.text


async def test_an_account_page_tells_its_story(
    reader: httpx2.AsyncClient, runtime: Runtime, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    store = sandbox.sandbox.store
    contact = next(c for c in store.all("Contacts") if (c.get("Account_Name") or {}).get("id"))
    account_id = contact["Account_Name"]["id"]
    await sweep(runtime, tmp_path / "b2", datetime.now(UTC) + timedelta(minutes=1))
    history = SweepHistory(runtime.engine)
    run = await history.latest(runtime.scope)
    assert run is not None
    scored = await history.scored_account(run.id, account_id)
    assert scored is not None

    page = await reader.get(f"/accounts/{account_id}")
    assert page.status_code == 200
    assert f"<h1>{escaped(scored.name)}</h1>" in page.text
    assert f"Score <strong>{scored.score}</strong>" in page.text
    for reason in scored.reasons:
        assert f"<li>{escaped(reason)}</li>" in page.text
    assert "Score over time" in page.text and page.text.count('class="dot ') == 2  # two runs

    # Its contacts, read through the gateway from the sandbox.
    def of_account(module: str, field: str = "Account_Name") -> list[dict[str, Any]]:
        return [r for r in store.all(module) if (r.get(field) or {}).get("id") == account_id]

    contacts = of_account("Contacts")
    assert contacts and f"Contacts ({len(contacts)})" in page.text
    for c in contacts:
        assert escaped(c["Full_Name"]) in page.text
    stages = load_sweep_settings().open_deal_stages
    deals = [d for d in of_account("Deals") if d["Stage"] in stages]
    assert f"Open deals ({len(deals)})" in page.text
    for t in sorted(of_account("Tasks", "What_Id"), key=lambda t: str(t.get("Due_Date")))[-3:]:
        assert escaped(t["Subject"]) in page.text
    notes = sorted(of_account("Notes", "Parent_Id"), key=lambda n: str(n["Created_Time"]))
    assert notes, "the seeded CRM has notes on this account"
    assert escaped(notes[-1]["Note_Content"]) in page.text  # the latest, verbatim
    assert "set SERGAS_WEB_ZOHO_WEB_URL to link records to Zoho" in page.text  # a sandbox URL

    missing = await reader.get("/accounts/4000000000000000001")
    assert missing.status_code == 404
    assert (await reader.get("/accounts/not-an-id")).status_code == 404


async def test_an_account_page_sends_what_sergas_holds_before_reading_the_crm(
    app: FastAPI, reader: httpx2.AsyncClient, runtime: Runtime, sandbox: RunningSandbox
) -> None:
    history = SweepHistory(runtime.engine)
    run = await history.latest(runtime.scope)
    assert run is not None
    owner = (await history.owners(run.id))[0].owner
    account_id = (await history.owner_accounts(run.id, owner.id))[0].id
    path = f"/accounts/{account_id}"
    calls = lambda: sandbox.sandbox.stats()["total_calls"]  # noqa: E731
    before = calls()
    parts: list[tuple[str, int]] = []  # each body part sent, and the CRM calls made by then

    request = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> dict[str, Any]:
        if request:
            return request.pop()
        await asyncio.Event().wait()  # the browser stays until the page is complete
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body" and message.get("body"):
            parts.append((message["body"].decode(), calls()))

    headers = [(b"host", b"sergas.test"), (b"authorization", f"Bearer {_key(reader)}".encode())]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("sergas.test", 80),
    }
    await app(scope, receive, send)

    # First what the sweep stored, sent before the CRM was asked anything; then the CRM's part.
    (first, calls_then), *rest = parts
    assert calls_then == before
    assert "Why this score" in first and "Score over time" in first
    assert 'class="crm-loading"' in first and "Contacts (" not in first
    later = "".join(text for text, _ in rest)
    assert "Contacts (" in later and later.rstrip().endswith("</html>")
    assert calls() > before
    # Read within SERGAS_WEB_RELATED_CACHE_SECONDS: the whole page at once, from the cache.
    read = calls()
    again = await reader.get(path)
    assert "Contacts (" in again.text and 'class="crm-loading"' not in again.text
    assert calls() == read


def _key(client: httpx2.AsyncClient) -> str:
    return client.headers["Authorization"].removeprefix("Bearer ")


async def test_text_from_zoho_is_shown_as_text(
    reader: httpx2.AsyncClient, sandbox: RunningSandbox
) -> None:
    marked = next(
        r for r in sandbox.sandbox.store.all("Accounts") if r["Account_Name"] == MARKUP_NAME
    )
    owner_id = marked["Owner"]["id"]
    for path in (f"/accounts/{marked['id']}", f"/owners/{owner_id}"):
        page = await reader.get(path)
        assert page.status_code == 200, path
        if path.startswith("/accounts"):
            assert escaped(MARKUP_NAME) in page.text
        assert MARKUP_NAME not in page.text
        assert "<script" not in page.text and "<b>Bold" not in page.text


async def test_pages_carry_their_headers_and_stylesheet(reader: httpx2.AsyncClient) -> None:
    page = await reader.get("/")
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    assert "script-src" not in page.headers["content-security-policy"]  # none allowed
    assert '<html lang="en">' in page.text and '<main id="main">' in page.text
    css = await reader.get("/static/dashboard.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "--risk" in css.text
    # The API's own routes are untouched, and the pages stay out of its schema.
    schema = (await reader.get("/openapi.json")).json()
    assert "/" not in schema["paths"] and "/v1/accounts" in schema["paths"]


def test_records_link_to_zohos_web_client() -> None:
    def state(api_domain: str, web_url: str | None = None, embedded: bool = False) -> Any:
        target = SimpleNamespace(embedded=embedded, settings=SimpleNamespace(api_domain=api_domain))
        return SimpleNamespace(
            runtime=SimpleNamespace(target=target),
            settings=SimpleNamespace(zoho_web_url=web_url),
        )

    assert (
        zoho_record_url(state("https://www.zohoapis.eu"), "Accounts", "42")
        == "https://crm.zoho.eu/crm/tab/Accounts/42"
    )
    assert (
        zoho_record_url(state("https://www.zohoapis.ca"), "Accounts", "42")
        == "https://crm.zohocloud.ca/crm/tab/Accounts/42"
    )
    assert (
        zoho_record_url(state("https://x", "https://crm.zoho.eu/crm/org7/"), "Deals", "9")
        == "https://crm.zoho.eu/crm/org7/tab/Deals/9"
    )
    assert zoho_record_url(state("http://127.0.0.1:5000"), "Accounts", "42") is None
    assert (
        zoho_record_url(state("https://www.zohoapis.com", embedded=True), "Accounts", "1") is None
    )


def test_the_servers_sockets_send_each_answer_at_once() -> None:
    """Nagle off on the sockets uvicorn is handed (asyncio only turns it off on sockets it
    made): otherwise every answer's body waits ~40 ms behind its headers."""
    with listen("127.0.0.1", 0, "SERGAS_SERVICE") as sock:
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    with loopback_socket() as sock:  # the embedded sandbox's
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
