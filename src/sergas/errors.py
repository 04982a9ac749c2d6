"""Sergas's one exception hierarchy, and the one table that maps Zoho's errors onto it.

```
SergasError                      code, http_status, details, retryable, tier_health, message
├── AuthError                    credentials, scopes or permissions were refused
│   ├── TokenExpiredError        the access token is invalid or expired (refresh and resend)
│   └── PermissionDeniedError    the caller's context forbids the operation; nothing was sent
├── RateLimitError               Zoho said "slow down" (API credits, concurrency, token throttle)
│   ├── SlotTimeoutError         no slot of the org's concurrency within the caller's deadline
│   └── CreditReserveError       background work refused: the org's credits are at the reserve
├── NotFoundError                the module, record or job does not exist
├── InvalidDataError             Zoho rejected the request's content
│   └── UnsupportedError         this tier has no way to do it (nothing sent): try another tier
├── LimitExceededError           the request breaks a documented size limit (fields, records, ...)
├── ConnectionError              Zoho could not be reached
├── TimeoutError                 Zoho did not answer in time
├── ServerError                  Zoho failed (5xx, INTERNAL_ERROR)
├── BulkOperationError           some records of a batch failed; `results` holds every outcome
├── CircuitOpenError             a tier's breaker is open; the call was not attempted
├── ConfigError                  a setting is missing or invalid
│   └── TokenKeyMissingError     stored tokens, but not the key that decrypts them
└── DatabaseError                the token database failed or is unreachable
```

`retryable` says whether the same request may succeed if sent again later; `tier_health`
says whether the error counts against the health of the tier that produced it (a business error
such as INVALID_DATA does not; a 5xx does). `retried` says the layer that raised it has already
retried as its own policy allows (a token refresh retries its connection itself): a retry
loop around it must not try again, or the attempts multiply. `shared_failure()` marks a
failure every tier would meet alike (no access token): retried, and not the tier's health.
`ConnectionError` and `TimeoutError` deliberately shadow the builtins inside this module:
callers write `errors.ConnectionError`.

`error_from_zoho()` is the single place where Zoho's codes (CRM's upper-case codes and the
Accounts server's `error` values) and HTTP statuses become these classes; every tier uses it.
Messages and details pass through `redact()`, so an error never carries a token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

__all__ = [
    "ZOHO_ERRORS",
    "AuthError",
    "BulkOperationError",
    "CircuitOpenError",
    "ConfigError",
    "ConnectionError",
    "CoordinationError",
    "CreditReserveError",
    "DatabaseError",
    "InvalidDataError",
    "LimitExceededError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "SergasError",
    "ServerError",
    "SlotTimeoutError",
    "TimeoutError",
    "TokenExpiredError",
    "TokenKeyMissingError",
    "UnsupportedError",
    "ZohoErrorRule",
    "error_from_zoho",
    "explain",
    "redact",
    "shared_failure",
]

# Zoho tokens look like `1000.<hex>.<hex>`; anything shaped like one, or like a header value
# carrying one, is replaced before it can reach a message. Client ids (`1000.` and upper-case
# letters and digits) are not secret and stay readable: a token has a lower-case letter.
_TOKEN_PATTERNS = (
    re.compile(r"(?i)(zoho-oauthtoken|bearer)\s+\S+"),
    re.compile(r"\b1000\.(?=[A-Za-z0-9._-]*[a-z])[A-Za-z0-9._-]{12,}"),
)
REDACTED = "[redacted]"


def redact(value: Any) -> Any:
    """Return `value` with anything shaped like a Zoho token replaced; recurses into dicts/lists."""
    if isinstance(value, str):
        for pattern in _TOKEN_PATTERNS:
            value = pattern.sub(REDACTED, value)
        return value
    if isinstance(value, dict):
        return {k: REDACTED if _secret_key(k) else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


def _secret_key(key: object) -> bool:
    name = str(key).lower()
    return any(s in name for s in ("token", "secret", "authorization", "password"))


class SergasError(Exception):
    """Base of every error Sergas raises. Attributes are safe to log: they never hold a token."""

    default_code: ClassVar[str] = "SERGAS_ERROR"
    default_retryable: ClassVar[bool] = False
    default_tier_health: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        http_status: int | None = None,
        details: dict[str, Any] | None = None,
        retryable: bool | None = None,
        tier_health: bool | None = None,
        retried: bool = False,
    ) -> None:
        self.message: str = redact(message)
        self.code: str = code or self.default_code
        self.http_status = http_status
        self.details: dict[str, Any] = redact(details or {})
        self.retryable = self.default_retryable if retryable is None else retryable
        self.tier_health = self.default_tier_health if tier_health is None else tier_health
        self.retried = retried
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class AuthError(SergasError):
    default_code = "AUTHENTICATION_FAILURE"


class TokenExpiredError(AuthError):
    default_code = "INVALID_TOKEN"
    default_retryable = True


class PermissionDeniedError(AuthError):
    """Refused by Sergas before any call (e.g. a read-only MCP context asked to update):
    not Zoho's answer, so it says nothing about the tier's health."""

    default_code = "PERMISSION_DENIED"


class RateLimitError(SergasError):
    """Zoho throttled us. `retry_after` is in seconds when known."""

    default_code = "TOO_MANY_REQUESTS"
    default_retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class SlotTimeoutError(RateLimitError):
    """Sergas held the call back (nothing was sent): every slot of the org's concurrency stayed
    busy past the caller's deadline. Not retried here; the caller may try again later."""

    default_code = "SLOT_TIMEOUT"
    default_retryable = False


