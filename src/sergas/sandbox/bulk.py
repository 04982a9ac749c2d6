"""Bulk Read and Bulk Write jobs (zoho-api.md §5, §6), driven by the sandbox clock.

A job's state is a function of the sandbox clock alone: ADDED for the first tenth of
`config.bulk_job_seconds`, IN PROGRESS until the whole duration has passed, COMPLETED after.
The work happens at the first observation after that (a status poll or a download): a read
job snapshots the matching records then, a write job applies its rows then. Nothing runs in
the background, and callbacks are validated and echoed but never called.

`BulkJobs` is the facade the backend (`Sandbox.bulk`) and the HTTP layer call; the
operations live in `bulk_read`, `bulk_write` and `bulk_apply`, what they share in `bulk_common`.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from sergas.sandbox.bulk_apply import result_archive, run_write, write_json
from sergas.sandbox.bulk_common import ADDED, COMPLETED, JOB_ID_BASE, Timeline, not_found
from sergas.sandbox.bulk_read import ReadJob, parse_read, read_json, run_read
from sergas.sandbox.bulk_write import UploadedFile, WriteJob, check_upload, parse_write
from sergas.sandbox.clock import iso
from sergas.sandbox.limits import BULK_READ_CREDITS, BULK_WRITE_CREDITS

if TYPE_CHECKING:
    from sergas.sandbox.backend import Caller, Sandbox


class BulkJobs:
    """All bulk jobs and uploaded files of one sandbox (in memory; `reset` drops them)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox
        self._ids = itertools.count(1)
        self.reads: dict[str, ReadJob] = {}
        self.writes: dict[str, WriteJob] = {}
        self.files: dict[str, UploadedFile] = {}

    def new_id(self) -> str:
        return str(JOB_ID_BASE + next(self._ids))

    def timeline(self) -> Timeline:
        now = self.sb.clock.now()
        return Timeline(now, now + max(0.0, self.sb.config.bulk_job_seconds))

    def created_by(self, user_id: str | None) -> dict[str, Any]:
        return self.sb.user_ref(user_id, email=False)

    # -- Bulk Read -----------------------------------------------------------------------

    async def create_read(self, caller: Caller, body: Any) -> dict[str, Any]:
        """POST /crm/bulk/v8/read: validate, charge 50 credits, queue. Returns the `data` item.

        `body` is the job as Zoho's JSON describes it (query, fields, criteria, callback)."""
        async with self.sb.api_call(caller):
            job = parse_read(self, body, caller.user_id)
            self.sb.limits.charge(BULK_READ_CREDITS)
            self.reads[job.id] = job
        return {
            "status": "success",
            "code": "ADDED_SUCCESSFULLY",
            "message": "Added successfully.",
            "details": {
                "id": job.id,
                "operation": "read",
                "state": ADDED,
                "created_by": job.created_by,
                "created_time": iso(job.timeline.created_at),
            },
        }

    def _read_job(self, job_id: str) -> ReadJob:

        job = self.reads.get(job_id)
        if job is None:
            raise not_found(job_id)
        if job.archive is None and job.timeline.state(self.sb.clock.now()) == COMPLETED:
            run_read(self.sb, job)
        return job

    async def read_status(self, caller: Caller, job_id: str) -> dict[str, Any]:
        """GET /crm/bulk/v8/read/{id}: the job as Zoho shows it (the `data` item)."""
        async with self.sb.api_call(caller):
            self.sb.limits.charge(1)
            job = self._read_job(job_id)
            return read_json(job, job.timeline.state(self.sb.clock.now()))

    async def read_result(self, caller: Caller, job_id: str) -> tuple[str, bytes]:
        """GET /crm/bulk/v8/read/{id}/result: (file name, zip); 404 until completed."""
        async with self.sb.api_call(caller):
            self.sb.limits.charge(1)
            job = self._read_job(job_id)
            if job.archive is None:
                raise not_found(job_id)
            return f"{job.id}.zip", job.archive

    # -- Bulk Write ----------------------------------------------------------------------

    async def upload(
        self,
        caller: Caller,
        data: bytes | None,
        *,
        size: int,
        name: str | None,
        feature: str | None,
        org: str | None,
    ) -> dict[str, Any]:
        """POST /crm/v8/upload: check the headers and the zip (`data` None: no file part)."""
        async with self.sb.api_call(caller):
            self.sb.limits.charge(1)
            check_upload(self.sb, data, size=size, feature=feature, org=org)
            assert data is not None  # check_upload raised otherwise
            file = UploadedFile(self.new_id(), name or "upload.zip", data, self.sb.clock.now())
            self.files[file.id] = file
        return {
            "status": "success",
            "code": "FILE_UPLOAD_SUCCESS",
            "message": "file uploaded.",
            "details": {"file_id": file.id, "created_time": iso(file.created_at)},
        }

    async def create_write(self, caller: Caller, body: Any) -> dict[str, Any]:
        """POST /crm/bulk/v8/write: validate against the uploaded file, charge 500 credits."""
        async with self.sb.api_call(caller):
            job = parse_write(self, body, caller.user_id)
            self.sb.limits.charge(BULK_WRITE_CREDITS)
            self.writes[job.id] = job
        return {
            "status": "success",
            "code": "SUCCESS",
            "message": "success",
            "details": {"id": job.id, "created_by": job.created_by},
        }

    def _write_job(self, job_id: str, *, status: int | None = None) -> WriteJob:
        job = self.writes.get(job_id)
        if job is None:
            raise not_found(job_id, status)
        if job.outcomes is None and job.timeline.state(self.sb.clock.now()) == COMPLETED:
            run_write(self.sb, job)
        return job

    async def write_status(self, caller: Caller, job_id: str) -> dict[str, Any]:
        """GET /crm/bulk/v8/write/{id}: the top-level job object, with an absolute result URL."""
        async with self.sb.api_call(caller):
            self.sb.limits.charge(1)
            # Zoho's bulk-write spec answers an unknown job with 400 (bulk read says 404).
            job = self._write_job(job_id, status=400)
            state = job.timeline.state(self.sb.clock.now())
            url = f"{self.sb.config.base_url.rstrip('/')}/crm/bulk/v8/write/{job.id}/result"
            return write_json(job, state, url)

    async def write_result(self, caller: Caller, job_id: str) -> tuple[str, bytes]:
        """GET <download_url>: (file name, zip of the per-row results); 404 until completed."""
        async with self.sb.api_call(caller):
            self.sb.limits.charge(1)
            job = self._write_job(job_id)
            if job.outcomes is None:
                raise not_found(job_id)
            return f"{job.id}.zip", result_archive(job)
