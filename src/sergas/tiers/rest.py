"""Tier 3: Zoho CRM's REST API, straight over HTTP.

`ZohoRESTClient` is the core's `Tier` (sergas.tiers.core) over `RestPrimitives`: each
primitive is one REST call through `rest_http.RestHTTP` (one pooled httpx2 client per
client, authenticated by the TokenManager's hook, every request through the choke point).
The REST tier has every capability: a users call, inserts, Bulk Read and Bulk Write jobs.
Reads of what the core keeps a copy of send If-Modified-Since when asked to (`since`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx2

from sergas.query import api_name
from sergas.tiers.base import Record, TierName
from sergas.tiers.core import CallKind, Tier
from sergas.tiers.core.bulk_files import csv_rows
from sergas.tiers.core.primitives import Page, PageQuery, ReadJob, RelatedQuery, WriteAnswer
from sergas.tiers.rest_http import Reply, RestHTTP
from sergas.zoho_limits import USERS_PER_PAGE

if TYPE_CHECKING:
    from sergas.auth.manager import TokenManager
    from sergas.settings import Settings

__all__ = ["RestPrimitives", "ZohoRESTClient"]

CRM = "/crm/v8"
BULK = "/crm/bulk/v8"


class ZohoRESTClient(Tier):
    """Tier 3. `transport` lets tests run in process (an ASGI transport over the sandbox)."""

    name: TierName = "rest"

    def __init__(
        self,
        settings: Settings,
        tokens: TokenManager,
        *,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        self.rest = RestPrimitives(RestHTTP(settings, tokens, transport))
        self.http = self.rest.http
        super().__init__(self.rest, settings)

    def __repr__(self) -> str:
        return f"ZohoRESTClient(api_domain={self.http.api_domain!r})"


class RestPrimitives:
    """Zoho's calls over REST (see `core.primitives`)."""

    name: TierName = "rest"

    def __init__(self, http: RestHTTP) -> None:
        self.http = http
        self.calls = http.calls

    async def aclose(self) -> None:
        await self.http.aclose()

    # -- records -----------------------------------------------------------------------------

    async def list_page(self, query: PageQuery) -> Page:
        params = {
            "fields": list(query.fields or []),
            "page": query.page,
            "page_token": query.page_token,
            "per_page": query.per_page,
            "sort_by": query.sort_by,
            "sort_order": query.sort_order,
        }
        reply = await self.http.request("GET", _path(query.module), CallKind.READ, params=params)
        return _page(reply.body)

    async def search_page(self, query: PageQuery) -> Page:
        params = {
            "criteria": query.criteria,
            "page": query.page,
            "per_page": query.per_page,
            "fields": list(query.fields) if query.fields else None,
        }
        path = _path(query.module) + "/search"
        return _page((await self.http.request("GET", path, CallKind.SEARCH, params=params)).body)

    async def get_record(
        self, module: str, record_id: str, fields: Sequence[str] | None
    ) -> Record | None:
        params = {"fields": list(fields) if fields else None}
        path = _path(module, record_id)
        found = _data((await self.http.request("GET", path, CallKind.READ, params=params)).body)
        return found[0] if found else None

    async def coql(self, query: str) -> list[Record]:
        reply = await self.http.request(
            "POST", CRM + "/coql", CallKind.COQL, json={"select_query": query}, idempotent=True
        )
        return _data(reply.body)

    async def related_page(self, query: RelatedQuery) -> Page:
        return await self._related(query)

    async def notes_page(self, query: RelatedQuery) -> Page:
        return await self._related(query, sort_by="Created_Time", sort_order="desc")

    async def _related(self, query: RelatedQuery, **sort: str) -> Page:
        params = {
            "fields": list(query.fields),
            "page": query.page,
            "per_page": query.per_page,
            **sort,
        }
        path = f"{_path(query.module, query.record_id)}/{api_name(query.related_list)}"
        return _page((await self.http.request("GET", path, CallKind.READ, params=params)).body)

    async def deleted_page(
        self, module: str, kind: str, page: int, per_page: int, since: datetime | None
    ) -> Page:
        params = {"type": kind, "page": page, "per_page": per_page}
        reply = await self.http.request(
            "GET", _path(module) + "/deleted", CallKind.READ, params=params, headers=_since(since)
        )
        return _page(reply.body)

    async def count(self, module: str, criteria: str | None) -> int:
        reply = await self.http.request(
            "GET", _path(module) + "/actions/count", CallKind.READ, params={"criteria": criteria}
        )
        body = reply.body if isinstance(reply.body, dict) else {}
        return int(body.get("count") or 0)

    async def add_note(self, module: str, record_id: str, note: Mapping[str, Any]) -> WriteAnswer:
        return await self._write("POST", _path(module, record_id) + "/Notes", [note])

    async def create_chunk(self, module: str, records: Sequence[Mapping[str, Any]]) -> WriteAnswer:
        return await self._write("POST", _path(module), records)

    async def update_one(self, module: str, record_id: str, data: Mapping[str, Any]) -> WriteAnswer:
        return await self._write("PUT", _path(module, record_id), [data])

    async def put_chunk(self, module: str, records: Sequence[Mapping[str, Any]]) -> WriteAnswer:
        return await self._write("PUT", _path(module), records)

    async def _write(
        self, method: str, path: str, records: Sequence[Mapping[str, Any]]
    ) -> WriteAnswer:
        """A write of `records` as Zoho's `{"data": [...]}`; its per-record items."""
        reply = await self.http.request(
            method,
            path,
            CallKind.WRITE,
            records=len(records),
            json={"data": [dict(r) for r in records]},
            items=True,
        )
        return WriteAnswer(_items(reply.body), reply.status)

    # -- metadata ----------------------------------------------------------------------------

    async def fields(
        self, module: str, since: datetime | None = None
    ) -> list[dict[str, Any]] | None:
        reply = await self.http.request(
            "GET",
            CRM + "/settings/fields",
            CallKind.METADATA,
            params={"module": module},
            headers=_since(since),
        )
        if _not_modified(reply):
            return None
        body = reply.body if isinstance(reply.body, dict) else {}
        return list(body.get("fields") or [])

    async def users_page(
        self, page: int, since: datetime | None = None
    ) -> tuple[list[dict[str, Any]], bool] | None:
        params = {"type": "AllUsers", "page": page, "per_page": USERS_PER_PAGE}
        reply = await self.http.request(
            "GET", CRM + "/users", CallKind.METADATA, params=params, headers=_since(since)
        )
        if _not_modified(reply):
            return None
        body = reply.body if isinstance(reply.body, dict) else {}
        users = [u for u in body.get("users") or [] if isinstance(u, dict)]
        return users, bool((body.get("info") or {}).get("more_records"))

    async def org_zgid(self) -> str:
        reply = await self.http.request("GET", CRM + "/org", CallKind.METADATA)
        orgs = (reply.body or {}).get("org") or []
        return str(orgs[0].get("zgid") or "") if orgs else ""

    async def health(self) -> str:
        """GET /crm/v8/org once, no retries."""
        await self.http.request("GET", CRM + "/org", CallKind.HEALTH, retry=False)
        return ""

    # -- Bulk Read ---------------------------------------------------------------------------

    async def create_read_job(self, job: ReadJob) -> str:
        query: dict[str, Any] = {"module": {"api_name": job.module}, "fields": job.columns}
        if job.page_token:
            query["page_token"] = job.page_token
        else:
            query["page"] = job.page or 1
        if job.criteria is not None:
            query["criteria"] = job.criteria.to_bulk()
        reply = await self.http.request(
            "POST", BULK + "/read", CallKind.BULK_READ, json={"query": query, "file_type": "csv"}
        )
        return str(reply.body["data"][0]["details"]["id"])

    async def read_job(self, job_id: str) -> dict[str, Any]:
        reply = await self.http.request("GET", f"{BULK}/read/{job_id}", CallKind.JOB_STATUS)
        return dict(reply.body["data"][0])

    async def download_read(self, job_id: str, result: Mapping[str, Any]) -> list[dict[str, str]]:
        return csv_rows(await self.http.download(str(result["download_url"])))

    # -- Bulk Write --------------------------------------------------------------------------

    async def upload(self, module: str, archive: bytes, rows: int, zgid: str) -> str:
        reply = await self.http.request(
            "POST",
            self.http.upload_url + CRM + "/upload",
            CallKind.UPLOAD,
            records=rows,
            files={"file": (f"{module}.zip", archive, "application/zip")},
            headers={"feature": "bulk-write", "X-CRM-ORG": zgid},
        )
        return str(reply.body["details"]["file_id"])

    async def create_write_job(self, module: str, file_id: str) -> str:
        resource = {"type": "data", "module": {"api_name": module}, "file_id": file_id}
        body = {
            "operation": "update",
            "ignore_empty": True,
            "character_encoding": "UTF-8",
            "resource": [{**resource, "find_by": "id"}],
        }
        reply = await self.http.request("POST", BULK + "/write", CallKind.BULK_WRITE, json=body)
        return str(reply.body["details"]["id"])

    async def write_job(self, job_id: str) -> dict[str, Any]:
        reply = await self.http.request("GET", f"{BULK}/write/{job_id}", CallKind.JOB_STATUS)
        return dict(reply.body)

    async def download_write(self, url: str) -> list[dict[str, str]]:
        return csv_rows(await self.http.download(url))


def _path(module: str, record_id: str | None = None) -> str:
    """/crm/v8/{module}[/{id}]; the core checked that ids are digits."""
    path = f"{CRM}/{api_name(module)}"
    return path if record_id is None else f"{path}/{record_id}"


def _data(body: Any) -> list[Record]:
    if not isinstance(body, dict):
        return []
    data = body.get("data")
    return [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []


def _items(body: Any) -> list[dict[str, Any] | None]:
    """A write answer's items by position (a non-object item is no outcome)."""
    data = body.get("data") if isinstance(body, dict) else None
    return [i if isinstance(i, dict) else None for i in data] if isinstance(data, list) else []


def _page(body: Any) -> Page:
    """A list answer (204 and 304 have no body: no records)."""
    return Page.of(_data(body), body.get("info") if isinstance(body, dict) else None)


def _since(since: datetime | None) -> dict[str, str] | None:
    """If-Modified-Since, in ISO 8601 as Zoho's docs write it."""
    return {"If-Modified-Since": since.isoformat(timespec="seconds")} if since else None


def _not_modified(reply: Reply) -> bool:
    return reply.status == 304