class CreditReserveError(RateLimitError):
    """Background work refused before sending: the org's remaining daily credits are at or
    below SERGAS_CREDIT_RESERVE, which is kept for interactive calls."""

    default_code = "CREDIT_RESERVE"
    default_retryable = False


class NotFoundError(SergasError):
    default_code = "RESOURCE_NOT_FOUND"


class InvalidDataError(SergasError):
    default_code = "INVALID_DATA"


class UnsupportedError(InvalidDataError):
    """The tier has no way to do this at all (Zoho's MCP endpoint has no create or users
    tool): nothing was sent. Not the tier's health, yet the manager moves on to the next
    tier for it, as another tier can do what this one cannot."""

    default_code = "NOT_SUPPORTED_ON_TIER"


class LimitExceededError(SergasError):
    default_code = "LIMIT_EXCEEDED"


class ConnectionError(SergasError):
    default_code = "CONNECTION_ERROR"
    default_retryable = True
    default_tier_health = True


class TimeoutError(SergasError):
    default_code = "TIMEOUT"
    default_retryable = True
    default_tier_health = True


class ServerError(SergasError):
    default_code = "INTERNAL_ERROR"
    default_retryable = True
    default_tier_health = True


class BulkOperationError(SergasError):
    """Part of a batch failed. `results` holds one outcome per input record, in input order."""

    default_code = "BULK_PARTIAL_FAILURE"

    def __init__(self, message: str, *, results: list[dict[str, Any]], **kw: Any) -> None:
        super().__init__(message, **kw)
        self.results = results


class CircuitOpenError(SergasError):
    default_code = "CIRCUIT_OPEN"
    default_retryable = True


class ConfigError(SergasError):
    default_code = "CONFIG_ERROR"


class TokenKeyMissingError(ConfigError):
    """Encrypted tokens are stored, but the key that decrypts them is not there. Sergas will
    not make a new key over them; the message says how to recover."""

    default_code = "TOKEN_KEY_MISSING"


class DatabaseError(SergasError):
    default_code = "DATABASE_ERROR"
    default_retryable = True


class CoordinationError(SergasError):
    """The org's shared limits (SERGAS_REDIS_URL) could not be reached, so background work
    is refused rather than sent unaccounted; interactive calls fall back to this process's
    own limits."""

    default_code = "COORDINATION_UNAVAILABLE"


