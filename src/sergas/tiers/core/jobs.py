"""Zoho's bulk jobs over a tier's primitives: create, poll, download, read the CSV.

Bulk Read: one job per page of up to 200,000 rows (Zoho's page; `more_records` and a page
token lead to the next), criteria as Zoho's bulk criteria, the CSV typed by field metadata
(`bulk_files.typed_row`). Bulk Write (updates only): the records as one zipped CSV (`Id`
plus the union of their fields, `ignore_empty`, `find_by` id), uploaded with the org's zgid,
then a job; its result CSV lists the rows in upload order, each becoming one RecordResult.
Which records may take this path is decided by the caller (`bulk_files.csv_ready`).

Polls wait doubling from SERGAS_BULK_POLL_INITIAL to SERGAS_BULK_POLL_MAX, for at most
SERGAS_BULK_TIMEOUT. Job creation and uploads are not idempotent: the adapters send them as
such, so they are retried only after a 429.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sergas import errors
from sergas.query import Criteria
from sergas.tiers.base import Record, RecordResult
from sergas.tiers.core.bulk_files import (
    OWNER_TYPES,
    bulk_columns,
    job_error,
    row_result,
    typed_row,
    zip_csv,
)
from sergas.tiers.core.primitives import BulkReadJobs, BulkWriteJobs, ReadJob

if TYPE_CHECKING:
    from sergas.settings import Settings
    from sergas.tiers.core.metadata import Metadata

__all__ = ["Poller", "read_by_job", "write_by_job"]

_FAILED = ("FAILURE", "FAILED")


class Poller:
    """Waits between bulk job polls: doubling from `initial` to `maximum`, until `timeout`."""

    def __init__(self, settings: Settings) -> None:
        self.initial = settings.bulk_poll_initial
        self.maximum = settings.bulk_poll_max
        self.timeout = settings.bulk_timeout

    async def until(
        self, check: Callable[[], Awaitable[dict[str, Any] | None]], what: str
    ) -> dict[str, Any]:
        """Call `check()` (the finished job, or None) until it is done."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        delay = self.initial
        while True:
            done = await check()
            if done is not None:
                return done
            if loop.time() + delay > deadline:
                raise errors.TimeoutError(
                    f"{what} did not finish within {self.timeout:g} s",
                    details={"timeout": self.timeout},
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.maximum)


async def read_by_job(
    jobs: BulkReadJobs,
    meta: Metadata,
    poller: Poller,
    module: str,
    criteria: Criteria | None,
    columns: Sequence[str],
) -> list[Record]:
    """Every matching record through Bulk Read jobs, page after page."""
    types = await meta.field_types(module)
    fields = [c for c in columns if c != "id"]
    owners = any((types.get(f) or {}).get("data_type") in OWNER_TYPES for f in fields)
    users = await meta.users() if owners else {}
    job = ReadJob(module, bulk_columns(fields, types), criteria)
    records: list[Record] = []
    while True:
        job_id = await jobs.create_read_job(job)

        async def check(job_id: str = job_id) -> dict[str, Any] | None:
            state = await jobs.read_job(job_id)
            if state.get("state") == "COMPLETED":
                return dict(state.get("result") or {})
            if state.get("state") in _FAILED:
                raise job_error(state, job_id)
            return None

        result = await poller.until(check, f"Bulk Read job {job_id}")
        rows = await jobs.download_read(job_id, result)
        records.extend(typed_row(row, fields, types, users) for row in rows)
        if not result.get("more_records"):
            return records
        token = result.get("next_page_token") or None
        page = None if token else int(result.get("page") or 1) + 1
        job = ReadJob(module, job.columns, criteria, page, token)


async def write_by_job(
    jobs: BulkWriteJobs,
    meta: Metadata,
    poller: Poller,
    module: str,
    records: Sequence[Mapping[str, Any]],
    part: Sequence[int],
) -> list[RecordResult]:
    """One Bulk Write job updating `records[i] for i in part` (at most BULK_WRITE_JOB_ROWS)."""
    archive = zip_csv(module, [records[i] for i in part])
    file_id = await jobs.upload(module, archive, len(part), await meta.org_zgid(jobs))
    job_id = await jobs.create_write_job(module, file_id)

    async def check() -> dict[str, Any] | None:
        job = await jobs.write_job(job_id)
        if job.get("status") == "COMPLETED":
            return job
        if job.get("status") in _FAILED:
            raise job_error(job, job_id)
        return None

    job = await poller.until(check, f"Bulk Write job {job_id}")
    rows = await jobs.download_write(str((job.get("result") or {}).get("download_url") or ""))
    return [row_result(rows, n, i, str(records[i]["id"])) for n, i in enumerate(part)]
