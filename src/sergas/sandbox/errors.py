"""Zoho's error codes as tiny exception classes, rendered into Zoho's error JSON in one place.

Every error the sandbox returns is one of these. A backend method raises; the HTTP layer
(`sergas.sandbox.http`) catches `ZohoError` and renders it with `to_json()`, either at the top
level or, for record writes, as one item of `{"data": [...]}` (`per_item`).

The codes, statuses and messages follow Zoho's own (see docs/sandbox.md). One class here is
not Zoho's: `SandboxStartError`, raised to the program that starts a sandbox process
(`sergas.sandbox.server.serve_sandbox_process`) when it does not come up.
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


def zoho_error(code: str, status: int, message: str) -> type[ZohoError]:
    """A class for one Zoho error code: they differ only in code, status and message."""
    return type(
        code.title().replace("_", "") + "Error",
        (ZohoError,),
        {"code": code, "http_status": status, "default_message": message, "__module__": __name__},
    )


# One class per Zoho code. Declared as data: they differ only in code, status and message.
InvalidToken = zoho_error("INVALID_TOKEN", 401, "invalid oauth token")
AuthenticationFailure = zoho_error("AUTHENTICATION_FAILURE", 401, "Authentication failed")
OAuthScopeMismatch = zoho_error("OAUTH_SCOPE_MISMATCH", 401, "Unauthorized")
NoPermission = zoho_error("NO_PERMISSION", 403, "permission denied")
InvalidUrlPattern = zoho_error(
    "INVALID_URL_PATTERN", 404, "Please check if the URL trying to access is a correct one"
)
InvalidRequestMethod = zoho_error(
    "INVALID_REQUEST_METHOD", 400, "The http request method type is not a valid one"
)
InvalidModule = zoho_error("INVALID_MODULE", 400, "the module name given seems to be invalid")
RequiredParamMissing = zoho_error("REQUIRED_PARAM_MISSING", 400, "required param is missing")
ExpectedParamMissing = zoho_error(
    "EXPECTED_PARAM_MISSING", 400, "One of the expected parameter is missing"
)
InvalidData = zoho_error("INVALID_DATA", 400, "invalid data")
MandatoryNotFound = zoho_error("MANDATORY_NOT_FOUND", 400, "required field not found")
DuplicateData = zoho_error("DUPLICATE_DATA", 400, "duplicate data")
LimitExceeded = zoho_error("LIMIT_EXCEEDED", 400, "limit exceeded")
LimitReached = zoho_error("LIMIT_REACHED", 400, "maximum response iteration limit reached")
DiscretePaginationLimitExceeded = zoho_error(
    "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
    400,
    "You can only get the first 2000 records without using page_token param",
)
PaginationLimitExceeded = zoho_error(
    "PAGINATION_LIMIT_EXCEEDED", 400, "You can only get upto 100000 records using page_token param"
)
TokenBoundDataMismatch = zoho_error(
    "TOKEN_BOUND_DATA_MISMATCH",
    400,
    "The page_token given seems to be invalid or input param is added or altered or deleted",
)
ExpiredValue = zoho_error("EXPIRED_VALUE", 400, "Page token expired")
AmbiguityDuringProcessing = zoho_error(
    "AMBIGUITY_DURING_PROCESSING", 400, "ambiguity while processing the request"
)
InvalidQuery = zoho_error("INVALID_QUERY", 400, "Invalid query formed")
SyntaxErrorCoql = zoho_error("SYNTAX_ERROR", 400, "error occured while parsing the query")
CriteriaLimitExceeded = zoho_error(
    "CRITERIA_LIMIT_EXCEEDED", 400, "no of criterium that can be given exceed the limit 15"
)
NotSupported = zoho_error("NOT_SUPPORTED", 400, "The given module is not supported in API")
TooManyRequests = zoho_error("TOO_MANY_REQUESTS", 429, "too many requests")
InternalError = zoho_error("INTERNAL_ERROR", 500, "Internal Server Error")
ServiceUnavailable = zoho_error("SERVICE_UNAVAILABLE", 503, "Service temporarily unavailable")
ResourceNotFound = zoho_error("RESOURCE_NOT_FOUND", 404, "the requested resource was not found")
MediaTypeNotSupported = zoho_error(
    "MEDIA_TYPE_NOT_SUPPORTED", 415, "The Content-Type of the request is not supported"
)
InvalidRequest = zoho_error("INVALID_REQUEST", 400, "the request is invalid")
FileTooLarge = zoho_error("FILE_TOO_LARGE", 413, "file size exceeds the limit of 25 MB")
InvalidFileFormat = zoho_error(
    "INVALID_FILE_FORMAT", 400, "invalid file format. only zip format is supported"
)
NotSupportedFeature = zoho_error("NOT_SUPPORTED_FEATURE", 400, "Feature is not supported")
FileNotFound = zoho_error("FILE_NOT_FOUND", 400, "the file id given seems to be invalid")
MissingRequiredKey = zoho_error("MISSING_REQUIRED_KEY", 400, "required key is missing")
ModuleNotAvailable = zoho_error("MODULE_NOT_AVAILABLE", 400, "the module is not available")
IdAlreadyConverted = zoho_error("ID_ALREADY_CONVERTED", 400, "id already converted")
InvalidCriteria = zoho_error("INVALID_CRITERIA", 400, "the criteria given seems to be invalid")


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


class SandboxStartError(RuntimeError):
    """A sandbox process did not start serving; the message says what failed and what to do.
    No process is left behind when it is raised."""
