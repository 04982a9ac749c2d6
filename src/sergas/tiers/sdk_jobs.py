"""Bulk Read and Bulk Write jobs through the SDK: create, poll, download, unzip, convert.

Bulk Read: one job per 200,000-row page (Zoho's page size), criteria as the SDK's Criteria
model, the CSV typed by field metadata (`sdk_convert.typed_row`). Bulk Write (updates only):
the records as one zipped CSV (`Id` plus the union of their fields, `ignore_empty`, `find_by
id`), uploaded with the org's zgid, then a job; its result CSV lists the rows in upload order,
each becoming one RecordResult. Which records may take this path is decided by the caller
(`csv_ready`): an empty cell cannot clear a field when `ignore_empty` is on.

Polls wait as the REST tier's do (`rest_read.Poller`: doubling from SERGAS_BULK_POLL_INITIAL
to SERGAS_BULK_POLL_MAX, for at most SERGAS_BULK_TIMEOUT). Job creation and uploads are not
idempotent and are retried only after a 429.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Mapping, Sequence
from typing import Any

from zohocrmsdk.src.com.zoho.crm.api import bulk_read as br
from zohocrmsdk.src.com.zoho.crm.api import bulk_write as bw
from zohocrmsdk.src.com.zoho.crm.api.fields import MinifiedField
from zohocrmsdk.src.com.zoho.crm.api.header_map import HeaderMap
from zohocrmsdk.src.com.zoho.crm.api.modules import MinifiedModule
from zohocrmsdk.src.com.zoho.crm.api.util import Choice, StreamWrapper

from sergas import errors
from sergas.errors import SergasError, error_from_zoho
from sergas.query import Criteria, api_name
from sergas.settings import Settings
from sergas.tiers.base import Record, RecordResult
from sergas.tiers.bulk_files import csv_rows, job_error, row_result, zip_csv
from sergas.tiers.rest_read import Poller
from sergas.tiers.sdk_convert import USER_TYPES, bulk_columns, choice_text, to_plain, typed_row
from sergas.tiers.sdk_meta import SDKCall, SDKMetadata

__all__ = ["JOB_ROWS", "SDKJobs"]

JOB_ROWS = 25_000  # Zoho's rows per Bulk Write file
_FAILED = ("FAILURE", "FAILED")


class SDKJobs:
    def __init__(self, run: SDKCall, meta: SDKMetadata, settings: Settings) -> None:
        self.run = run
        self.meta = meta
        self.poller = Poller(settings)

    # -- Bulk Read ---------------------------------------------------------------------------

    async def read(
        self, module: str, criteria: Criteria | None, columns: Sequence[str]
    ) -> list[Record]:
        infos = await self.meta.infos(module)
        fields = [c for c in columns if c != "id"]
        owners = any(f in infos and infos[f].data_type in USER_TYPES for f in fields)
        users = await self.meta.users() if owners else {}
        wanted = bulk_columns(fields, infos)
        page: int | None = 1
        token: str | None = None
        records: list[Record] = []
        while True:
            job_id: int = await self.run(
                _create_read,
                module,
                wanted,
                criteria,
                page,
                token,
                after=_created_id,
                idempotent=False,
            )
            result = await self.poller.until(
                functools.partial(self._read_state, job_id), f"Bulk Read job {job_id}"
            )
            rows = await self.run(
                br.BulkReadOperations().download_result,
                job_id,
                after=lambda m: [typed_row(r, fields, infos, users) for r in _zip_rows(m)],
            )
            records.extend(rows)
            if not result.get("more_records"):
                return records
            token = result.get("next_page_token") or None
            page = None if token else int(result.get("page") or 1) + 1

    async def _read_state(self, job_id: int) -> dict[str, Any] | None:
        job: dict[str, Any] = await self.run(
            br.BulkReadOperations().get_bulk_read_job_details, job_id, after=_first_plain
        )
        state = str(job.get("state") or "")
        if state == "COMPLETED":
            return dict(job.get("result") or {})
        if state in _FAILED:
            raise job_error(job, str(job_id))
        return None

    # -- Bulk Write --------------------------------------------------------------------------

    async def update(
        self,
        module: str,
        records: Sequence[Mapping[str, Any]],
        part: Sequence[int],
        headers: Mapping[str, str],
    ) -> list[RecordResult]:
        """One Bulk Write job updating `records[i] for i in part` (at most JOB_ROWS)."""
        archive = zip_csv(module, [records[i] for i in part])
        zgid = await self.meta.zgid()
        file_id = await self.run(
            lambda: bw.BulkWriteOperations().upload_file(
                _upload_body(module, archive), _upload_headers(zgid, headers)
            ),
            after=lambda m: str(to_plain(m.get_details())["file_id"]),
            idempotent=False,
        )
        job_id = await self.run(
            lambda: bw.BulkWriteOperations().create_bulk_write_job(_write_request(module, file_id)),
            after=lambda m: str(to_plain(m.get_details())["id"]),
            idempotent=False,
        )
        job = await self.poller.until(
            functools.partial(self._write_state, job_id), f"Bulk Write job {job_id}"
        )
        url = str((job.get("result") or {}).get("download_url") or "")
        rows = await self.run(
            bw.BulkWriteOperations().download_bulk_write_result, url, after=_zip_rows
        )
        return [row_result(rows, n, i, str(records[i]["id"])) for n, i in enumerate(part)]

    async def _write_state(self, job_id: str) -> dict[str, Any] | None:
        job: dict[str, Any] = await self.run(
            bw.BulkWriteOperations().get_bulk_write_job_details, job_id, after=to_plain
        )
        status = str(job.get("status") or "")
        if status == "COMPLETED":
            return job
        if status in _FAILED:
            raise job_error(job, job_id)
        return None


# -- requests (built in the worker thread, so the SDK's setter checks map like its calls) ---


def _create_read(
    module: str, columns: list[str], criteria: Criteria | None, page: int | None, token: str | None
) -> Any:
    body = _read_body(module, columns, criteria, page, token)
    return br.BulkReadOperations().create_bulk_read_job(body)


def _module(name: str) -> Any:
    module = MinifiedModule()
    module.set_api_name(api_name(name))
    return module


def _read_body(
    module: str, columns: list[str], criteria: Criteria | None, page: int | None, token: str | None
) -> Any:
    query = br.Query()
    query.set_module(_module(module))
    query.set_fields(columns)
    if criteria is not None:
        query.set_criteria(_criteria(criteria.to_bulk()))
    if token:
        query.set_page_token(token)
    elif page is not None:
        query.set_page(page)
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
    headers.request_headers.update(extra)  # add() has no spec for them (see sdk_write)
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
