"""/v1/jobs: queue a job (write scope), list and show jobs (read scope), cancel (write scope).

The same as `sergas jobs …` (`sergas.jobs.queue.Queue`). The queue is opened with the
service (`sergas.jobs.queue.open_queue`); on a SQLite database, which has no queue, the
service has no /v1/jobs (the routes are not mounted, nor in /openapi.json).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from sergas.jobs.queue import JobAlreadyQueued, Queue
from sergas.service.auth import Reader, Writer, get_runtime
from sergas.service.errors import ApiError, JSONResponse
from sergas.service.responses import ErrorBody
from sergas.sweep.lease import SweepRunning

__all__ = ["router"]

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])

JobId = Annotated[int, Path(ge=1, description="The job's id")]


class EnqueueRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task: Literal["sweep", "approvals"] = Field(
        description="sweep, or approvals (complete approved changes left unapplied)"
    )


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Attempt(_Closed):
    attempt: int
    worker: str = Field(description="host:pid of the worker that ran it")
    started_at: str | None
    finished_at: str | None
    outcome: str = Field(
        description="succeeded, failed, interrupted, cancelled, running, or worker lost"
    )
    error: str | None


class Shard(_Closed):
    id: int
    status: str
    attempts: int
    worker: str | None
    summary: dict[str, Any] | None


class Job(_Closed):
    """A job as `sergas jobs show --json` prints it."""

    id: int
    task: str = Field(description="sweep, sweep_shard or apply_approvals")
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    scheduled: bool = Field(description="Queued by a schedule rather than by hand")
    args: dict[str, Any]
    attempts: int
    worker: str | None
    queued_at: str | None
    not_before: str | None
    started_at: str | None
    finished_at: str | None
    summary: dict[str, Any] | None = Field(description="A sweep's summary, or a job's result")
    error: str | None
    history: list[Attempt]
    shards: list[Shard] | None = Field(None, description="A sweep's shard jobs")


class JobList(_Closed):
    data: list[Job]
    info: dict[str, int]


def _errors(**meaning: str) -> dict[int | str, dict[str, Any]]:
    """Error answers in the one error shape (`meaning`: status "s401" → description)."""
    return {int(k[1:]): {"model": ErrorBody, "description": v} for k, v in meaning.items()}


_KEY = "No API key, not a key, or an unknown or revoked one"
_SCOPE = "A read-scope key (INSUFFICIENT_SCOPE)"
_SHAPE = "The request's shape (VALIDATION_ERROR, with details.errors)"
_NO_QUEUE = "The database is down, or the queue not open (JOBS_UNAVAILABLE)"
_NO_JOB = "No such job (RESOURCE_NOT_FOUND)"
_BODY = "The body is over SERGAS_SERVICE_MAX_BODY_BYTES (REQUEST_TOO_LARGE)"


def get_queue(request: Request) -> Queue:
    queue: Queue | None = getattr(request.app.state, "queue", None)
    if queue is None:  # served without its lifespan
        raise ApiError(503, "JOBS_UNAVAILABLE", "the job queue is not open")
    return queue


@router.post(
    "",
    status_code=201,
    summary="Queue a job (a sweep refuses a second one: 409)",
    response_model=Job,
    responses=_errors(
        s401=_KEY,
        s403=_SCOPE,
        s409="A sweep of this CRM is already queued or running (JOB_ALREADY_QUEUED, "
        "SWEEP_RUNNING), or an approvals job is queued",
        s413=_BODY,
        s422=_SHAPE,
        s503=_NO_QUEUE,
    ),
)
async def enqueue(request: Request, body: EnqueueRequest, _: Writer) -> JSONResponse:
    queue = get_queue(request)
    try:
        job = await queue.enqueue(body.task, get_runtime(request).scope)
    except (JobAlreadyQueued, SweepRunning) as exc:
        raise ApiError(409, exc.code, exc.message, exc.details) from None
    return JSONResponse(job, 201)


@router.get(
    "",
    summary="The newest jobs first",
    response_model=JobList,
    responses=_errors(s401=_KEY, s422=_SHAPE, s503=_NO_QUEUE),
)
async def list_jobs(
    request: Request,
    _: Reader,
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
    shards: bool = False,
) -> JSONResponse:
    jobs = await get_queue(request).recent(limit=limit, shards=shards)
    return JSONResponse({"data": jobs, "info": {"count": len(jobs)}})


@router.get(
    "/{job_id}",
    summary="One job: status, attempts, worker, times, result",
    response_model=Job,
    responses=_errors(s401=_KEY, s404=_NO_JOB, s422=_SHAPE, s503=_NO_QUEUE),
)
async def show(request: Request, job_id: JobId, _: Reader) -> JSONResponse:
    return JSONResponse(await get_queue(request).show(job_id))


@router.post(
    "/{job_id}/cancel",
    summary="Cancel a queued job or stop a running one",
    response_model=Job,
    responses=_errors(
        s401=_KEY,
        s403=_SCOPE,
        s404=_NO_JOB,
        s409="The job has ended (NOT_CANCELLABLE)",
        s413=_BODY,
        s422=_SHAPE,
        s503=_NO_QUEUE,
    ),
)
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
