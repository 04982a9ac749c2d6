"""The one error shape of every tool: `{"error": {"code", "message", "details"}}`, flagged
`isError: true`, whatever went wrong:

- arguments that fail the tool's schema (`INVALID_ARGUMENTS`): each problem names the
  argument (and the path inside it) and says what is wrong, in words; never pydantic's raw
  text, never the value sent (it may hold a secret);
- an argument the tool does not take (`UNKNOWN_ARGUMENT`), or an unknown tool;
- a Sergas or Zoho error (Zoho's code): a field Zoho does not know is named in
  `details.field`, with the argument it came in;
- a write Zoho refused (the tool builds it from the approval's outcome).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from mcp.types import CallToolResult, TextContent
from pydantic import ValidationError

from sergas.errors import SergasError, explain

__all__ = ["error_result", "invalid_arguments", "result", "sergas_error", "unknown_arguments"]


def result(body: Mapping[str, Any], *, error: bool = False) -> CallToolResult:
    """The body as structured content and, for clients that read only text, JSON text."""
    text = orjson.dumps(body, default=str).decode()
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=orjson.loads(text),
        is_error=error,
    )


def error_result(
    code: str, message: str, details: Mapping[str, Any] | None = None
) -> CallToolResult:
    return result(
        {"error": {"code": code, "message": message, "details": dict(details or {})}}, error=True
    )


# pydantic's error types, said for an agent; anything else keeps pydantic's short `msg`.
_PROBLEM = {
    "missing": "required, not given",
    "extra_forbidden": "not accepted here",
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "bool_type": "must be true or false",
    "dict_type": "must be an object",
    "list_type": "must be a list",
    "model_type": "must be an object",
    "json_invalid": "is not valid JSON",
}
# Patterns of access.schemas, said in words.
_PATTERN = {
    "^[0-9]{1,32}$": "must be a Zoho record id: digits only, e.g. 4876876000000321001",
    "^[A-Za-z][A-Za-z0-9_]*(\\.[A-Za-z][A-Za-z0-9_]*)?$": (
        "must be a field API name such as Account_Name (letters, digits, _), not a label"
    ),
}
# Union members' tags that pydantic puts in an error's location: not the caller's keys.
_TAGS = {"condition", "function-after[_arity(), ConditionCriteria]"}


def _problem(error: Mapping[str, Any]) -> str:
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    if kind == "string_pattern_mismatch":
        return _PATTERN.get(str(ctx.get("pattern")), f"must match {ctx.get('pattern')}")
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        bound = next(iter(ctx.values()), None)
        words = {
            "greater_than_equal": "at least",
            "less_than_equal": "at most",
            "greater_than": "more than",
            "less_than": "less than",
        }[kind]
        return f"must be {words} {bound}"
    if kind in ("too_short", "too_long"):
        field_type = ctx.get("field_type", "value")
        if kind == "too_short":
            return f"{field_type} must have at least {ctx.get('min_length')} item(s)"
        return f"{field_type} must have at most {ctx.get('max_length')} item(s)"
    if kind in _PROBLEM:
        return _PROBLEM[kind]
    message = str(error.get("msg", "is not valid"))
    return message.removeprefix("Value error, ")


def _path(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif part in _TAGS or (parts and str(part) == parts[-1].lstrip(".")):
            continue  # a union tag, or a group's tag repeated as its key
        else:
            parts.append(("." if parts else "") + str(part))
    return "".join(parts)


def invalid_arguments(tool: str, exc: ValidationError) -> CallToolResult:
    """`INVALID_ARGUMENTS`, one problem per argument (a path inside it when nested)."""
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        loc = tuple(error.get("loc", ()))
        problems.append(
            {
                "argument": str(loc[0]) if loc else "",
                "path": _path(loc),
                "problem": _problem(error),
            }
        )
    said = "; ".join(f"{p['path'] or '(arguments)'}: {p['problem']}" for p in problems[:5])
    return error_result(
        "INVALID_ARGUMENTS",
        f"{tool}: invalid arguments: {said}",
        {"tool": tool, "problems": problems},
    )


def unknown_arguments(tool: str, unknown: list[str], known: list[str]) -> CallToolResult:
    return error_result(
        "UNKNOWN_ARGUMENT",
        f"{tool} takes no argument {', '.join(unknown)}; its arguments: {', '.join(known)}",
        {"tool": tool, "unknown": unknown, "arguments": known},
    )


_UNKNOWN_FIELD = "the field api name given seems to be invalid"


def sergas_error(
    exc: SergasError, *, argument: str | None = None, module: str | None = None
) -> dict[str, Any]:
    """A Sergas (or Zoho) error as the error object. A field Zoho named (`api_name`, or a
    COQL `column_name`) becomes `details.field`, with `argument`: the tool argument it
    came in, instead of Zoho's `param_name`."""
    details = dict(exc.details)
    message = explain(exc)
    field = details.pop("api_name", None) or details.pop("column_name", None)
    if field is not None:
        param = details.pop("param_name", None)
        details["field"] = field
        if argument is not None:
            details["argument"] = argument
        elif param is not None:
            details["argument"] = param
        if module is not None:
            details["module"] = module
        unknown = _UNKNOWN_FIELD in exc.message or details.get("reason") == (
            "the field is not available"
        )
        if unknown or (exc.code == "INVALID_QUERY" and "column" in exc.message):
            where = f" of {module}" if module else ""
            message = (
                f"{field!r} is not a field API name{where} ({exc.code}): describe_fields "
                "lists the module's fields"
            )
    return {"code": exc.code, "message": message, "details": details}
