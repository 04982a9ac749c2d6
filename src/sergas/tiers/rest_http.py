"""The request layer of tier 3: one pooled httpx2 client and error mapping.

    RestPrimitives ──> RestHTTP.request(method, path, kind, params, json)
        └─> ZohoCalls.run (sergas.tiers.core.calls: retries, the process's cap) ──> _send
              └─> httpx2.AsyncClient(auth=ZohoAuth) ──> transport

`_send` is the one boundary where httpx2 exceptions become `sergas.errors.TimeoutError` or
`ConnectionError`, and where a non-2xx answer becomes the error `error_from_zoho` names.
Callers never see an httpx2 type. Write calls pass `items=True`: Zoho answers a mixed batch
with 207 and an all-failed batch with 400, both holding one outcome per record in `data`;
those are results to report, not errors to raise.

Concurrency: the choke point holds every tier of the process to ZOHO_CONCURRENCY calls in
flight and 10 heavy ones (`sergas.tiers.core.calls`); the pool has as many connections as
the cap, so a request that got its slot never waits for a connection.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx2
import orjson
import structlog

from sergas import errors
from sergas.auth.hook import ZohoAuth
from sergas.errors import SergasError, error_from_zoho
from sergas.tiers.core.calls import CallKind, ZohoCalls

if TYPE_CHECKING:
    from sergas.auth.manager import TokenManager
    from sergas.settings import Settings

__all__ = ["CORRELATION_HEADER", "Reply", "RestHTTP"]

CORRELATION_HEADER = "X-Correlation-ID"
USER_AGENT = "sergas-rest"
Transport = httpx2.AsyncBaseTransport | None  # None: httpx2's own (tests pass an ASGI one)


@dataclass(frozen=True)
class Reply:
    """A successful answer: status, parsed JSON (None for 204/304), raw bytes for files."""

    status: int
    body: Any = None
    content: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)


class RestHTTP:
    """Owns the shared client; every call of tier 3 goes through `request` or `download`."""

    def __init__(self, settings: Settings, tokens: TokenManager, transport: Transport) -> None:
        self.settings = settings
        self.api_domain = settings.api_domain
        self.upload_url = settings.file_upload_url
        self.calls = ZohoCalls("rest", settings, tokens.user)
        self.concurrency = settings.zoho_concurrency
        self._auth = ZohoAuth(tokens)
        self._transport = transport
        self._client: httpx2.AsyncClient | None = None

    @property
    def client(self) -> httpx2.AsyncClient:
        """Created on first use, inside the event loop that will use it."""
        if self._client is None:
            timeout = self.settings.http_timeout
            self._client = httpx2.AsyncClient(
                auth=self._auth,
                base_url=self.api_domain,
                timeout=httpx2.Timeout(timeout, pool=None),  # the gate bounds the wait
                limits=httpx2.Limits(
                    max_connections=self.concurrency,
                    max_keepalive_connections=self.concurrency,
                    keepalive_expiry=60.0,
                ),
                headers={"User-Agent": USER_AGENT},
                event_hooks={"request": [_add_correlation_id]},
                transport=self._transport,
                follow_redirects=False,
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def request(
        self,
        method: str,
        path: str,
        kind: CallKind,
        *,
        records: int = 0,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        files: Any = None,
        headers: Mapping[str, str] | None = None,
        items: bool = False,
        idempotent: bool | None = None,
        retry: bool = True,
    ) -> Reply:
        """One logical call through the choke point. `idempotent` defaults to True for GET,
        PUT and DELETE; POST (inserts, job creation) is retried only after a 429. COQL is a
        POST that reads, so it says `idempotent=True`. `retry=False` sends once."""
        if idempotent is None:
            idempotent = method.upper() != "POST"
        call = self.calls.call(kind, records=records, idempotent=idempotent)
        return await self.calls.run(
            call,
            lambda: self._send(method, path, params, json, files, headers, items),
            retry=retry,
        )

    async def download(self, url: str) -> bytes:
        """A file (bulk results). Relative URLs are on the API domain."""
        reply = await self.request("GET", url, CallKind.DOWNLOAD)
        return reply.content

    async def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        json: Any,
        files: Any,
        headers: Mapping[str, str] | None,
        items: bool,
    ) -> Reply:
        try:
            response = await self.client.request(
                method,
                path,
                params=_clean(params),
                content=orjson.dumps(json) if json is not None else None,
                files=files,
                headers=_json_headers(headers, json is not None),
            )
        except httpx2.TimeoutException as exc:
            raise errors.TimeoutError(
                f"Zoho did not answer {method} {_bare(path)} in time ({type(exc).__name__})",
                details={"method": method, "path": _bare(path)},
            ) from None
        except httpx2.HTTPError as exc:
            raise errors.ConnectionError(
                f"Zoho could not be reached for {method} {_bare(path)} ({type(exc).__name__})",
                details={"method": method, "path": _bare(path)},
            ) from None
        return _reply(response, items)


async def _add_correlation_id(request: httpx2.Request) -> None:
    """Forward the correlation id the manager bound in structlog's contextvars."""
    correlation_id = structlog.contextvars.get_contextvars().get("correlation_id")
    if correlation_id:
        request.headers[CORRELATION_HEADER] = str(correlation_id)


def _clean(params: Mapping[str, Any] | None) -> dict[str, str] | None:
    if not params:
        return None
    # None when nothing is left: httpx2 parses the URL once more for any params, even {}.
    return {k: _param(v) for k, v in params.items() if v is not None} or None


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def _json_headers(headers: Mapping[str, str] | None, has_json: bool) -> dict[str, str]:
    out = dict(headers or {})
    if has_json:
        out.setdefault("Content-Type", "application/json")
    return out


def _bare(path: str) -> str:
    """A path without its query string, for messages."""
    return path.split("?", 1)[0]


def _reply(response: httpx2.Response, items: bool) -> Reply:
    status = response.status_code
    headers = response.headers
    if status in (204, 304):
        return Reply(status, None, b"", headers)
    content = response.content
    body = _json(response)
    if 200 <= status < 300:
        return Reply(status, body, content, headers)
    if items and isinstance(body, dict) and isinstance(body.get("data"), list):
        return Reply(status, body, content, headers)  # per-record outcomes (207, 400)
    raise zoho_error(status, body, headers)


def _json(response: httpx2.Response) -> Any:
    kind = response.headers.get("content-type", "")
    if "json" not in kind and not response.content.lstrip().startswith((b"{", b"[")):
        return None
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None


def zoho_error(status: int, body: Any, headers: Mapping[str, str]) -> SergasError:
    """The Sergas error for a non-2xx answer, whatever shape its body has."""
    if isinstance(body, dict) and isinstance(body.get("data"), list) and body["data"]:
        first = body["data"][0]
        body = first if isinstance(first, dict) else body
    if not isinstance(body, dict):
        return error_from_zoho(None, status, f"Zoho answered HTTP {status}", _retry_after(headers))
    code = body.get("code") or body.get("error")
    details = body.get("details") if isinstance(body.get("details"), dict) else {}
    details = {**(details or {}), **_retry_after(headers)}
    message = str(body.get("message") or body.get("error_description") or "")
    return error_from_zoho(str(code) if code else None, status, message, details)


def _retry_after(headers: Mapping[str, str]) -> dict[str, Any]:
    raw = headers.get("retry-after")
    if raw and raw.strip().isdigit():
        return {"retry_after": int(raw.strip())}
    return {}
