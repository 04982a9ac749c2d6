"""Bulk Read and Bulk Write jobs through the SDK (the core's `BulkReadJobs` and `BulkWriteJobs`
primitives, in `SDKJobCalls`), and the small helpers every SDK records call shares.

Bulk Read: the job's criteria as the SDK's Criteria model. Bulk Write (updates only): the
zipped CSV uploaded with the org's zgid, then a job (`find_by` id, `ignore_empty`). The SDK
hands a download over as the `requests` response; its zip is read here. Job creation and
uploads are not idempotent: retried only after a 429.
"""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

import structlog
from zohocrmsdk.src.com.zoho.crm.api import bulk_read as br
from zohocrmsdk.src.com.zoho.crm.api import bulk_write as bw
from zohocrmsdk.src.com.zoho.crm.api.fields import MinifiedField
from zohocrmsdk.src.com.zoho.crm.api.header_map import HeaderMap
from zohocrmsdk.src.com.zoho.crm.api.modules import MinifiedModule
from zohocrmsdk.src.com.zoho.crm.api.record import RecordOperations
from zohocrmsdk.src.com.zoho.crm.api.util import Choice, StreamWrapper

from sergas import errors
from sergas.errors import SergasError, error_from_zoho
from sergas.query import api_name
from sergas.tiers.core.bulk_files import csv_rows
from sergas.tiers.core.calls import CallKind
from sergas.tiers.core.primitives import ReadJob
from sergas.tiers.sdk_convert import choice_text, to_plain

__all__ = ["CORRELATION_HEADER", "SDKJobCalls", "correlation_id", "record_ops", "request_headers"]

CORRELATION_HEADER = "X-Correlation-ID"


# -- shared helpers ------------------------------------------------------------------------


def record_ops(module: str) -> Any:
    return RecordOperations(api_name(module))


def correlation_id() -> str | None:
    """The correlation id the caller bound in structlog's contextvars (read on the loop)."""
    value = structlog.contextvars.get_contextvars().get("correlation_id")
    return str(value) if value else None


def request_headers(since: datetime | None = None) -> Any:
    """A HeaderMap carrying X-Correlation-ID and, with `since`, If-Modified-Since (ISO 8601,
    as Zoho's docs write it); None when there is neither."""
    values: dict[str, str] = {}
    if (value := correlation_id()) is not None:
        values[CORRELATION_HEADER] = value
    if since is not None:
        values["If-Modified-Since"] = since.isoformat(timespec="seconds")
    if not values:
        return None
    headers = HeaderMap()
    # HeaderMap.add() turns a str of a header it has no spec for into "None": set them directly.
    headers.request_headers.update(values)
    return headers


# -- the job primitives --------------------------------------------------------------------


class SDKJobCalls:
    """Bulk job primitives over `run` (`SDKPrimitives.run`: a worker thread, the choke point)."""

    run: Callable[..., Awaitable[Any]]  # (kind, call, *args, after=, records=, idempotent=)

    async def create_read_job(self, job: ReadJob) -> str:
        created = await self.run(
            CallKind.BULK_READ, _create_read, job, after=_created_id, idempotent=False
        )
        return str(created)

    async def read_job(self, job_id: str) -> dict[str, Any]:
        ops = br.BulkReadOperations()
        job: dict[str, Any] = await self.run(
            CallKind.JOB_STATUS, ops.get_bulk_read_job_details, int(job_id), after=_first_plain
        )
        return job

    async def download_read(self, job_id: str, result: Mapping[str, Any]) -> list[dict[str, str]]:
        ops = br.BulkReadOperations()
        rows: list[dict[str, str]] = await self.run(
            CallKind.DOWNLOAD, ops.download_result, int(job_id), after=_zip_rows
        )
        return rows

    async def upload(self, module: str, archive: bytes, rows: int, zgid: str) -> str:
        extra = {CORRELATION_HEADER: value} if (value := correlation_id()) else {}
        file_id = await self.run(
            CallKind.UPLOAD,
            lambda: bw.BulkWriteOperations().upload_file(
                _upload_body(module, archive), _upload_headers(zgid, extra)
            ),
            after=lambda m: str(to_plain(m.get_details())["file_id"]),
            records=rows,
            idempotent=False,
        )
        return str(file_id)

    async def create_write_job(self, module: str, file_id: str) -> str:
        job_id = await self.run(
            CallKind.BULK_WRITE,
            lambda: bw.BulkWriteOperations().create_bulk_write_job(_write_request(module, file_id)),
            after=lambda m: str(to_plain(m.get_details())["id"]),
            idempotent=False,
        )
        return str(job_id)

    async def write_job(self, job_id: str) -> dict[str, Any]:
        ops = bw.BulkWriteOperations()
        job: dict[str, Any] = await self.run(
            CallKind.JOB_STATUS, ops.get_bulk_write_job_details, job_id, after=to_plain
        )
        return job

    async def download_write(self, url: str) -> list[dict[str, str]]:
        ops = bw.BulkWriteOperations()
        rows: list[dict[str, str]] = await self.run(
            CallKind.DOWNLOAD, ops.download_bulk_write_result, url, after=_zip_rows
        )
        return rows


