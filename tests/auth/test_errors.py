"""The error hierarchy and the one Zoho error table."""

from __future__ import annotations

import pytest

from sergas import errors
from sergas.errors import (
    ZOHO_ERRORS,
    AuthError,
    InvalidDataError,
    LimitExceededError,
    NotFoundError,
    RateLimitError,
    SergasError,
    ServerError,
    TokenExpiredError,
    error_from_zoho,
    redact,
)


@pytest.mark.parametrize(
    ("code", "status", "cls", "retryable", "tier_health"),
    [
        ("INVALID_TOKEN", 401, TokenExpiredError, True, False),
        ("AUTHENTICATION_FAILURE", 401, AuthError, False, False),
        ("OAUTH_SCOPE_MISMATCH", 401, AuthError, False, False),
        ("NO_PERMISSION", 403, AuthError, False, False),
        ("INVALID_MODULE", 400, NotFoundError, False, False),
        ("INVALID_DATA", 400, InvalidDataError, False, False),
        ("MANDATORY_NOT_FOUND", 400, InvalidDataError, False, False),
        ("DUPLICATE_DATA", 400, InvalidDataError, False, False),
        ("LIMIT_EXCEEDED", 400, LimitExceededError, False, False),
        ("TOO_MANY_REQUESTS", 429, RateLimitError, True, False),
        ("INTERNAL_ERROR", 500, ServerError, True, True),
        ("RESOURCE_NOT_FOUND", 404, NotFoundError, False, False),
        ("invalid_code", 200, AuthError, False, False),
        ("invalid_client", 200, AuthError, False, False),
        ("invalid_client_secret", 200, AuthError, False, False),
        ("Access Denied", 200, RateLimitError, True, False),
    ],
)
def test_zoho_codes_map_to_classes(
    code: str, status: int, cls: type[SergasError], retryable: bool, tier_health: bool
) -> None:
    err = error_from_zoho(code, status, "zoho said no", {"api_name": "Email"})
    assert type(err) is cls
    assert (err.code, err.http_status) == (code, status)
    assert (err.retryable, err.tier_health) == (retryable, tier_health)
    assert err.details == {"api_name": "Email"}
    assert str(err).startswith(f"zoho said no ({code})")


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, InvalidDataError),
        (401, AuthError),
        (404, NotFoundError),
        (429, RateLimitError),
        (502, ServerError),
        (418, SergasError),
    ],
)
def test_unknown_codes_fall_back_to_the_status(status: int, cls: type[SergasError]) -> None:
    assert type(error_from_zoho("SOMETHING_NEW", status, "x", {})) is cls


def test_hints_tell_the_user_what_to_do() -> None:
    assert "sergas auth login" in str(error_from_zoho("invalid_code", 200, "x", {}))
    assert "ZOHO_CLIENT_SECRET" in str(error_from_zoho("invalid_client_secret", 200, "x", {}))


def test_every_rule_builds() -> None:
    for code in ZOHO_ERRORS:
        assert isinstance(error_from_zoho(code, None, "m", {}), SergasError)


def test_rate_limit_keeps_retry_after() -> None:
    err = error_from_zoho("TOO_MANY_REQUESTS", 429, "slow down", {"retry_after": "30"})
    assert isinstance(err, RateLimitError)
    assert err.retry_after == 30.0


def test_messages_and_details_are_redacted() -> None:
    token = "1000.9f2c41d0a7e64b1c8d3e5f6a7b8c9d0e.2b7e151628aed2a6abf7158809cf4f3c"
    err = errors.AuthError(
        f"failed with Authorization: Zoho-oauthtoken {token}",
        details={"access_token": "anything", "nested": [f"got {token}"], "ok": 1},
    )
    text = f"{err}{err!r}{err.details}"
    assert token not in text
    assert "anything" not in text
    assert err.details["ok"] == 1
    assert redact({"client_secret": "s"}) == {"client_secret": "[redacted]"}


def test_hierarchy() -> None:
    for cls in (
        errors.ConnectionError,
        errors.TimeoutError,
        errors.CircuitOpenError,
        errors.ConfigError,
        errors.DatabaseError,
        errors.BulkOperationError,
    ):
        assert issubclass(cls, SergasError)
    assert issubclass(TokenExpiredError, AuthError)
    bulk = errors.BulkOperationError("2 of 3 failed", results=[{"status": "success"}])
    assert bulk.results == [{"status": "success"}]


def test_client_ids_stay_readable() -> None:
    assert redact("client 1000.SERGASSANDBOXCLIENT") == "client 1000.SERGASSANDBOXCLIENT"
    assert redact("rt 1000.sergas-sandbox-refresh-token") == "rt [redacted]"
