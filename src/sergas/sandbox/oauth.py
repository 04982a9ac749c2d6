"""Zoho Accounts, emulated: grant codes, refresh tokens, access tokens and their limits."""

from __future__ import annotations

import secrets
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from sergas.sandbox.clock import Clock
from sergas.sandbox.config import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, SandboxConfig
from sergas.sandbox.errors import TOKEN_THROTTLE_DESCRIPTION, InvalidToken, OAuthError

MAX_ACTIVE_ACCESS_TOKENS = 15  # the 16th invalidates the oldest
GRANT_CODE_TTL = 180.0
SCOPE = (
    "ZohoCRM.modules.ALL ZohoCRM.settings.ALL ZohoCRM.users.READ ZohoCRM.org.READ "
    "ZohoCRM.coql.READ ZohoCRM.bulk.ALL ZohoSearch.securesearch.READ ZohoFiles.files.ALL"
)


@dataclass
class RefreshToken:
    token: str
    client_id: str
    user_id: str
    revoked: bool = False
    minted: deque[float] = field(default_factory=deque)  # times access tokens were minted
    active: deque[str] = field(default_factory=deque)


@dataclass
class AccessToken:
    token: str
    refresh_token: str
    user_id: str
    expires_at: float
    revoked: bool = False


@dataclass
class TokenStats:
    refreshes: int = 0
    code_grants: int = 0
    rejected: int = 0
    invalid_token_responses: int = 0


CRM_SCHEMES = ("zoho-oauthtoken",)  # Zoho's CRM APIs take only their own scheme
MCP_SCHEMES = ("zoho-oauthtoken", "bearer")  # MCP clients send Bearer, per the MCP spec


def bearer_token(authorization: str | None, schemes: tuple[str, ...] = MCP_SCHEMES) -> str:
    """The token in `<scheme> <t>` for one of `schemes`; empty for anything else."""
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() in schemes:
            return value.strip()
    return ""


class OAuthBackend:
    def __init__(self, config: SandboxConfig, clock: Clock, user_id: str) -> None:
        self.config = config
        self.clock = clock
        self.user_id = user_id
        self.stats = TokenStats()
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.grant_codes: dict[str, float] = {}
        self.refresh_tokens[REFRESH_TOKEN] = RefreshToken(REFRESH_TOKEN, CLIENT_ID, user_id)

    # -- Accounts server operations --------------------------------------------------

    def token(self, form: dict[str, str], api_domain: str) -> dict[str, Any]:
        """POST /oauth/v2/token: refresh_token and authorization_code grants."""
        self._check_client(form)
        grant = form.get("grant_type", "")
        if grant == "refresh_token":
            rt = self.refresh_tokens.get(form.get("refresh_token", ""))
            if rt is None or rt.revoked or rt.client_id != form.get("client_id"):
                raise OAuthError("invalid_code")
            access = self._mint(rt)
            self.stats.refreshes += 1
            return self._token_body(access, api_domain)
        if grant == "authorization_code":
            code = form.get("code", "")
            expires = self.grant_codes.pop(code, None)
            if expires is None or expires < self.clock.now():
                raise OAuthError("invalid_code")
            rt = RefreshToken(f"1000.{secrets.token_hex(20)}", CLIENT_ID, self.user_id)
            self.refresh_tokens[rt.token] = rt
            access = self._mint(rt)
            self.stats.code_grants += 1
            body = self._token_body(access, api_domain)
            body["refresh_token"] = rt.token
            return body
        raise OAuthError("unsupported_grant_type")

    def revoke(self, token: str) -> None:
        """POST /oauth/v2/token/revoke: a refresh token takes its access tokens with it."""
        rt = self.refresh_tokens.get(token)
        if rt is not None and not rt.revoked:
            rt.revoked = True
            for access in self.access_tokens.values():
                if access.refresh_token == token:
                    access.revoked = True
            return
        access_token = self.access_tokens.get(token)
        if access_token is not None and not access_token.revoked:
            access_token.revoked = True
            return
        raise OAuthError("invalid_token", status=400)

    def new_grant_code(self) -> str:
        code = f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"
        self.grant_codes[code] = self.clock.now() + GRANT_CODE_TTL
        return code

    def revoke_all_access_tokens(self) -> int:
        """Fault injection: every access token stops working at once."""
        count = 0
        for access in self.access_tokens.values():
            if not access.revoked:
                access.revoked = True
                count += 1
        return count

    # -- CRM side --------------------------------------------------------------------------

    def authenticate(
        self, authorization: str | None, schemes: tuple[str, ...] = CRM_SCHEMES
    ) -> AccessToken:
        """Check `Authorization: Zoho-oauthtoken <t>`; the MCP endpoint also takes Bearer."""
        access = self.access_tokens.get(bearer_token(authorization, schemes))
        if access is None or access.revoked or access.expires_at <= self.clock.now():
            self.stats.invalid_token_responses += 1
            raise InvalidToken()
        return access

    # -- internals -------------------------------------------------------------------------

    def _check_client(self, form: dict[str, str]) -> None:
        client_id = form.get("client_id")
        if client_id != CLIENT_ID:
            raise OAuthError("invalid_client")
        if form.get("client_secret") != CLIENT_SECRET:
            raise OAuthError("invalid_client_secret")

    def _mint(self, rt: RefreshToken) -> AccessToken:
        now = self.clock.now()
        window = self.config.refresh_window
        while rt.minted and rt.minted[0] <= now - window:
            rt.minted.popleft()
        if len(rt.minted) >= self.config.refresh_limit:
            self.stats.rejected += 1
            raise OAuthError("Access Denied", TOKEN_THROTTLE_DESCRIPTION)
        rt.minted.append(now)
        access = AccessToken(
            f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}",
            rt.token,
            rt.user_id,
            now + self.config.token_ttl,
        )
        self.access_tokens[access.token] = access
        rt.active.append(access.token)
        while len(rt.active) > MAX_ACTIVE_ACCESS_TOKENS:
            oldest = self.access_tokens.pop(rt.active.popleft(), None)
            if oldest is not None:
                oldest.revoked = True
        self._forget_expired(now)
        return access

    def _forget_expired(self, now: float) -> None:
        expired = [t for t, a in self.access_tokens.items() if a.expires_at <= now - 3600]
        for t in expired:
            del self.access_tokens[t]

    def _token_body(self, access: AccessToken, api_domain: str) -> dict[str, Any]:
        # api_domain must be the sandbox's own URL: given a real Zoho URL, the official SDK
        # switches its environment to real Zoho.
        return {
            "access_token": access.token,
            "scope": SCOPE,
            "api_domain": api_domain,
            "token_type": "Bearer",
            "expires_in": self.config.token_ttl,
        }
