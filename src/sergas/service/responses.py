"""What the HTTP service answers, as pydantic models: they are its OpenAPI description only.

Routes return `JSONResponse` bodies built from plain dicts (no model is built or checked
per response); these models say what those bodies are, and `tests/service/test_openapi.py`
holds the two together (schemathesis against the live app). `errors()` declares the error
statuses a route can answer, all in the one error shape.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AccountBody",
    "AccountPage",
    "BulkOutcome",
    "ErrorBody",
    "Health",
    "Queued",
    "Readiness",
    "RecordOutcome",
    "RecordPage",
    "ResetResult",
    "SearchResult",
    "TierReport",
    "errors",
]

Record = dict[str, Any]  # a Zoho record: its JSON, `id` and the fields asked for


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(_Closed):
    code: str = Field(description="Sergas's or Zoho's error code, e.g. INVALID_DATA")
    message: str
    details: dict[str, Any] = Field(description="What Zoho or Sergas said more; may be {}")


class ErrorBody(_Closed):
    """Every error answer."""

    error: ErrorDetail
    request_id: str | None = Field(description="The X-Request-ID of the request")


class PageInfo(_Closed):
    page: int
    per_page: int
    count: int
    more_records: bool = Field(description="True when the page is full: there may be more")


class AccountPage(_Closed):
    data: list[Record]
    info: PageInfo


class PagingInfo(_Closed):
    page: int
    per_page: int
    count: int
    more_records: bool = Field(description="Zoho has more records after this page")


class RecordPage(_Closed):
    """A page of records, with Zoho's own `more_records`."""

    data: list[Record]
    info: PagingInfo


class Queued(_Closed):
    """A read key's write, queued in the approval queue for a person."""

    status: str = Field(description="pending")
    approval: dict[str, Any] = Field(
        description="The approval: id, action, module, record_id, changes, reason, ..."
    )
    note: str


class CountInfo(_Closed):
    count: int


class SearchResult(_Closed):
    data: list[Record]
    info: CountInfo


class AccountBody(_Closed):
    data: Record


class RecordOutcome(_Closed):
    """What Zoho did with one record."""

    index: int
    id: str | None
    ok: bool
    code: str
    message: str
    details: dict[str, Any]


class BulkOutcome(_Closed):
    ok: bool = Field(description="Every record succeeded")
    succeeded: int
    failed: int
    results: list[RecordOutcome] = Field(description="One per record, in request order")


class Health(_Closed):
    status: str


class Readiness(BaseModel):
    """200 when ready, 503 (the same body) when not."""

    model_config = ConfigDict(extra="allow")

    status: str = Field(description="ready or not ready")
    database: bool
    tiers: dict[str, dict[str, Any]]


class TierReport(_Closed):
    tiers: dict[str, dict[str, Any]]


class ResetResult(_Closed):
    reset: list[str]
    breakers: dict[str, dict[str, Any]]


_MEANING = {
    400: "A request Zoho refuses by its size limits (LIMIT_EXCEEDED and the like)",
    401: "No API key, not a key, or an unknown or revoked one",
    403: "A read-scope key on a write (INSUFFICIENT_SCOPE)",
    404: "Zoho has no such record (RESOURCE_NOT_FOUND)",
    413: "The body is over SERGAS_SERVICE_MAX_BODY_BYTES (REQUEST_TOO_LARGE), too many "
    "records (TOO_MANY_RECORDS), or Zoho found the request too large",
    422: "The request's shape (VALIDATION_ERROR, with details.errors), or Zoho refused the "
    "data (INVALID_DATA, with Zoho's details)",
    429: "Zoho's rate limits (Retry-After when Zoho gave one)",
    500: "Sergas is misconfigured or failed (see its log)",
    502: "Zoho failed, could not be reached, or refused Sergas's own credentials",
    503: "Every usable tier's breaker is open, or the database is down",
    504: "Zoho did not answer in time",
}
ZOHO = (400, 404, 422, 429, 500, 502, 503, 504)  # what a route that calls Zoho may answer


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The error answers a route declares, in the one error shape."""
    return {
        status: {"model": ErrorBody, "description": _MEANING[status]}
        for status in sorted(set(statuses))
    }
