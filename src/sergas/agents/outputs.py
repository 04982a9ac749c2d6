"""What each tool answers, as pydantic models: the tools' `outputSchema`.

A tool's successful result is checked against its model by the MCP layer before it is sent;
a failed call answers the one error shape instead (`sergas.agents.errors`), which clients
do not check against the schema. Records are Zoho's JSON (`id` and the fields asked for).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Brief",
    "CoqlRows",
    "FieldList",
    "NoteList",
    "OneRecord",
    "Page",
    "Proposal",
    "Proposals",
    "RiskList",
    "SearchHits",
    "UserList",
]

Record = dict[str, Any]


class _Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class Page(_Out):
    """A page of records, and how to ask for the next one."""

    module: str = Field(description="The Zoho module, e.g. Accounts")
    data: list[Record] = Field(description="The records of this page")
    count: int = Field(description="Records on this page")
    page: int = Field(description="This page's number (1 first)")
    per_page: int
    more: bool = Field(description="Zoho has more records after this page")
    next_page_token: str | None = Field(
        None, description="Pass as page_token for the next page (list_records, past 2,000)"
    )
    next: dict[str, Any] | None = Field(
        None, description="The arguments that fetch the next page; null on the last page"
    )
    owner: dict[str, Any] | None = Field(
        None, description="The user an `owner` argument was resolved to"
    )


class SearchHits(_Out):
    data: list[Record]
    count: int
    more: bool = Field(description="More accounts matched than were returned")


class OneRecord(_Out):
    data: Record


class RiskList(_Out):
    run: dict[str, Any] | None = Field(description="The sweep run the scores come from")
    total: int
    accounts: list[dict[str, Any]]
    note: str | None = None


class Brief(_Out):
    account: Record
    health: dict[str, Any] | None
    run: dict[str, Any] | None
    markdown: str


class Proposal(_Out):
    """A proposal: queued for a person (pending) or, for a write key, applied."""

    approval_id: int
    action: str = Field(description="update, create or note")
    status: str = Field(description="pending, applied (or failed: answered as an error)")
    module: str
    record_id: str | None = Field(
        description="The record changed or noted; for a create, the new record's id once applied"
    )
    changes: dict[str, Any]
    current: dict[str, Any] | None = None
    outcome: dict[str, Any] | None = None
    note: str | None = None


class Proposals(_Out):
    proposals: list[dict[str, Any]]
    count: int


class FieldList(_Out):
    module: str
    fields: list[dict[str, Any]] = Field(
        description="api_name, label, data_type, required, read_only, and picklist values "
        "or the lookup's module where they apply"
    )
    count: int


class UserList(_Out):
    users: list[dict[str, Any]] = Field(description="id, full_name, email, status, role")
    count: int


class CoqlRows(_Out):
    query: str = Field(description="The query as sent, with its LIMIT")
    data: list[Record]
    count: int
    more: bool = Field(description="The LIMIT was reached: there may be more rows")


class NoteList(_Out):
    record_id: str
    module: str
    notes: list[Record] = Field(description="Newest first")
    count: int
    page: int
    per_page: int
    more: bool
    next: dict[str, Any] | None = None
