"""Bearer API keys as FastAPI dependencies: `reader` for reads, `writer` for writes.

No or a malformed header, an unknown or a revoked key: 401 with `WWW-Authenticate: Bearer`.
A valid read-scope key on a write: 403 `INSUFFICIENT_SCOPE`. The key never reaches a log
line or an error body; the caller is logged by its public key id, and a refused one at
warning with the key id it claimed and why (the MCP server also audits its refusals).
"""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from sergas.access.keys import ApiKeyStore, KeyRefused
from sergas.access.principal import PREFIX, Principal
from sergas.errors import AuthError
from sergas.runtime import Runtime
from sergas.service.errors import ApiError

__all__ = ["Reader", "Writer", "get_runtime", "reader", "writer"]

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="api_key",
    description=f"A Sergas API key ({PREFIX}…), from `sergas apikeys create`.",
)
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="sergas"'}
log = structlog.get_logger("sergas.service")


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def principal(
    request: Request,
    _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],  # for /docs
) -> Principal:
    keys: ApiKeyStore = request.app.state.keys
    try:
        who = await keys.authenticate_header(request.headers.get("authorization"))
    except AuthError as exc:
        refused = exc.audit_details() if isinstance(exc, KeyRefused) else {}
        log.warning("caller refused", code=exc.code, path=request.url.path, **refused)
        headers = _CHALLENGE
        if exc.code != "UNAUTHENTICATED":
            headers = {"WWW-Authenticate": 'Bearer realm="sergas", error="invalid_token"'}
        raise ApiError(401, exc.code, exc.message, headers=headers) from None
    structlog.contextvars.bind_contextvars(client=who.key_id)
    request.state.principal = who
    return who


async def reader(who: Annotated[Principal, Depends(principal)]) -> Principal:
    return who


async def writer(who: Annotated[Principal, Depends(principal)]) -> Principal:
    if not who.can_write:
        raise ApiError(
            403,
            "INSUFFICIENT_SCOPE",
            f"API key {who.label()} has {who.scope} scope; this call needs write scope",
            {"scope": who.scope, "required": "write"},
            headers={
                "WWW-Authenticate": 'Bearer realm="sergas", error="insufficient_scope", '
                'scope="write"'
            },
        )
    return who


Reader = Annotated[Principal, Depends(reader)]
Writer = Annotated[Principal, Depends(writer)]
