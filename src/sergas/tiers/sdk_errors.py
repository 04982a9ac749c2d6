"""The one boundary where the official SDK's answers and exceptions become Sergas errors.

The SDK reports failure three ways: it raises `SDKException` (its own checks, and transport
errors as the exception's `cause`), returns an `APIException` model for Zoho's error answers
(one such class per SDK package, all of one shape), and for some failures only logs
"Exception in current API call execution" and returns None (`sdk_runtime` catches that
message). Every one of them becomes a `sergas.errors` class through `error_from_zoho()`'s
table, with messages passed through `redact()`; callers never see an SDK exception.
"""

from __future__ import annotations

from typing import Any

import requests
from zohocrmsdk.src.com.zoho.crm.api.exception import SDKException

from sergas import errors
from sergas.errors import SergasError, error_from_zoho
from sergas.tiers.sdk_convert import choice_text, to_plain

__all__ = [
    "CLIENT_SIDE_CODES",
    "api_error",
    "checked",
    "is_api_exception",
    "sdk_error",
    "zoho_code",
]

# SDKException codes for values the SDK refused before sending anything.
_CLIENT_SIDE = frozenset(
    {
        "DATA TYPE ERROR",
        "TYPE ERROR",
        "UNACCEPTED VALUES ERROR",
        "MINIMUM LENGTH ERROR",
        "MAXIMUM LENGTH ERROR",
        "REGEX MISMATCH ERROR",
        "UNIQUE KEY ERROR",
        "MANDATORY VALUE ERROR",
        "MANDATORY VALUE NULL ERROR",
    }
)
# The same codes as Sergas reports them (InvalidDataError.code).
CLIENT_SIDE_CODES = frozenset(code.replace(" ", "_") for code in _CLIENT_SIDE)


def is_api_exception(value: Any) -> bool:
    """Every SDK package has its own APIException model; they share the shape."""
    return type(value).__name__ == "APIException" and hasattr(value, "get_code")


def zoho_code(value: Any) -> str | None:
    if not is_api_exception(value):
        return None
    return choice_text(value.get_code())


def checked(response: Any) -> Any:
    """The response's model, or the Sergas error for Zoho's error answer; None for 204/304."""
    value = response.get_object()
    if is_api_exception(value):
        raise api_error(value, response.get_status_code())
    return value


def api_error(exc: Any, status: int | None) -> SergasError:
    details = to_plain(exc.get_details()) if hasattr(exc, "get_details") else {}
    return error_from_zoho(
        choice_text(exc.get_code()) or None,
        status,
        choice_text(exc.get_message()),
        details if isinstance(details, dict) else {"details": details},
    )


def sdk_error(exc: BaseException) -> SergasError:
    """The Sergas error for an SDKException (and whatever caused it)."""
    root = exc
    while isinstance(root, SDKException) and root.cause is not None:
        root = root.cause
    if isinstance(root, SergasError):
        return root
    if isinstance(root, requests.Timeout):
        return errors.TimeoutError(f"Zoho did not answer in time: {root}")
    if isinstance(root, requests.RequestException):
        return errors.ConnectionError(f"Zoho could not be reached: {root}")
    code = _first_code(exc)
    answer = _api_answer(exc)
    if answer is not None:  # a Zoho error answer the SDK met inside a call (field metadata)
        return answer
    text = str(exc)
    if code in _CLIENT_SIDE:
        details = getattr(exc, "details", None)
        return errors.InvalidDataError(
            f"the Zoho SDK refused the request: {text}",
            code=code.replace(" ", "_"),
            details=details if isinstance(details, dict) else {},
        )
    return SergasError(f"the Zoho SDK failed: {text}", code="SDK_ERROR", tier_health=True)


def _api_answer(exc: BaseException) -> SergasError | None:
    current: BaseException | None = exc
    while isinstance(current, SDKException):
        details = current.details
        if current.code == "API_EXCEPTION" and isinstance(details, dict) and details.get("code"):
            return error_from_zoho(
                choice_text(details["code"]), None, choice_text(details.get("message")), {}
            )
        current = current.cause
    return None


def _first_code(exc: BaseException) -> str:
    current: BaseException | None = exc
    while isinstance(current, SDKException):
        if current.code:
            return str(current.code)
        current = current.cause
    return ""
