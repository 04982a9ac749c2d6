"""What Bulk Read and Bulk Write share: job timelines, Zoho's bulk-only error codes, callbacks."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sergas.sandbox import errors as E

# Job and file ids: 19 digits like Zoho's, in a range record ids never reach.
JOB_ID_BASE = 5725767000900000000
ADDED, IN_PROGRESS, COMPLETED = "ADDED", "IN PROGRESS", "COMPLETED"
QUEUED_FRACTION = 0.1  # share of the job's duration spent in ADDED


_error = E.zoho_error  # Zoho error codes that only the bulk APIs use


FieldNotAvailable = _error("FIELD_NOT_AVAILABLE", 400, "the field is not available")
FieldComparatorNotSupported = _error(
    "FIELD_COMPARATOR_IN_CRITERIA_NOT_SUPPORTED",
    400,
    "the comparator is not supported for the field in criteria",
)
ValueLimitExceeded = _error(
    "VALUE_LIMIT_EXCEEDED_IN_CRITERIA", 400, "the number of values in criteria exceeds the limit"
)
GroupOperatorNotSupported = _error(
    "GROUP_OPERATOR_NOT_SUPPORTED", 400, "the group_operator is not supported"
)
CvidNotSupported = _error("CVID_NOT_SUPPORTED", 400, "custom views are not available")
InvalidCallbackUrl = _error("INVALID_CALLBACK_URL", 400, "the callback url is invalid")
InvalidCallbackMethod = _error(
    "INVALID_CALLBACK_METHOD", 400, "the callback method is invalid; only post is supported"
)
RequestBodyNotSupported = _error(
    "REQUEST_BODY_NOT_SUPPORTED", 400, "the request body must be a JSON object"
)
MandatoryFieldsNotMapped = _error(
    "MANDATORY_FIELDS_NOT_MAPPED", 400, "All mandatory fields are not mapped for the layout"
)
ColumnIndexNotFound = _error(
    "COLUMN_INDEX_NOT_FOUND", 400, "the column index is not present in the file"
)
FileNotSupported = _error("FILE_NOT_SUPPORTED", 400, "File not supported for bulk write")
JOB_NOT_FOUND = "The requested resource doesn't exist."


@dataclass(frozen=True)
class Timeline:
    created_at: float
    done_at: float

    def state(self, now: float) -> str:
        if now >= self.done_at:
            return COMPLETED
        queued_until = self.created_at + (self.done_at - self.created_at) * QUEUED_FRACTION
        return ADDED if now < queued_until else IN_PROGRESS


def validate_callback(raw: Any, path: str) -> dict[str, Any] | None:
    """An optional `callback: {url, method}`; kept for the job details, never called."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise E.InvalidData(details={"api_name": "callback", "json_path": path})
    url = raw.get("url")
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidCallbackUrl(details={"api_name": "url", "json_path": f"{path}.url"})
    method = raw.get("method", "post")
    if not isinstance(method, str) or method.lower() != "post":
        raise InvalidCallbackMethod(
            details={
                "api_name": "method",
                "json_path": f"{path}.method",
                "supported_callback_methods": ["post"],
            }
        )
    return {"url": url, "method": "post"}


def zip_one(name: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, content)
    return buffer.getvalue()


def not_found(job_id: str, status: int | None = None) -> E.ZohoError:
    return E.ResourceNotFound(JOB_NOT_FOUND, {"resource": job_id}, status=status)
