"""Zoho's error codes as tiny exception classes, rendered into Zoho's error JSON in one place.

Every error the sandbox returns is one of these. A backend method raises; the HTTP layer
(`sergas.sandbox.http`) catches `ZohoError` and renders it with `to_json()`, either at the top
level or, for record writes, as one item of `{"data": [...]}` (`per_item`).

The codes, statuses and messages follow Zoho's own (see docs/sandbox.md).
"""

from __future__ import annotations

from typing import Any, ClassVar


class ZohoError(Exception):
    """Base: an error Zoho CRM returns as `{"code","details","message","status":"error"}`."""

    code: ClassVar[str] = "INTERNAL_ERROR"
    http_status: ClassVar[int] = 500
    default_message: ClassVar[str] = "Internal server error occurred."

    def __init__(
        self,
        message: str | None = None,
        details: dict[str, Any] | None = None,
        *,
        status: int | None = None,
        per_item: bool = False,
    ) -> None:
        self.message = message or self.default_message
        self.details = details if details is not None else {}
        self.status = status or self.http_status
        self.per_item = per_item
        super().__init__(f"{self.code}: {self.message}")

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "details": self.details,
            "message": self.message,
            "status": "error",
        }


def _error(code: str, status: int, message: str) -> type[ZohoError]:
    return type(
        code.title().replace("_", "") + "Error",
        (ZohoError,),
        {"code": code, "http_status": status, "default_message": message, "__module__": __name__},
    )


# One class per Zoho code. Declared as data: they differ only in code, status and message.
InvalidToken = _error("INVALID_TOKEN", 401, "invalid oauth token")
AuthenticationFailure = _error("AUTHENTICATION_FAILURE", 401, "Authentication failed")
OAuthScopeMismatch = _error("OAUTH_SCOPE_MISMATCH", 401, "Unauthorized")
NoPermission = _error("NO_PERMISSION", 403, "permission denied")
InvalidUrlPattern = _error(
    "INVALID_URL_PATTERN", 404, "Please check if the URL trying to access is a correct one"
)
InvalidRequestMethod = _error(
    "INVALID_REQUEST_METHOD", 400, "The http request method type is not a valid one"
)
InvalidModule = _error("INVALID_MODULE", 400, "the module name given seems to be invalid")
RequiredParamMissing = _error("REQUIRED_PARAM_MISSING", 400, "required param is missing")
ExpectedParamMissing = _error(
    "EXPECTED_PARAM_MISSING", 400, "One of the expected parameter is missing"
)
InvalidData = _error("INVALID_DATA", 400, "invalid data")
MandatoryNotFound = _error("MANDATORY_NOT_FOUND", 400, "required field not found")
DuplicateData = _error("DUPLICATE_DATA", 400, "duplicate data")
LimitExceeded = _error("LIMIT_EXCEEDED", 400, "limit exceeded")
LimitReached = _error("LIMIT_REACHED", 400, "maximum response iteration limit reached")
DiscretePaginationLimitExceeded = _error(
    "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
    400,
    "You can only get the first 2000 records without using page_token param",
)
PaginationLimitExceeded = _error(
    "PAGINATION_LIMIT_EXCEEDED", 400, "You can only get upto 100000 records using page_token param"
)
TokenBoundDataMismatch = _error(
    "TOKEN_BOUND_DATA_MISMATCH", 400, "The given page_token does not match the request"
)
ExpiredValue = _error("EXPIRED_VALUE", 400, "Page token expired")
AmbiguityDuringProcessing = _error(
    "AMBIGUITY_DURING_PROCESSING", 400, "ambiguity while processing the request"
)
InvalidQuery = _error("INVALID_QUERY", 400, "invalid query formed")
SyntaxErrorCoql = _error("SYNTAX_ERROR", 400, "error occured while parsing the query")
CriteriaLimitExceeded = _error(
    "CRITERIA_LIMIT_EXCEEDED", 400, "no of criterium that can be given exceed the limit 15"
)
NotSupported = _error("NOT_SUPPORTED", 400, "The given module is not supported in API")
TooManyRequests = _error("TOO_MANY_REQUESTS", 429, "too many requests")
InternalError = _error("INTERNAL_ERROR", 500, "Internal Server Error")
ServiceUnavailable = _error("SERVICE_UNAVAILABLE", 503, "Service temporarily unavailable")
ResourceNotFound = _error("RESOURCE_NOT_FOUND", 404, "the requested resource was not found")
MediaTypeNotSupported = _error(
    "MEDIA_TYPE_NOT_SUPPORTED", 415, "The Content-Type of the request is not supported"
)
InvalidRequest = _error("INVALID_REQUEST", 400, "the request is invalid")
FileTooLarge = _error("FILE_TOO_LARGE", 413, "file size exceeds the limit of 25 MB")
InvalidFileFormat = _error(
    "INVALID_FILE_FORMAT", 400, "invalid file format. only zip format is supported"
)
NotSupportedFeature = _error("NOT_SUPPORTED_FEATURE", 400, "Feature is not supported")
FileNotFound = _error("FILE_NOT_FOUND", 400, "the file id given seems to be invalid")
MissingRequiredKey = _error("MISSING_REQUIRED_KEY", 400, "required key is missing")
ModuleNotAvailable = _error("MODULE_NOT_AVAILABLE", 400, "the module is not available")
InvalidCriteria = _error("INVALID_CRITERIA", 400, "the criteria given seems to be invalid")


class OAuthError(Exception):
    """An Accounts-server error: Zoho answers HTTP 200 with `{"error": code}`."""

    def __init__(self, error: str, description: str | None = None, status: int = 200) -> None:
        self.error = error
        self.description = description
        self.status = status
        super().__init__(error)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
            body["status"] = "failure"
        return body


TOKEN_THROTTLE_DESCRIPTION = (
    "You have made too many requests continuously. Please try again after some time."
)
