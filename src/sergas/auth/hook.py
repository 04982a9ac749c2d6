"""The auth hook of every httpx2 client that calls Zoho: `Authorization: <scheme> <token>`, and
one de-duplicated refresh plus one resend when Zoho answers 401 INVALID_TOKEN.

The scheme is Zoho's own `Zoho-oauthtoken` for the CRM APIs (REST tier, and anything else
that calls them over httpx2) and `Bearer` for a Zoho MCP endpoint (MCP tier); the flow is
the same for both.

Every request also carries `X-Sergas-Client: <host>:<pid>` (whose calls these are, for
Zoho's logs and the sandbox's per-client counts), and every answer's headers go to
`sergas.org.client.observe_headers` (Zoho's count of the org's remaining credits).

Locks live inside TokenManager calls; none is held while the request is in flight (across a
`yield`), so one slow request never stalls the others.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator

import httpx2

from sergas.auth.manager import TokenManager
from sergas.org.client import CLIENT_HEADER, client_id, observe_headers

__all__ = ["BEARER", "ZOHO_OAUTHTOKEN", "ZohoAuth", "is_invalid_token"]

ZOHO_OAUTHTOKEN = "Zoho-oauthtoken"  # Zoho's CRM APIs
BEARER = "Bearer"  # Zoho's MCP endpoints


def is_invalid_token(response: httpx2.Response) -> bool:
    """True for Zoho's 401 INVALID_TOKEN answer (the body must have been read)."""
    if response.status_code != 401:
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("code") in ("INVALID_TOKEN", "INVALID_OAUTHTOKEN")


class ZohoAuth(httpx2.Auth):
    """`httpx2.AsyncClient(auth=ZohoAuth(manager))`, or `ZohoAuth(manager, scheme=BEARER)`
    for an MCP endpoint. Async clients only: the token manager is async (a sync client raises
    TypeError)."""

    requires_request_body = True  # a resend needs the body again

    def __init__(
        self, manager: TokenManager, user: str | None = None, *, scheme: str = ZOHO_OAUTHTOKEN
    ) -> None:
        self.manager = manager
        self.user = user
        self.scheme = scheme
        # The refresh's audit reason says which kind of call found the token refused.
        self.reason = "401 INVALID_TOKEN" if scheme == ZOHO_OAUTHTOKEN else "MCP 401 INVALID_TOKEN"

    def __repr__(self) -> str:
        return f"ZohoAuth(user={self.user or self.manager.user!r}, scheme={self.scheme!r})"

    async def async_auth_flow(
        self, request: httpx2.Request
    ) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        await request.aread()
        token = await self.manager.get_access_token(self.user)
        request.headers["Authorization"] = f"{self.scheme} {token}"
        request.headers[CLIENT_HEADER] = client_id()
        response = yield request
        observe_headers(response.headers)
        if response.status_code != 401:
            return
        await response.aread()
        if not is_invalid_token(response):
            return
        fresh = await self.manager.force_refresh(self.reason, token, self.user)
        request.headers["Authorization"] = f"{self.scheme} {fresh}"
        yield request

    def sync_auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        raise TypeError("ZohoAuth works with httpx2.AsyncClient only")
