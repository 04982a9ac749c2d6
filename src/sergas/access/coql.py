"""COQL from a caller, made read-only and bounded: one SELECT, with a LIMIT of at most
`MAX_ROWS` (added when missing). Anything else is refused before it reaches Zoho.

Hand-written: COQL is Zoho's own dialect (no SQL parser reads it as Zoho does), and the
check needs only its tokens outside string literals: the first keyword, no `;`, and the
LIMIT clause at the end (`limit N`, `limit N offset M`, `limit M, N`). Zoho's COQL endpoint
runs SELECTs only; this also keeps one agent's query from reading 2,000 rows at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sergas.errors import InvalidDataError

__all__ = ["MAX_ROWS", "BoundedQuery", "bounded_select"]

MAX_ROWS = 200  # rows one caller's query may return (Zoho's own cap is COQL_PAGE)
MAX_LENGTH = 5000

_TOKEN = re.compile(r"'(?:[^'\\]|\\.|'')*'|[A-Za-z_][A-Za-z0-9_.$]*|\d+|\S", re.DOTALL)
_LIMIT_TAIL = (
    re.compile(r"limit\s+(\d+)\s*$", re.IGNORECASE),
    re.compile(r"limit\s+(\d+)\s+offset\s+(\d+)\s*$", re.IGNORECASE),
    re.compile(r"limit\s+(\d+)\s*,\s*(\d+)\s*$", re.IGNORECASE),
)


@dataclass(frozen=True)
class BoundedQuery:
    text: str  # what is sent: the caller's query, with a LIMIT added if it had none
    limit: int


def _refuse(message: str, **details: object) -> InvalidDataError:
    return InvalidDataError(message, code="INVALID_QUERY", details={"argument": "query", **details})


def bounded_select(query: str, *, max_rows: int = MAX_ROWS) -> BoundedQuery:
    """The query to send, or InvalidDataError (`INVALID_QUERY`) saying what to change."""
    text = query.strip()
    if text.endswith(";"):
        text = text[:-1].rstrip()
    if not text:
        raise _refuse("the query is empty: write one COQL SELECT")
    if len(text) > MAX_LENGTH:
        raise _refuse(f"the query is longer than {MAX_LENGTH} characters")
    tokens = _TOKEN.findall(text)
    words = [t.lower() for t in tokens if not t.startswith("'")]
    if not words or words[0] != "select":
        first = tokens[0] if tokens else ""
        raise _refuse(
            f"only a SELECT is allowed (the query starts with {first!r}): COQL here is read-only",
            first_word=first,
        )
    if ";" in words:
        raise _refuse("one query at a time: no `;` inside the query")
    if "limit" not in words:
        return BoundedQuery(f"{text} limit {max_rows}", max_rows)
    unquoted = re.sub(r"'(?:[^'\\]|\\.|'')*'", "''", text, flags=re.DOTALL)
    for pattern in _LIMIT_TAIL:
        found = pattern.search(unquoted)
        if found is None:
            continue
        numbers = [int(n) for n in found.groups()]
        rows = numbers[1] if pattern is _LIMIT_TAIL[2] else numbers[0]
        if rows < 1 or rows > max_rows:
            raise _refuse(
                f"LIMIT {rows} is outside 1..{max_rows}: one query returns at most "
                f"{max_rows} rows here; read further with OFFSET",
                limit=rows,
                max=max_rows,
            )
        return BoundedQuery(text, rows)
    raise _refuse(
        "the LIMIT must end the query as `limit N`, `limit N offset M` or `limit M, N`",
        max=max_rows,
    )
