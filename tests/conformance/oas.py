"""Zoho's own OpenAPI description of CRM v8 as a second witness for the sandbox.

Where the files come from: Zoho's public OpenAPI repository for CRM, github.com/zoho/crm-oas,
folder v8.0/ (record.json, users.json, coql.json, bulk_read.json, ...: the JSON files only).
They are Zoho's, not ours, so they are never copied into the project: the tests read them at
run time from ../shared/zoho-oas (beside the repository), or from the folder named by
SERGAS_OAS_DIR. Where they are absent the conformance tests skip, saying where they looked; CI
sets SERGAS_REQUIRE_OAS=1, which makes their absence a failure instead.

`ZohoOAS` loads every file into one `referencing` registry under the raw.githubusercontent.com
URI its siblings use in `$ref`s, so cross-file references resolve to the local files and
nothing is fetched. Response bodies are validated with openapi-schema-validator's OAS 3.0
read validator, formats included (date-time, int32, ...).

One rule is ours, because Zoho's schemas need it: their top-level `oneOf`s (for example
Response_Wrapper | API_Exception, or the seven COQL exceptions) have overlapping branches,
most with no `required` keys, so a body (Zoho's own examples included) fits several of them
and a literal `oneOf` rejects it. We keep the branches whose declared top-level properties
cover the body's keys and accept the body when it validates against one of those; a body
with a top-level key that no branch declares is reported as such. Nested `oneOf`s are read
as `anyOf` for the same reason (bulk_read.json's error details even list two identical
`{"type": "object"}` branches, which no object can satisfy exactly once); Zoho's branches
still tell success from error items apart by their `status`/`code` enums.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from jsonschema import validators
from jsonschema.exceptions import ValidationError
from openapi_schema_validator import OAS30ReadValidator, oas30_format_checker
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource
from referencing.jsonschema import DRAFT4

OAS_BASE = "https://raw.githubusercontent.com/Zohocorp-Pvt-Ltd/crm-oas/refs/heads/main/v8.0/"
ENV_DIR = "SERGAS_OAS_DIR"
ENV_REQUIRE = "SERGAS_REQUIRE_OAS"
# The test report property under which a case records a known gap it passed with.
KNOWN_GAP_PROPERTY = "zoho_oas_known_gap"
# ... and the reason it was checked against another file than the endpoint's own.
STAND_IN_PROPERTY = "zoho_oas_stand_in"


def oas_dir() -> Path:
    configured = os.environ.get(ENV_DIR)
    if configured:
        return Path(configured)
    repo = Path(__file__).resolve().parents[2]
    return repo.parent / "shared" / "zoho-oas"


def _pointer(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


@dataclass(frozen=True)
class Finding:
    """One way a body departs from the documented schema."""

    path: str  # JSON path into the body, e.g. $.info.next_page_token
    keyword: str  # the failing schema keyword (type, enum, format, ...) or "branch"
    instance: Any
    message: str
    schema_path: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}  [{self.keyword} at {self.schema_path}]"

    @property
    def missing(self) -> str | None:
        """For a `required` finding, the name of the missing property."""
        found = _REQUIRED.fullmatch(self.message) if self.keyword == "required" else None
        return found.group(1) if found else None

    @property
    def where(self) -> str:
        """The path with array indices folded, for grouping: $.users[*].email."""
        return _INDEX.sub("[*]", self.path)


_REQUIRED = re.compile(r"'(.+)' is a required property")
_INDEX = re.compile(r"\[\d+\]")


def summarize(findings: list[Finding]) -> list[str]:
    """One line per distinct problem; missing required keys grouped per place."""
    missing: dict[str, set[str]] = {}
    others: dict[tuple[str, str, str], int] = {}
    for f in findings:
        if f.missing is not None:
            missing.setdefault(f.where, set()).add(f.missing)
        else:
            key = (f.where, f.keyword, _INDEX.sub("[*]", f.message))
            others[key] = others.get(key, 0) + 1
    lines = [
        f"{where}: missing required keys {sorted(keys)}" for where, keys in sorted(missing.items())
    ]
    lines += [
        f"{where}: {message} [{keyword}]" + (f" (x{n})" if n > 1 else "")
        for (where, keyword, message), n in sorted(others.items())
    ]
    return lines


def _findings(error: ValidationError) -> list[Finding]:
    """Flatten an error; for oneOf/anyOf, keep the errors of the closest branch."""
    if error.validator in ("oneOf", "anyOf") and error.context:
        by_branch: dict[Any, list[ValidationError]] = {}
        for sub in error.context:
            by_branch.setdefault(sub.schema_path[0], []).append(sub)
        closest = min(by_branch.values(), key=len)
        return [f for sub in closest for f in _findings(sub)]
    return [
        Finding(
            path=error.json_path,
            keyword=str(error.validator),
            instance=error.instance,
            message=error.message[:300],
            schema_path="/".join(str(p) for p in error.absolute_schema_path),
        )
    ]


def _one_of_as_any_of(
    validator: Any, branches: list[Any], instance: Any, schema: Any
) -> Iterator[ValidationError]:
    """Nested `oneOf` read as `anyOf` (module docstring): one fitting branch is enough."""
    errors: list[ValidationError] = []
    for index, branch in enumerate(branches):
        found = list(validator.descend(instance, branch, schema_path=index))
        if not found:
            return
        errors.extend(found)
    yield ValidationError(
        f"{instance!r} is not valid under any of the given schemas", context=errors
    )


ZohoValidator = validators.extend(OAS30ReadValidator, {"oneOf": _one_of_as_any_of})


class ZohoOAS:
    """Zoho's CRM v8 OpenAPI files, resolvable offline."""

    def __init__(self, directory: Path) -> None:
        self.documents: dict[str, Any] = {
            path.name: json.loads(path.read_text(encoding="utf-8"))
            for path in sorted(directory.glob("*.json"))
        }
        resources = [
            (OAS_BASE + name, Resource.from_contents(doc, default_specification=DRAFT4))
            for name, doc in self.documents.items()
        ]
        self.registry: Registry[Any] = Registry(retrieve=self._refuse).with_resources(resources)
        self.resolver = self.registry.resolver()

    @staticmethod
    def _refuse(uri: str) -> Resource[Any]:
        # Everything Zoho's files reference is one of the local files; never fetch.
        raise NoSuchResource(ref=uri)

    def lookup(self, uri: str) -> Any:
        return self.resolver.lookup(uri).contents

    def follow(self, uri: str) -> tuple[str, Any]:
        """Follow `$ref`s from `uri`; the final node and its absolute URI."""
        node = self.lookup(uri)
        while isinstance(node, dict) and "$ref" in node:
            uri = urljoin(uri, node["$ref"])
            node = self.lookup(uri)
        return uri, node

    def operation_uri(self, spec: str, path: str, method: str) -> str:
        if spec not in self.documents:
            raise KeyError(f"{spec} is not among Zoho's OAS files")
        operation = self.documents[spec]["paths"][path][method]
        assert isinstance(operation, dict)
        return f"{OAS_BASE}{spec}#/paths/{_pointer(path)}/{method}"

    def documented_statuses(self, spec: str, path: str, method: str) -> list[str]:
        return sorted(self.lookup(self.operation_uri(spec, path, method) + "/responses"))

    def response_schema_uri(self, spec: str, path: str, method: str, status: str) -> str | None:
        """The URI of the JSON schema documented for that response; None if it has no body."""
        op = self.operation_uri(spec, path, method)
        uri, response = self.follow(f"{op}/responses/{status}")
        if "application/json" not in response.get("content", {}):
            return None
        return f"{uri}/content/{_pointer('application/json')}/schema"

    def request_findings(
        self,
        spec: str,
        path: str,
        method: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        body: Any,
    ) -> list[Finding]:
        """How a request departs from the operation's documented parameters and body.

        Query parameters must be declared (`in: query`) and their values fit the declared
        schema (numbers and booleans read from the query text); a documented header we
        send (If-Modified-Since) must be declared; a JSON body must fit the request body's
        schema. Required query parameters must be present.
        """
        op = self.operation_uri(spec, path, method)
        declared: dict[tuple[str, str], tuple[str, Any]] = {}
        for index in range(len(self.lookup(op).get("parameters", []))):
            uri, param = self.follow(f"{op}/parameters/{index}")
            declared[(param["in"], param["name"].lower())] = (uri, param)
        found: list[Finding] = []
        for name, raw in query.items():
            entry = declared.get(("query", name.lower()))
            if entry is None:
                found.append(_request_finding(f"query.{name}", "parameter", raw, "not declared"))
                continue
            uri, param = entry
            value = _query_value(raw, self.follow(f"{uri}/schema")[1])
            found += [
                Finding(f"query.{name}", f.keyword, f.instance, f.message, f.schema_path)
                for f in self.errors(value, f"{uri}/schema")
            ]
        for (where, name), (_, param) in declared.items():
            if where == "query" and param.get("required") and name not in map(str.lower, query):
                found.append(_request_finding(f"query.{name}", "required", None, "missing"))
        for name in ("if-modified-since",):
            if name in headers and ("header", name) not in declared:
                found.append(
                    _request_finding(f"header.{name}", "header", headers[name], "not declared")
                )
        if body is not None:
            request_body = self.lookup(op).get("requestBody")
            if request_body is None:
                found.append(_request_finding("body", "requestBody", None, "no body documented"))
            else:
                uri, node = self.follow(f"{op}/requestBody")
                if "schema" in node.get("content", {}).get("application/json", {}):
                    schema = f"{uri}/content/{_pointer('application/json')}/schema"
                    found += [
                        Finding(
                            f"body{f.path[1:]}", f.keyword, f.instance, f.message, f.schema_path
                        )
                        for f in self.check(body, schema)
                    ]
        return found

    def errors(self, body: Any, schema_uri: str) -> list[Finding]:
        validator = ZohoValidator(
            {"$ref": schema_uri}, registry=self.registry, format_checker=oas30_format_checker
        )
        found = {
            (f.path, f.keyword, f.schema_path, f.message): f
            for e in validator.iter_errors(body)
            for f in _findings(e)
        }
        return sorted(found.values(), key=lambda f: (f.path, f.keyword, f.schema_path))

    def check(self, body: Any, schema_uri: str) -> list[Finding]:
        """Validate `body`; a top-level oneOf is resolved by key coverage (module docstring)."""
        uri, schema = self.follow(schema_uri)
        branches = schema.get("oneOf") if isinstance(schema, dict) else None
        if not isinstance(body, dict) or not branches or len(branches) < 2:
            return self.errors(body, uri)
        covering: list[str] = []
        for index in range(len(branches)):
            branch_uri, branch = self.follow(f"{uri}/oneOf/{index}")
            declared = set(branch.get("properties", {}))
            if branch.get("additionalProperties") or set(body) <= declared:
                covering.append(branch_uri)
        if not covering:
            return [
                Finding(
                    "$",
                    "branch",
                    sorted(body),
                    f"no oneOf branch declares all of the body's top-level keys {sorted(body)}",
                    uri + "/oneOf",
                )
            ]
        results = [self.errors(body, branch) for branch in covering]
        if any(not found for found in results):
            return []
        # Report the closest branch: Zoho discriminates its errors by `code`, then other
        # top-level enums (status, message), then the fewest findings.
        return min(results, key=_distance)


def _request_finding(where: str, keyword: str, instance: Any, message: str) -> Finding:
    return Finding(where, keyword, instance, message, "request")


def _query_value(raw: str, schema: Any) -> Any:
    """A query parameter's text as the type its schema declares, where it reads as one."""
    kind = schema.get("type") if isinstance(schema, dict) else None
    try:
        if kind == "integer":
            return int(raw)
        if kind == "number":
            return float(raw)
    except ValueError:
        return raw
    if kind == "boolean" and raw in ("true", "false"):
        return raw == "true"
    return raw


def _distance(found: list[Finding]) -> tuple[int, int, int]:
    top_enums = [f for f in found if f.keyword == "enum" and f.path.count(".") == 1]
    return (sum(f.path == "$.code" for f in top_enums), len(top_enums), len(found))
