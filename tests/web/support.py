"""What the dashboard tests share: signing in as a browser does, reading a page's parts."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx2


class Inputs(HTMLParser):
    """The hidden inputs of a page's forms: name -> value (the last one wins)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "input" and found.get("type") == "hidden" and found.get("name"):
            self.values[str(found["name"])] = found.get("value") or ""


def hidden(html: str) -> dict[str, str]:
    parser = Inputs()
    parser.feed(html)
    return parser.values


async def sign_in(client: httpx2.AsyncClient, key: str, next_path: str = "/") -> httpx2.Response:
    """The sign-in form, filled in and sent: the response is the redirect (303) or the form
    again with its error."""
    form = await client.get("/signin", params={"next": next_path})
    assert form.status_code == 200
    token = hidden(form.text)["form"]
    return await client.post(
        "/signin", data={"api_key": key, "form": token, "next": hidden(form.text)["next"]}
    )


def counts_shown(html: str) -> dict[str, int]:
    """The overview's count per status, as the page shows them."""
    found = re.findall(r'<span class="n" data-status="([^"]+)">([\d,]+)</span>', html)
    return {status.replace("&#39;", "'"): int(n.replace(",", "")) for status, n in found}
