"""Bulk updates for tier 3: parallel PUTs of 100, or Bulk Write jobs above a size threshold.

- Up to SERGAS_BULK_WRITE_THRESHOLD records (default 10,000): PUT /{module} with 100 records
  each (1 credit per 10 records, so 10 per call), min(org cap, 10) calls in flight: writes of
  more than 10 records count against Zoho's sub-concurrency of 10.
- Above it: Bulk Write (zip upload, then a job with find_by "id"; 500 credits per job of up to
  25,000 rows, plus polls). PUTs cost the same 500 credits at 5,000 records; at 10,000 they
  cost twice a job, and a job's fixed time (upload, queue, polls, download) is paid back.
  Only records a CSV can say exactly go to the job: scalar values and lookups by id. A None
  or "" (clearing a field) cannot be told from "leave it" with `ignore_empty`, and lists or
  subforms have no CSV form, so those records take the PUT path.

Every input record gets exactly one RecordResult, at its input position (`index`). A record
without a numeric "id" fails locally (MANDATORY_NOT_FOUND) and is not sent. When a whole call
fails (connection, 5xx or 429 after retries), its records report that error's code; if no
record at all was written that way, the error is raised instead, so the manager can fail
over to another tier.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import structlog

from sergas.errors import SergasError
from sergas.query import api_name
from sergas.tiers.base import BulkResult, RecordResult
from sergas.tiers.bulk_files import csv_ready, csv_rows, job_error, row_result, zip_csv
from sergas.tiers.rest_http import SUB_CONCURRENCY
from sergas.tiers.rest_read import Poller

if TYPE_CHECKING:
    from sergas.settings import Settings
    from sergas.tiers.rest_http import RestHTTP
    from sergas.tiers.rest_meta import Metadata

__all__ = ["PUT_CHUNK", "BulkWriter", "item_result"]

log = structlog.get_logger("sergas.tiers.rest")

PUT_CHUNK = 100  # Zoho's records per write call
LIGHT_WRITE = 10  # writes of more records than this are "heavy" (sub-concurrency)
JOB_ROWS = 25_000  # Zoho's rows per Bulk Write file


def item_result(item: Mapping[str, Any], index: int, fallback_id: str | None) -> RecordResult:
    """One item of Zoho's write response `data` as a RecordResult."""
    ok = item.get("status") == "success"
    raw = item.get("details")
    details: dict[str, Any] = dict(raw) if isinstance(raw, dict) else {}
    record_id = str(details["id"]) if ok and details.get("id") else fallback_id
    code = str(item.get("code") or ("SUCCESS" if ok else "UNKNOWN_ERROR"))
    return RecordResult(record_id, ok, code, str(item.get("message") or ""), details, index)


def _failure(index: int, record_id: str | None, exc: SergasError) -> RecordResult:
    return RecordResult(record_id, False, exc.code, exc.message, dict(exc.details), index)


