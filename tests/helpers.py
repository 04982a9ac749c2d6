"""Small helpers shared by tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx2
from starlette.applications import Starlette

from sergas.sandbox.config import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN
from sergas.sandbox.server import asgi_client

REFRESH_FORM = {
    "grant_type": "refresh_token",
    "client_id": CLIENT_ID,
    "client_secret": CLIENT_SECRET,
    "refresh_token": REFRESH_TOKEN,
}


async def new_token(client: httpx2.AsyncClient) -> str:
    response = await client.post("/oauth/v2/token", data=REFRESH_FORM)
    token: str = response.json()["access_token"]
    return token


async def reauthorize(client: httpx2.AsyncClient) -> None:
    """Swap the client's token for a fresh one (after a clock move or a reset)."""
    client.headers["Authorization"] = f"Zoho-oauthtoken {await new_token(client)}"


@asynccontextmanager
async def authed_client(app: Starlette) -> AsyncIterator[httpx2.AsyncClient]:
    async with asgi_client(app) as client:
        await reauthorize(client)
        yield client
