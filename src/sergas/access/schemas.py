"""What callers of both front doors may send, as pydantic types: the HTTP service's request
bodies and the MCP tools' arguments are built from these.

Search criteria are a typed tree, never a criteria string: a condition
`{"field": "Industry", "op": "equals", "value": "Retail"}`, or a group
`{"and": [...]}` / `{"or": [...]}`. `to_criteria()` turns it into `sergas.query` criteria,
which escape every value for Zoho. Field names must be Zoho API names.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    JsonValue,
    StringConstraints,
    Tag,
    model_validator,
)

from sergas.query import NO_VALUE_OPS, Condition, Criteria, Group, Op, Value
from sergas.zoho_limits import MAX_FIELDS

__all__ = [
    "API_NAME",
    "MAX_FIELDS",
    "RECORD_ID",
    "AndCriteria",
    "ApiName",
    "ConditionCriteria",
    "CriteriaTree",
    "FieldValues",
    "OrCriteria",
    "RecordId",
]

API_NAME = r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)?$"
RECORD_ID = r"^[0-9]{1,32}$"
ApiName = Annotated[str, StringConstraints(pattern=API_NAME, max_length=100)]
RecordId = Annotated[str, StringConstraints(pattern=RECORD_ID)]
Scalar = str | int | float | bool

Operator = Op  # one list of operators: sergas.query's


class ConditionCriteria(BaseModel):
    """One condition: `value`, or `values` (in, between), or neither (the null checks)."""

    model_config = ConfigDict(extra="forbid")

    field: ApiName = Field(description="A field API name", examples=["Industry"])
    op: Operator = Field(description="The operator", examples=["equals"])
    value: Scalar | None = Field(
        None, description="The value, for every operator but in, between and the nulls"
    )
    values: list[Scalar] | None = Field(
        None, max_length=100, description="For in: 1 to 100 values; for between: [low, high]"
    )

    @model_validator(mode="after")
    def _arity(self) -> ConditionCriteria:
        if self.op in NO_VALUE_OPS:
            if self.value is not None or self.values:
                raise ValueError(f"{self.op} takes no value")
        elif self.op == "in":
            if not self.values or self.value is not None:
                raise ValueError("in takes `values`: a list of 1 to 100 values")
        elif self.op == "between":
            if self.values is None or len(self.values) != 2 or self.value is not None:
                raise ValueError("between takes `values`: [low, high]")
        elif self.value is None or self.values is not None:
            raise ValueError(f"{self.op} takes one `value`")
        return self

    def to_criteria(self) -> Criteria:
        values: tuple[Value, ...]
        if self.op in NO_VALUE_OPS:
            values = ()
        elif self.values is not None:
            values = tuple(self.values)
        else:
            assert self.value is not None
            values = (self.value,)
        return Condition(self.field, self.op, values)


class AndCriteria(BaseModel):
    model_config = ConfigDict(extra="forbid")

    and_: list[CriteriaTree] = Field(alias="and", min_length=1, max_length=20)

    def to_criteria(self) -> Criteria:
        return _group("and", self.and_)


class OrCriteria(BaseModel):
    model_config = ConfigDict(extra="forbid")

    or_: list[CriteriaTree] = Field(alias="or", min_length=1, max_length=20)

    def to_criteria(self) -> Criteria:
        return _group("or", self.or_)


def _group(operator: Literal["and", "or"], parts: list[CriteriaTree]) -> Criteria:
    built = tuple(p.to_criteria() for p in parts)
    return built[0] if len(built) == 1 else Group(operator, built)


def _kind(value: Any) -> str | None:
    """Which model a node is: by its keys, so a bad node gets that model's errors only."""
    if isinstance(value, AndCriteria):
        return "and"
    if isinstance(value, OrCriteria):
        return "or"
    if isinstance(value, ConditionCriteria):
        return "condition"
    if not isinstance(value, dict):
        return None  # "not a criteria object"
    if "and" in value:
        return "and"
    if "or" in value:
        return "or"
    return "condition"


CriteriaTree = Annotated[
    Annotated[ConditionCriteria, Tag("condition")]
    | Annotated[AndCriteria, Tag("and")]
    | Annotated[OrCriteria, Tag("or")],
    Discriminator(
        _kind,
        custom_error_type="criteria_type",
        custom_error_message="criteria must be an object: a condition {field, op, value} "
        "or a group {and: [...]} / {or: [...]}; a criteria string is not accepted",
    ),
]
AndCriteria.model_rebuild()
OrCriteria.model_rebuild()

FieldValues = dict[ApiName, JsonValue]