# Zoho's error details, in the order a reader needs them: what was wrong, then what is allowed.
_DETAIL_TEXT: tuple[tuple[str, str], ...] = (
    ("api_name", "field {}"),
    ("param_name", "parameter {}"),
    ("param_names", "parameters {}"),
    ("operator", "operator {}"),
    ("expected_data_type", "expects {}"),
    ("maximum_length", "at most {} characters"),
    ("limit", "limit {}"),
    ("reason", "{}"),
    ("supported_values", "allowed: {}"),
)


def explain(exc: SergasError) -> str:
    """The error in one line for a person: its message and code (Zoho's text and code for
    Zoho's answers), then what Zoho's details say: the field or parameter, the expected type
    or limit, the reason, the allowed values. Zoho's text is kept as sent (a caller that
    renders markup must escape it)."""
    parts = []
    for key, template in _DETAIL_TEXT:
        value = exc.details.get(key)
        if value is None or value == "" or value == []:
            continue
        if isinstance(value, list | tuple):
            value = ", ".join(str(v) for v in value)
        text = template.format(value)
        if text not in exc.message:
            parts.append(text)
    message = exc.message
    if exc.code and exc.code not in message:
        message = f"{message} ({exc.code})"
    return f"{message}: {'; '.join(parts)}" if parts else message


def shared_failure(exc: SergasError) -> SergasError:
    """`exc`, marked as a failure no other tier and no immediate retry can avoid: the
    access token every tier shares could not be had (its refresh has retried what it may).
    Routing then raises it at once, from the first tier, without counting it against that
    tier's breaker, and the tiers' request retries do not repeat it."""
    exc.retried = True
    exc.tier_health = False
    return exc


@dataclass(frozen=True, slots=True)
class ZohoErrorRule:
    """How one Zoho error code maps onto Sergas: class, flags, and a hint for the user."""

    cls: type[SergasError]
    retryable: bool | None = None
    tier_health: bool | None = None
    hint: str = ""


_LOGIN_HINT = "Run `sergas auth login` to store a new refresh token."
_CLIENT_HINT = "Check ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET and ZOHO_REGION / ZOHO_ACCOUNTS_URL."

