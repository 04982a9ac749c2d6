"""A caller's COQL made read-only and bounded before it reaches Zoho."""

from __future__ import annotations

import pytest

from sergas.access.coql import MAX_ROWS, bounded_select
from sergas.errors import InvalidDataError


@pytest.mark.parametrize(
    ("query", "sent", "limit"),
    [
        ("select id from Accounts where id is not null", "added", MAX_ROWS),
        ("SELECT id FROM Accounts WHERE Rating = 'Hot' LIMIT 20;", "as given", 20),
        ("select id from Accounts where id is not null limit 50 offset 100", "as given", 50),
        ("select id from Accounts where id is not null limit 100, 30", "as given", 30),
        # A LIMIT inside a string is data, not the query's limit.
        ("select id from Accounts where Description = 'limit 5000'", "added", MAX_ROWS),
    ],
)
def test_selects_are_bounded(query: str, sent: str, limit: int) -> None:
    bounded = bounded_select(query)
    assert bounded.limit == limit
    if sent == "added":
        assert bounded.text == f"{query} limit {MAX_ROWS}"
    else:
        assert bounded.text == query.rstrip(";")


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("delete from Accounts where id = 1", "only a SELECT"),
        ("update Accounts set Rating = 'Hot'", "only a SELECT"),
        ("  ", "empty"),
        ("select id from Accounts limit 1; delete from Accounts", "one query at a time"),
        ("select id from Accounts where id is not null limit 201", "outside 1..200"),
        ("select id from Accounts where id is not null limit 0", "outside 1..200"),
        ("select id from Accounts limit 5 where id is not null", "must end the query"),
        ("'select' id from Accounts", "only a SELECT"),
    ],
)
def test_anything_else_is_refused(query: str, said: str) -> None:
    with pytest.raises(InvalidDataError, match=said) as refused:
        bounded_select(query)
    assert refused.value.code == "INVALID_QUERY"
    assert refused.value.details["argument"] == "query"
