"""/v1/jobs: queue a job (write scope), list and show jobs (read scope), cancel (write scope).

The same as `sergas jobs …` (`sergas.jobs.queue.Queue`). The queue is opened with the
service (`sergas.jobs.queue.open_queue`) when the database is PostgreSQL; on SQLite every
call answers 503 JOBS_UNAVAILABLE, saying why.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict

from sergas.jobs.queue import JobAlreadyQueued, Queue
from sergas.service.auth import Reader, Writer, get_runtime
from sergas.service.errors import ApiError, JSONResponse
from sergas.sweep.lease import SweepRunning

__all__ = ["router"]

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])

JobId = Annotated[int, Path(ge=1, description="The job's id")]


class EnqueueRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task: Literal["sweep", "approvals"]


def get_queue(request: Request) -> Queue:
    queue: Queue | None = getattr(request.app.state, "queue", None)
    if queue is None:
        reason = getattr(request.app.state, "queue_error", "the job queue is not open")
        raise ApiError(503, "JOBS_UNAVAILABLE", reason)
    return queue


@router.post("", status_code=201, summary="Queue a job (a sweep refuses a second one: 409)")
async def enqueue(request: Request, body: EnqueueRequest, _: Writer) -> JSONResponse:
    queue = get_queue(request)
    try:
        job = await queue.enqueue(body.task, get_runtime(request).scope)
    except (JobAlreadyQueued, SweepRunning) as exc:
        raise ApiError(409, exc.code, exc.message, exc.details) from None
    return JSONResponse(job, 201)


@router.get("", summary="The newest jobs first")
async def list_jobs(
    request: Request,
    _: Reader,
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
    shards: bool = False,
) -> JSONResponse:
    jobs = await get_queue(request).recent(limit=limit, shards=shards)
    return JSONResponse({"data": jobs, "info": {"count": len(jobs)}})


@router.get("/{job_id}", summary="One job: status, attempts, worker, times, result")
async def show(request: Request, job_id: JobId, _: Reader) -> JSONResponse:
    return JSONResponse(await get_queue(request).show(job_id))


@router.post("/{job_id}/cancel", summary="Cancel a queued job or stop a running one")
async def cancel(request: Request, job_id: JobId, _: Writer) -> JSONResponse:
    queue = get_queue(request)
    job = await queue.show(job_id)
    if job["status"] not in ("queued", "running"):
        raise ApiError(
            409,
            "NOT_CANCELLABLE",
            f"job {job_id} is {job['status']}: only a queued or running job can be cancelled",
            {"job_id": job_id, "status": job["status"]},
        )
    return JSONResponse(await queue.cancel(job_id))
