"""Request bodies of the HTTP service, as pydantic models, built from the types both front
doors share (`sergas.access.schemas`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sergas.access.schemas import MAX_FIELDS, ApiName, CriteriaTree, FieldValues

__all__ = ["BulkUpdateRequest", "NoteRequest", "SearchRequest", "UpdateRequest"]


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    criteria: CriteriaTree
    fields: list[ApiName] | None = Field(None, max_length=MAX_FIELDS)
    limit: int = Field(200, ge=1, le=2000)


def _no_id(data: dict[str, Any]) -> dict[str, Any]:
    if "id" in data:
        raise ValueError("the record id goes in the path, not in `data`")
    return data


class UpdateRequest(BaseModel):
    """The fields to change on one record: `{"data": {"Rating": "Hot"}}`."""

    model_config = ConfigDict(extra="forbid")

    data: FieldValues = Field(min_length=1, max_length=200)

    _check = field_validator("data")(_no_id)


class BulkUpdateRequest(BaseModel):
    """Records to update, each with its `id` and the fields to change."""

    model_config = ConfigDict(extra="forbid")

    records: list[FieldValues] = Field(min_length=1)

    @field_validator("records")
    @classmethod
    def _ids(cls, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for i, record in enumerate(records):
            rid = record.get("id")
            if not isinstance(rid, str) or not rid.isdigit():
                raise ValueError(f"record {i}: `id` must be a record id (digits, as a string)")
            if len(record) < 2:
                raise ValueError(f"record {i}: no field to change besides `id`")
        return records


class NoteRequest(BaseModel):
    """A note: `{"content": "...", "title": "..."}`; `reason` is shown to the person who
    approves it when the key has read scope."""

    model_config = ConfigDict(extra="forbid")

    content: str = Field(min_length=1, max_length=32000, examples=["Call the CFO before the 15th"])
    title: str | None = Field(None, max_length=120, examples=["Renewal risk"])
    reason: str | None = Field(None, min_length=3, max_length=2000)