# The table. Keys are Zoho's codes exactly as sent: CRM's upper-case codes, and the
# Accounts server's `error` values (which arrive with HTTP 200).
ZOHO_ERRORS: dict[str, ZohoErrorRule] = {
    # CRM authentication and permission
    "INVALID_TOKEN": ZohoErrorRule(TokenExpiredError),
    "INVALID_OAUTHTOKEN": ZohoErrorRule(TokenExpiredError),
    "AUTHENTICATION_FAILURE": ZohoErrorRule(AuthError, hint=_LOGIN_HINT),
    "OAUTH_SCOPE_MISMATCH": ZohoErrorRule(
        AuthError, hint="The token lacks a scope this call needs; log in with wider scopes."
    ),
    "NO_PERMISSION": ZohoErrorRule(AuthError),
    "AUTHORIZATION_FAILED": ZohoErrorRule(AuthError),
    # CRM request content
    "INVALID_MODULE": ZohoErrorRule(NotFoundError),
    "INVALID_URL_PATTERN": ZohoErrorRule(NotFoundError),
    "RESOURCE_NOT_FOUND": ZohoErrorRule(NotFoundError),
    "INVALID_DATA": ZohoErrorRule(InvalidDataError),
    "MANDATORY_NOT_FOUND": ZohoErrorRule(InvalidDataError),
    "DUPLICATE_DATA": ZohoErrorRule(InvalidDataError),
    "REQUIRED_PARAM_MISSING": ZohoErrorRule(InvalidDataError),
    "EXPECTED_PARAM_MISSING": ZohoErrorRule(InvalidDataError),
    "INVALID_QUERY": ZohoErrorRule(InvalidDataError),
    "SYNTAX_ERROR": ZohoErrorRule(InvalidDataError),
    "AMBIGUITY_DURING_PROCESSING": ZohoErrorRule(InvalidDataError),
    "TOKEN_BOUND_DATA_MISMATCH": ZohoErrorRule(InvalidDataError),
    "EXPIRED_VALUE": ZohoErrorRule(InvalidDataError),
    "NOT_SUPPORTED": ZohoErrorRule(InvalidDataError),
    "DEPENDENT_FIELD_MISSING": ZohoErrorRule(InvalidDataError),
    "RECORD_LOCKED": ZohoErrorRule(InvalidDataError, retryable=True),
    "ALREADY_MODIFIED": ZohoErrorRule(InvalidDataError),
    # CRM limits
    "LIMIT_EXCEEDED": ZohoErrorRule(LimitExceededError),
    "LIMIT_REACHED": ZohoErrorRule(LimitExceededError),
    "CRITERIA_LIMIT_EXCEEDED": ZohoErrorRule(LimitExceededError),
    "DISCRETE_PAGINATION_LIMIT_EXCEEDED": ZohoErrorRule(LimitExceededError),
    "PAGINATION_LIMIT_EXCEEDED": ZohoErrorRule(LimitExceededError),
    "FILE_TOO_LARGE": ZohoErrorRule(LimitExceededError),
    "TOO_MANY_REQUESTS": ZohoErrorRule(RateLimitError),
    # CRM server side
    "INTERNAL_ERROR": ZohoErrorRule(ServerError),
    "SERVICE_UNAVAILABLE": ZohoErrorRule(ServerError),
    # Accounts server (token endpoint); these arrive as HTTP 200 {"error": ...}
    "invalid_code": ZohoErrorRule(
        AuthError,
        hint="The grant code or refresh token is invalid, used or revoked. " + _LOGIN_HINT,
    ),
    "invalid_client": ZohoErrorRule(AuthError, hint=_CLIENT_HINT),
    "invalid_client_secret": ZohoErrorRule(AuthError, hint=_CLIENT_HINT),
    "invalid_redirect_uri": ZohoErrorRule(AuthError, hint=_CLIENT_HINT),
    "invalid_token": ZohoErrorRule(AuthError),  # revoke of an unknown or revoked token
    "access_denied": ZohoErrorRule(RateLimitError),
    "Access Denied": ZohoErrorRule(
        RateLimitError,
        hint="Zoho allows 10 access tokens per refresh token in 10 minutes; wait and retry.",
    ),
}

# When the code is unknown, the HTTP status decides.
_BY_STATUS: dict[int, ZohoErrorRule] = {
    400: ZohoErrorRule(InvalidDataError),
    401: ZohoErrorRule(AuthError),
    403: ZohoErrorRule(AuthError),
    404: ZohoErrorRule(NotFoundError),
    408: ZohoErrorRule(TimeoutError),
    413: ZohoErrorRule(LimitExceededError),
    415: ZohoErrorRule(InvalidDataError),
    429: ZohoErrorRule(RateLimitError),
}
_SERVER = ZohoErrorRule(ServerError)
_UNKNOWN = ZohoErrorRule(SergasError)


def error_from_zoho(
    code: str | None, status: int | None, message: str, details: dict[str, Any]
) -> SergasError:
    """Build the Sergas error for a Zoho error answer (CRM or Accounts server).

    The resulting message reads "<message> (<code>)" plus the rule's hint, if any.
    """
    rule = ZOHO_ERRORS.get(code or "")
    if rule is None and status is not None:
        rule = _BY_STATUS.get(status, _SERVER if status >= 500 else None)
    rule = rule or _UNKNOWN
    text = message or "Zoho returned an error"
    if code:
        text = f"{text} ({code})"
    if rule.hint:
        text = f"{text}. {rule.hint}"
    kwargs: dict[str, Any] = {
        "code": code or rule.cls.default_code,
        "http_status": status,
        "details": details,
        "retryable": rule.retryable,
        "tier_health": rule.tier_health,
    }
    if rule.cls is RateLimitError:
        retry_after = details.get("retry_after") if details else None
        return RateLimitError(
            text, retry_after=float(retry_after) if retry_after else None, **kwargs
        )
    return rule.cls(text, **kwargs)
