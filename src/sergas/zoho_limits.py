"""Every limit of Zoho CRM's API that the client side knows and plans by, in one place.

Sources: Zoho's API documentation (see the project's notes on the Zoho API). The sandbox keeps
its own copies on purpose: it is the emulated Zoho, and a test of one against the other would
prove nothing if both read the same number.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "BULK_READ_JOB_ROWS",
    "BULK_WRITE_JOB_ROWS",
    "COQL_IN_VALUES",
    "COQL_OFFSET_CAP",
    "COQL_PAGE",
    "DELETED_TYPES",
    "LIGHT_WRITE",
    "MAX_FIELDS",
    "PAGE_TOKEN_CHAIN",
    "RECORDS_PER_PAGE",
    "SEARCH_CAP",
    "SORTABLE",
    "SUB_CONCURRENCY",
    "USERS_PER_PAGE",
    "WRITE_CHUNK",
]

# -- reads ---------------------------------------------------------------------------------
RECORDS_PER_PAGE: Final = 200  # records API and search: most records per page (`per_page`)
PAGE_TOKEN_CHAIN: Final = 100_000  # records reachable through one chain of page tokens
COQL_PAGE: Final = 2000  # most rows one COQL query returns (LIMIT)
COQL_OFFSET_CAP: Final = 100_000  # COQL's OFFSET + LIMIT may not pass this
COQL_IN_VALUES: Final = 100  # most values of one COQL `in` (v7 on; 50 before)
SEARCH_CAP: Final = 2000  # the search API answers LIMIT_REACHED past this many matches
MAX_FIELDS: Final = 50  # most fields per records-API call (`fields`) and COQL columns
USERS_PER_PAGE: Final = 200  # GET /users per page
SORTABLE: Final = ("id", "Created_Time", "Modified_Time")  # the records API's `sort_by`
DELETED_TYPES: Final = ("all", "recycle", "permanent")  # GET /{module}/deleted's `type`

# -- writes --------------------------------------------------------------------------------
WRITE_CHUNK: Final = 100  # most records per insert/update call
LIGHT_WRITE: Final = 10  # a write of more records than this counts as a heavy call

# -- bulk jobs -----------------------------------------------------------------------------
BULK_READ_JOB_ROWS: Final = 200_000  # rows per Bulk Read job page (then `more_records`)
BULK_WRITE_JOB_ROWS: Final = 25_000  # rows per Bulk Write file

# -- concurrency ---------------------------------------------------------------------------
SUB_CONCURRENCY: Final = 10  # heavy calls in flight (COQL, search, writes > LIGHT_WRITE),
# on every edition; the org's overall cap depends on the edition (ZOHO_CONCURRENCY)
