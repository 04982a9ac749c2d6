"""The conformance cases' machinery: a case is one real request, the file, path, method and
status Zoho documents for it, and what its request is meant to be against Zoho's contract.

Case modules (`cases_*.py`) register their cases with `@case(...)` on import; test_oas.py
imports them all and runs each.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx2
from tests.helpers import reauthorize

from sergas.sandbox.backend import Sandbox

RECORDS = "/crm/v8/{module_api_name}"
RECORD = "/crm/v8/{module_api_name}/{id}"
UNKNOWN_ID = "5725767000000000001"
FIELDS = "Account_Name,Owner,Industry,Annual_Revenue,Parent_Account,Created_Time,Modified_Time"


@dataclass
class Ctx:
    client: httpx2.AsyncClient
    sandbox: Sandbox

    async def account_ids(self, n: int = 3) -> list[str]:
        response = await self.client.get(
            "/crm/v8/Accounts", params={"fields": "Account_Name", "per_page": n}
        )
        return [r["id"] for r in response.json()["data"]]

    async def next_page_token(self) -> str:
        response = await self.client.get(
            "/crm/v8/Accounts", params={"fields": "Account_Name", "per_page": 10}
        )
        token: str = response.json()["info"]["next_page_token"]
        return token

    async def advance(self, seconds: float) -> None:
        await self.client.post("/__sandbox/clock", json={"advance_seconds": seconds})
        await reauthorize(self.client)


Send = Callable[[Ctx], Awaitable[httpx2.Response]]


@dataclass(frozen=True)
class Case:
    spec: str  # Zoho's file, e.g. record.json
    path: str  # the path template as that file writes it
    method: str
    operation: str
    name: str
    status: int  # what the sandbox must answer
    send: Send
    # The request stays within Zoho's documented parameters and body (checked), or, for a
    # case about a malformed request, departs from them (checked too).
    valid_request: bool = True
    # Set when Zoho's file for this endpoint is not among ../shared/zoho-oas: why `spec` and
    # `path` (which are) describe the same request and body. Noted on the report.
    stand_in: str | None = None

    @property
    def id(self) -> str:
        return f"{self.spec.removesuffix('.json')}.{self.operation}.{self.name}"


CASES: list[Case] = []


def case(
    spec: str,
    path: str,
    method: str,
    operation: str,
    name: str,
    status: int,
    *,
    valid_request: bool = True,
    stand_in: str | None = None,
) -> Any:
    def register(send: Send) -> Send:
        CASES.append(
            Case(spec, path, method, operation, name, status, send, valid_request, stand_in)
        )
        return send

    return register
