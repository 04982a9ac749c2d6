"""Zoho Accounts' token endpoint: refresh, grant-code exchange, revoke.

This is where the HTTP library's exceptions and the Accounts server's answers become Sergas
errors. Only failures that prove the request never reached Zoho (connect errors, connect and
pool timeouts) are retried: a refresh that reached Zoho counts against its 10-per-10-minutes
limit whether or not we saw the answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx2
import stamina
from pydantic import SecretStr

from sergas import errors
from sergas.errors import error_from_zoho

__all__ = ["UNREACHABLE", "AccountsClient", "TokenGrant"]

UNREACHABLE = "ZOHO_UNREACHABLE"  # error code: the request never left this host
_NOT_SENT = (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout)


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """A successful answer of the token endpoint. `repr()` omits the tokens."""

    access_token: str = field(repr=False)
    expires_in: float
    api_domain: str | None
    refresh_token: str | None = field(default=None, repr=False)
    scope: str | None = None


class AccountsClient:
    """A client of `{accounts_url}/oauth/v2/token` for one OAuth client."""

    def __init__(
        self,
        accounts_url: str,
        client_id: str,
        client_secret: SecretStr,
        *,
        timeout: float = 10.0,
        connect_attempts: int = 3,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        self.accounts_url = accounts_url.rstrip("/")
        self.token_url = self.accounts_url + "/oauth/v2/token"
        self.client_id = client_id
        self._secret = client_secret
        self.timeout = timeout
        self.connect_attempts = connect_attempts
        self._transport = transport
        self._http: httpx2.AsyncClient | None = None

    def __repr__(self) -> str:
        return f"AccountsClient({self.accounts_url!r}, client_id={self.client_id!r})"

    async def refresh(self, refresh_token: str) -> TokenGrant:
        body = await self._post(
            self.token_url,
            {
                "grant_type": "refresh_token",
                "client_id": self.client_id,
                "client_secret": self._secret.get_secret_value(),
                "refresh_token": refresh_token,
            },
            what="the token refresh",
        )
        return _grant(body)

    async def exchange_code(self, code: str, redirect_uri: str | None = None) -> TokenGrant:
        """Exchange a (self-client) grant code for a refresh token and an access token."""
        data = {
            "grant_type": "authorization_code",
            "client_id": self.client_id,
            "client_secret": self._secret.get_secret_value(),
            "code": code,
        }
        if redirect_uri:
            data["redirect_uri"] = redirect_uri
        try:
            body = await self._post(self.token_url, data, what="the grant code")
        except errors.AuthError as exc:
            if exc.code != "invalid_code":
                raise
            raise errors.AuthError(
                "Zoho rejected the grant code (invalid_code): it was already used, has expired "
                "(grant codes live 3 minutes unless chosen longer) or belongs to another "
                "client; generate a new one in Zoho's API console",
                code="invalid_code",
            ) from None
        grant = _grant(body)
        if not grant.refresh_token:
            raise errors.AuthError(
                "Zoho Accounts returned no refresh_token for the grant code; create a new "
                "self-client grant code (with access_type=offline) and try again"
            )
        return grant

    async def revoke(self, token: str) -> None:
        body = await self._post(
            self.token_url + "/revoke", {"token": token}, what="the token revocation"
        )
        if body.get("status") != "success":
            raise error_from_zoho(
                str(body.get("error") or "invalid_token"),
                None,
                "Zoho Accounts refused to revoke the token",
                {},
            )

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def _post(self, url: str, data: dict[str, str], *, what: str) -> dict[str, Any]:
        if self._http is None:
            self._http = httpx2.AsyncClient(transport=self._transport, timeout=self.timeout)
        try:
            async for attempt in stamina.retry_context(
                on=_NOT_SENT,
                attempts=self.connect_attempts,
                timeout=self.timeout * self.connect_attempts,
                wait_initial=0.2,
                wait_max=2.0,
            ):
                with attempt:
                    response = await self._http.post(url, data=data)
        except _NOT_SENT as exc:
            raise errors.ConnectionError(
                f"cannot reach Zoho Accounts at {self.accounts_url} for {what}: "
                f"{type(exc).__name__}",
                code=UNREACHABLE,
            ) from None
        except httpx2.TimeoutException as exc:
            raise errors.TimeoutError(
                f"Zoho Accounts at {self.accounts_url} did not answer {what} within "
                f"{self.timeout:g} s ({type(exc).__name__})"
            ) from None
        except httpx2.TransportError as exc:
            raise errors.ConnectionError(
                f"the connection to Zoho Accounts at {self.accounts_url} failed during {what}: "
                f"{type(exc).__name__}"
            ) from None
        return _parse(response, what)


def _parse(response: httpx2.Response, what: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise error_from_zoho(
            None,
            response.status_code,
            f"Zoho Accounts answered {what} with HTTP {response.status_code} and no JSON body",
            {},
        )
    error = body.get("error")
    if error:
        description = body.get("error_description")
        message = f"Zoho Accounts rejected {what}"
        if description:
            message += f": {description}"
        raise error_from_zoho(str(error), response.status_code, message, {})
    if response.status_code >= 400:
        raise error_from_zoho(None, response.status_code, f"Zoho Accounts failed {what}", {})
    return body


def _grant(body: dict[str, Any]) -> TokenGrant:
    access = body.get("access_token")
    if not isinstance(access, str) or not access:
        raise errors.AuthError("Zoho Accounts answered without an access_token")
    expires_in = float(body.get("expires_in", 3600))
    if "expires_in_sec" in body:  # then expires_in is in milliseconds (see zoho-api.md §1)
        expires_in = float(body["expires_in_sec"])
    return TokenGrant(
        access_token=access,
        expires_in=expires_in,
        api_domain=body.get("api_domain"),
        refresh_token=body.get("refresh_token"),
        scope=body.get("scope"),
    )
