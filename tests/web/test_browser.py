"""The dashboard in a real browser: Debian's Chromium driven by Playwright, against
`sergas serve` started as a new user would after `make demo` (the embedded default, its
data directory, keys from `sergas apikeys create`). Nothing is downloaded: the browser is the
system's (`.ci/run` installs it when missing).

A person signs in, sees the sweep's counts, opens an account, and approves an agent's
proposal with the keyboard; the change is then in the sandbox's CRM. A person with a read
key sees no button and cannot post a decision. No page logs a console error, fails a
request, or needs JavaScript."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, sync_playwright
from tests.web.demo import Demo, demo_service, propose, sergas

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STATUSES = ("Healthy", "Watch", "At Risk")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    data = tmp_path_factory.mktemp("demo") / "data"
    # Nothing reused between views: a change made a moment ago shows on the next page.
    fresh = {"SERGAS_WEB_RELATED_CACHE_SECONDS": "0", "SERGAS_WEB_REFRESH_SECONDS": "0"}
    with demo_service(data, 300, **fresh) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), "the browser tests need Debian's Chromium: apt-get install chromium"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


@dataclass
class Tab:
    page: Page
    problems: list[str] = field(default_factory=list)  # console errors, failed requests


@pytest.fixture
def tab(browser: Browser, demo: Demo) -> Iterator[Tab]:
    context = browser.new_context(
        base_url=demo.url, java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    opened = Tab(page)

    def console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            opened.problems.append(f"console {message.type}: {message.text}")

    page.on("console", console)
    page.on("pageerror", lambda error: opened.problems.append(f"page error: {error}"))

    def failed(request: Request) -> None:
        opened.problems.append(f"request failed: {request.url} ({request.failure})")

    page.on("requestfailed", failed)
    page.on(
        "response",
        lambda r: r.status >= 500 and opened.problems.append(f"{r.status} from {r.url}"),
    )
    yield opened
    # What the last page still loads (its icon) finishes first; a request the browser starts
    # after that is aborted by the close itself, which is no failure of the page's.
    page.wait_for_load_state("networkidle")
    page.remove_listener("requestfailed", failed)
    context.close()
    assert opened.problems == []


def sign_in(page: Page, key: str) -> None:
    page.goto("/")
    assert page.url.endswith("/signin?next=%2F")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/$"))


def counts(page: Page) -> dict[str, int]:
    return {
        s: int(page.locator(f'[data-status="{s}"]').inner_text().replace(",", "")) for s in STATUSES
    }


def test_sign_in_see_the_sweep_open_an_account_approve(
    tab: Tab, demo: Demo, tmp_path: Path
) -> None:
    page = tab.page
    sign_in(page, demo.write_key)
    assert page.get_by_role("heading", level=1).inner_text() == "The latest sweep"
    assert counts(page) == demo.summary["accounts"]["statuses"]
    assert demo.summary["run_id"][:8] in page.inner_text("main")
    page.screenshot(path=tmp_path / "overview.png")

    # An owner with an account at risk, then that account.
    at_risk = 2 + STATUSES.index("At Risk")  # the owner table: name, accounts, then statuses
    rows = page.locator("#owners-h + table tbody tr")
    risky = [
        row
        for row in rows.all()
        if int(row.locator("td").nth(at_risk).inner_text().replace(",", "")) > 0
    ]
    assert risky, "the demo's sweep put no owner's account at risk"
    risky[0].locator("a").click()
    assert page.get_by_role("heading", name=re.compile("At risk")).is_visible()
    page.screenshot(path=tmp_path / "owner.png")
    page.locator("main table a[href^='/accounts/']").first.click()
    assert page.get_by_role("heading", name="Why this score").is_visible()
    page.wait_for_load_state()  # the CRM's part follows what the sweep stored
    assert page.get_by_role("heading", name="Contacts", exact=False).is_visible()
    assert not page.get_by_role("status").filter(has_text="Reading").is_visible()
    account_id = page.url.rsplit("/", 1)[1]
    page.screenshot(path=tmp_path / "account.png")

    # An agent proposes a change to that account; the person approves it, by keyboard.
    proposal = propose(
        demo.env, account_id, {"Rating": "Project Cancelled"}, "No reply to <b>three</b> emails"
    )
    page.get_by_role("link", name=re.compile("^Approvals")).click()
    article = page.locator(f"article[aria-labelledby='p{proposal}-h']")
    assert "No reply to <b>three</b> emails" in article.locator("blockquote").inner_text()
    assert article.locator("td code").nth(1).inner_text() == '"Project Cancelled"'
    page.screenshot(path=tmp_path / "approvals.png")
    article.get_by_label(re.compile("^Note")).fill("confirmed with the owner")
    page.keyboard.press("Tab")  # to "Approve and apply"
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == f"Approve and apply #{proposal}"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/approvals\?decided={proposal}$"))
    assert f"#{proposal} applied: Zoho answered SUCCESS" in page.get_by_role("status").inner_text()

    # It is in the sandbox's CRM: read back by another process, and on the account's page.
    record = json.loads(sergas(demo.env, "accounts", "get", account_id, "--json"))
    assert record["Rating"] == "Project Cancelled"
    page.goto(f"/accounts/{account_id}")
    assert "Project Cancelled" in page.locator("#crm-h + dl").inner_text()

    for shot in ("overview", "owner", "account", "approvals"):
        assert (tmp_path / f"{shot}.png").stat().st_size > 10_000


def test_a_read_key_cannot_approve(tab: Tab, demo: Demo) -> None:
    page = tab.page
    [account] = json.loads(sergas(demo.env, "accounts", "list", "--limit", "1", "--json"))
    proposal = propose(demo.env, account["id"], {"Rating": "Active"}, "try it")
    sign_in(page, demo.read_key)
    page.goto("/approvals")
    assert page.locator(f"article[aria-labelledby='p{proposal}-h']").is_visible()
    assert page.get_by_role("button", name=re.compile("Approve")).count() == 0
    # The browser posts anyway, with the session's cookie and its form token.
    token = page.locator("input[name=csrf]").first.get_attribute("value")
    answer = page.request.post(
        f"/approvals/{proposal}", form={"decision": "approve", "csrf": token or ""}
    )
    assert answer.status == 403
    page.reload()
    assert page.locator(f"article[aria-labelledby='p{proposal}-h']").is_visible()


def test_keyboard_first_stop_is_the_skip_link(tab: Tab, demo: Demo) -> None:
    page = tab.page
    sign_in(page, demo.read_key)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    assert page.locator("script").count() == 0