# -- requests (built in the worker thread, so the SDK's setter checks map like its calls) ---


def _create_read(job: ReadJob) -> Any:
    return br.BulkReadOperations().create_bulk_read_job(_read_body(job))


def _module(name: str) -> Any:
    module = MinifiedModule()
    module.set_api_name(api_name(name))
    return module


def _read_body(job: ReadJob) -> Any:
    query = br.Query()
    query.set_module(_module(job.module))
    query.set_fields(job.columns)
    if job.criteria is not None:
        query.set_criteria(_criteria(job.criteria.to_bulk()))
    if job.page_token:
        query.set_page_token(job.page_token)
    elif job.page is not None:
        query.set_page(job.page)
    body = br.BodyWrapper()
    body.set_query(query)
    body.set_file_type("csv")
    return body


def _criteria(node: Mapping[str, Any]) -> Any:
    """`Criteria.to_bulk()` JSON as the SDK's Criteria model."""
    criteria = br.Criteria()
    if "group" in node:
        criteria.set_group_operator(Choice(node["group_operator"]))
        criteria.set_group([_criteria(part) for part in node["group"]])
        return criteria
    field = MinifiedField()
    field.set_api_name(node["field"]["api_name"])
    criteria.set_field(field)
    criteria.set_comparator(Choice(node["comparator"]))
    criteria.set_value(node["value"])
    return criteria


def _upload_body(module: str, archive: bytes) -> Any:
    stream = io.BytesIO(archive)
    stream.name = f"{module}.zip"  # requests names the multipart file after it
    body = bw.FileBodyWrapper()
    body.set_file(StreamWrapper(name=stream.name, stream=stream))
    return body


def _upload_headers(zgid: str, extra: Mapping[str, str]) -> Any:
    headers = HeaderMap()
    headers.add(bw.UploadFileHeader.feature, "bulk-write")
    headers.add(bw.UploadFileHeader.x_crm_org, zgid)
    headers.request_headers.update(extra)  # add() has no spec for them (see request_headers)
    return headers


def _write_request(module: str, file_id: str) -> Any:
    resource = bw.Resource()
    resource.set_type(Choice("data"))
    resource.set_module(_module(module))
    resource.set_file_id(file_id)
    resource.set_find_by("id")
    request = bw.RequestWrapper()
    request.set_operation(Choice("update"))
    request.set_character_encoding("UTF-8")
    request.set_ignore_empty(True)
    request.set_resource([resource])
    return request


# -- answers -------------------------------------------------------------------------------


def _created_id(model: Any) -> int:
    (item,) = model.get_data()
    if choice_text(item.get_status()) != "success":
        raise error_from_zoho(
            choice_text(item.get_code()), None, choice_text(item.get_message()), {}
        )
    return int(to_plain(item.get_details())["id"])


def _first_plain(model: Any) -> dict[str, Any]:
    data = model.get_data() if model is not None else None
    if not data:
        raise errors.ServerError("Zoho returned no job details")
    plain: dict[str, Any] = to_plain(data[0])
    return plain


def _zip_rows(model: Any) -> list[dict[str, str]]:
    """The CSV inside a downloaded zip (the SDK hands over the `requests` response)."""
    try:
        content = model.get_file().get_stream().content
    except AttributeError:
        raise SergasError(
            "Zoho's bulk result came without a file", code="BULK_RESULT_UNREADABLE"
        ) from None
    return csv_rows(content)