class BulkWriter:
    def __init__(self, http: RestHTTP, meta: Metadata, settings: Settings) -> None:
        self.http = http
        self.meta = meta
        self.threshold = settings.bulk_write_threshold
        self.parallel = min(http.concurrency, SUB_CONCURRENCY)
        self.poller = Poller(settings)
        self.last_strategy = ""  # "put" or "bulk" (or "bulk+put"), for tests and logs

    async def update(self, module: str, records: Sequence[Mapping[str, Any]]) -> BulkResult:
        results: list[RecordResult | None] = [None] * len(records)
        valid: list[int] = []
        for index, record in enumerate(records):
            rid = record.get("id")
            if rid is None or not str(rid).isdigit():
                results[index] = RecordResult(
                    str(rid) if rid is not None else None,
                    False,
                    "MANDATORY_NOT_FOUND",
                    "the record has no numeric id",
                    {"api_name": "id"},
                    index,
                )
            else:
                valid.append(index)
        by_job: list[int] = []
        if len(valid) > self.threshold:
            by_job = [i for i in valid if csv_ready(records[i])]
        chosen = set(by_job)
        by_put = [i for i in valid if i not in chosen]
        self.last_strategy = "+".join(s for s, used in (("bulk", by_job), ("put", by_put)) if used)
        log.info("bulk update", module=module, records=len(records), strategy=self.last_strategy)
        errors: list[SergasError] = []
        written = 0
        for outcome in await asyncio.gather(
            self._jobs(module, records, by_job), self._puts(module, records, by_put)
        ):
            batch, failures, sent = outcome
            errors.extend(failures)
            written += sent
            for result in batch:
                results[result.index] = result
        if errors and written == 0:
            raise errors[0]
        assert all(r is not None for r in results)
        return BulkResult(tuple(r for r in results if r is not None))

    # -- PUT ----------------------------------------------------------------------------------

    async def _puts(
        self, module: str, records: Sequence[Mapping[str, Any]], indexes: list[int]
    ) -> tuple[list[RecordResult], list[SergasError], int]:
        gate = asyncio.Semaphore(self.parallel)
        chunks = [indexes[i : i + PUT_CHUNK] for i in range(0, len(indexes), PUT_CHUNK)]
        done = await asyncio.gather(*(self._put(module, records, c, gate) for c in chunks))
        results = [r for batch, _ in done for r in batch]
        errors = [e for _, e in done if e is not None]
        return results, errors, sum(1 for _, e in done if e is None)

    async def _put(
        self,
        module: str,
        records: Sequence[Mapping[str, Any]],
        chunk: list[int],
        gate: asyncio.Semaphore,
    ) -> tuple[list[RecordResult], SergasError | None]:
        body = {"data": [{**records[i], "id": str(records[i]["id"])} for i in chunk]}
        async with gate:
            try:
                reply = await self.http.request(
                    "PUT",
                    f"/crm/v8/{api_name(module)}",
                    json=body,
                    items=True,
                    heavy=len(chunk) > LIGHT_WRITE,
                )
            except SergasError as exc:
                return [_failure(i, str(records[i]["id"]), exc) for i in chunk], exc
        items = (reply.body or {}).get("data") or []
        out = []
        for position, index in enumerate(chunk):
            rid = str(records[index]["id"])
            if position < len(items) and isinstance(items[position], dict):
                out.append(item_result(items[position], index, rid))
            else:
                out.append(
                    RecordResult(rid, False, "NO_OUTCOME", "Zoho sent no outcome", {}, index)
                )
        return out, None

    # -- Bulk Write ---------------------------------------------------------------------------

    async def _jobs(
        self, module: str, records: Sequence[Mapping[str, Any]], indexes: list[int]
    ) -> tuple[list[RecordResult], list[SergasError], int]:
        results: list[RecordResult] = []
        errors: list[SergasError] = []
        sent = 0
        for start in range(0, len(indexes), JOB_ROWS):
            part = indexes[start : start + JOB_ROWS]
            try:
                results.extend(await self._job(module, records, part))
                sent += 1
            except SergasError as exc:
                errors.append(exc)
                results.extend(_failure(i, str(records[i]["id"]), exc) for i in part)
        return results, errors, sent

    async def _job(
        self, module: str, records: Sequence[Mapping[str, Any]], part: list[int]
    ) -> list[RecordResult]:
        archive = zip_csv(module, [records[i] for i in part])
        upload = await self.http.request(
            "POST",
            self.http.upload_url + "/crm/v8/upload",
            files={"file": (f"{module}.zip", archive, "application/zip")},
            headers={"feature": "bulk-write", "X-CRM-ORG": await self.meta.org_zgid()},
        )
        file_id = str(upload.body["details"]["file_id"])
        resource = {
            "type": "data",
            "module": {"api_name": module},
            "file_id": file_id,
            "find_by": "id",
        }
        body = {
            "operation": "update",
            "ignore_empty": True,
            "character_encoding": "UTF-8",
            "resource": [resource],
        }
        created = await self.http.request("POST", "/crm/bulk/v8/write", json=body)
        job_id = str(created.body["details"]["id"])

        async def check() -> dict[str, Any] | None:
            job = (await self.http.request("GET", f"/crm/bulk/v8/write/{job_id}")).body
            if job.get("status") == "COMPLETED":
                return dict(job)
            if job.get("status") in ("FAILED", "FAILURE"):
                raise job_error(job, job_id)
            return None

        job = await self.poller.until(check, f"Bulk Write job {job_id}")
        rows = csv_rows(await self.http.download(str(job["result"]["download_url"])))
        return [row_result(rows, n, i, str(records[i]["id"])) for n, i in enumerate(part)]
