"""The screenshots in docs/dashboard.md: the demo (`make demo` twice, so there is a trend
and a previous run to compare with), an agent's proposal, each page in Chromium.

    .venv/bin/python -m tests.web.screenshots docs/images [ACCOUNTS]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright
from tests.web.demo import demo_service, propose, sweep
from tests.web.test_browser import ARGS, CHROMIUM

VIEWPORT = {"width": 1100, "height": 820}


def main(out: Path, accounts: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, demo_service(Path(tmp) / "data", accounts) as demo:
        sweep(demo.env)  # the second `make demo`
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            page = browser.new_page(base_url=demo.url, viewport=VIEWPORT)
            page.goto("/signin")
            page.screenshot(path=out / "dashboard-signin.png")
            page.get_by_label("API key").fill(demo.write_key)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url("**/")
            page.screenshot(path=out / "dashboard-overview.png")
            page.locator("#owners-h + table a").first.click()
            page.screenshot(path=out / "dashboard-owner.png")
            link = page.locator("#risk-h + table a[href^='/accounts/']").first
            account_id = (link.get_attribute("href") or "").rsplit("/", 1)[1]
            link.click()
            page.screenshot(path=out / "dashboard-account.png", full_page=True)
            propose(
                demo.env,
                account_id,
                {"Rating": "Project Cancelled", "Description": "Customer moved to a competitor"},
                "Three emails unanswered since the renewal call; the owner's notes say they "
                "signed elsewhere.",
            )
            page.goto("/approvals")
            page.screenshot(path=out / "dashboard-approvals.png")
            browser.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 10_000)
