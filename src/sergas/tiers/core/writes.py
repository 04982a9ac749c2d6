"""The write strategies, once for every tier: one update, bulk updates by chunks or jobs,
inserts by chunks, and a note on a record.

Inserts (`create`): chunks of 100 records, all at once (1 credit per 10 records), one outcome
per input in input order, the new record's id in `.id`; a tier without inserts (MCP) raises
UnsupportedError before anything is sent. A note (`add_note`) is one insert under its parent
record; a refused one raises, as a single update does.

Bulk update (`bulk_update`):

- Up to SERGAS_BULK_WRITE_THRESHOLD records (default 10,000): updates of 100 records each
  (1 credit per 10 records, so 10 per call), all chunks at once; the choke point holds them
  to the org's cap and, being writes of more than 10 records, to Zoho's sub-concurrency of 10.
- Above it, on a tier with Bulk Write jobs: jobs of up to 25,000 rows (500 credits per job,
  plus polls). Updates of 100 cost the same 500 credits at 5,000 records; at 10,000 they cost
  twice a job, and a job's fixed time (upload, queue, polls, download) is paid back. Only
  records a CSV can say exactly go to a job (`bulk_files.csv_ready`); the others still go by
  chunks.

Every input record gets exactly one RecordResult, at its input position (`index`): a record
without a numeric "id" fails locally (MANDATORY_NOT_FOUND) and is not sent; a record Zoho's
answer says nothing about is NO_OUTCOME; when a whole call fails (connection, 5xx or 429
after retries) its records report that error's code. If nothing at all was written, that
error is raised instead, so the manager can fail over to another tier.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from sergas.errors import (
    InvalidDataError,
    NotFoundError,
    SergasError,
    UnsupportedError,
    error_from_zoho,
)
from sergas.log import get_logger
from sergas.tiers.base import BulkResult, RecordResult
from sergas.tiers.core.bulk_files import csv_ready
from sergas.tiers.core.jobs import Poller, write_by_job
from sergas.tiers.core.metadata import Metadata
from sergas.tiers.core.primitives import (
    BulkWriteJobs,
    Item,
    Primitives,
    RecordCreation,
    WriteAnswer,
)
from sergas.zoho_limits import BULK_WRITE_JOB_ROWS, WRITE_CHUNK

__all__ = [
    "NO_OUTCOME",
    "add_note",
    "bulk_update",
    "create",
    "item_result",
    "missing_record",
    "not_found",
    "update_one",
]

log = get_logger("sergas.tiers")

NO_OUTCOME = "NO_OUTCOME"  # Zoho's answer held no item for this record

# What one group of records (a chunk or a job) came to: its results, and its error when the
# whole call failed.
_Outcome = tuple[list[RecordResult], SergasError | None]


def item_result(item: Item | None, index: int, fallback_id: str | None) -> RecordResult:
    """One item of Zoho's write answer (`data[i]`) as a RecordResult; NO_OUTCOME for none."""
    if item is None:
        return RecordResult(fallback_id, False, NO_OUTCOME, "Zoho sent no outcome", {}, index)
    ok = item.get("status") == "success"
    raw = item.get("details")
    details: dict[str, Any] = dict(raw) if isinstance(raw, Mapping) else {}
    record_id = str(details["id"]) if ok and details.get("id") else fallback_id
    code = str(item.get("code") or ("SUCCESS" if ok else "UNKNOWN_ERROR"))
    return RecordResult(record_id, ok, code, str(item.get("message") or ""), details, index)


async def update_one(
    tier: Primitives, module: str, record_id: str, data: Mapping[str, Any]
) -> RecordResult:
    """One record; a rejected record raises the mapped error (InvalidDataError, …), and a
    record that does not exist NotFoundError, worded as `get_account` words it."""
    changes = {k: v for k, v in data.items() if k != "id"}
    return await _single(tier.update_one(module, record_id, changes), module, record_id)


async def add_note(
    tier: Primitives, module: str, record_id: str, content: str, title: str | None
) -> RecordResult:
    """A note on the record; its id in `.id`. A refused note raises, a missing record as
    NotFoundError."""
    if not content.strip():
        raise InvalidDataError("a note needs some text", details={"api_name": "Note_Content"})
    note = {"Note_Content": content, **({"Note_Title": title} if title else {})}
    try:
        return await _single(tier.add_note(module, record_id, note), module, record_id, new=True)
    except InvalidDataError as exc:
        # POST /Notes (the SDK's way) names a missing parent as an invalid Parent_Id.
        if exc.code == "INVALID_DATA" and exc.details.get("api_name") == "Parent_Id":
            raise not_found(module, record_id, exc) from None
        raise


async def _single(
    sent: Awaitable[WriteAnswer], module: str, record_id: str, *, new: bool = False
) -> RecordResult:
    """The outcome of a call that wrote one record (`record_id`'s, or a `new` one under it):
    a refusal raises, and "no such record" as NotFoundError."""
    own = None if new else record_id
    try:
        answer = await sent
        result = item_result(answer.items[0] if answer.items else None, 0, own)
        if result.code == NO_OUTCOME:
            raise SergasError(f"Zoho returned no outcome for record {record_id}", code=NO_OUTCOME)
        if not result.ok:
            details = dict(result.details)
            raise error_from_zoho(result.code, answer.status, result.message, details)
    except InvalidDataError as exc:
        # Zoho's "the id given seems to be invalid" (an item, or a tool's error): no such record.
        if missing_record(exc):
            raise not_found(module, record_id, exc) from None
        raise
    return result


def not_found(module: str, record_id: str, exc: SergasError) -> NotFoundError:
    """Worded as `get_account` words it."""
    return NotFoundError(
        f"no {module} record with id {record_id}",
        http_status=exc.http_status,
        details={"module": module, "id": record_id},
    )


def missing_record(exc: SergasError) -> bool:
    """Zoho's "the id given seems to be invalid" for the record a call names: the field `id`
    of a write item, or the path's record id (`resource_path_index` 1)."""
    return exc.code == "INVALID_DATA" and (
        exc.details.get("api_name") == "id" or exc.details.get("resource_path_index") == 1
    )


def _failure(index: int, record_id: str | None, exc: SergasError) -> RecordResult:
    return RecordResult(record_id, False, exc.code, exc.message, dict(exc.details), index)


async def bulk_update(
    tier: Primitives,
    meta: Metadata,
    poller: Poller,
    threshold: int,
    module: str,
    records: Sequence[Mapping[str, Any]],
) -> BulkResult:
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
    jobs = tier if isinstance(tier, BulkWriteJobs) else None
    by_job: list[int] = []
    if jobs is not None and len(valid) > threshold:
        by_job = [i for i in valid if csv_ready(records[i])]
    chosen = set(by_job)
    by_chunk = [i for i in valid if i not in chosen]
    strategy = "+".join(s for s, used in (("bulk", by_job), ("put", by_chunk)) if used)
    log.info("bulk update", tier=tier.name, module=module, records=len(records), strategy=strategy)

    groups = [
        by_job[i : i + BULK_WRITE_JOB_ROWS] for i in range(0, len(by_job), BULK_WRITE_JOB_ROWS)
    ]
    chunks = [by_chunk[i : i + WRITE_CHUNK] for i in range(0, len(by_chunk), WRITE_CHUNK)]
    by_jobs, by_chunks = await asyncio.gather(
        _jobs(jobs, meta, poller, module, records, groups),
        asyncio.gather(*(_chunk(tier, module, records, chunk) for chunk in chunks)),
    )
    outcomes = [*by_jobs, *by_chunks]
    for batch, _ in outcomes:
        for result in batch:
            results[result.index] = result
    failures = [error for _, error in outcomes if error is not None]
    if failures and len(failures) == len(outcomes):  # nothing was written
        raise failures[0]
    return BulkResult(
        tuple(
            r if r is not None else item_result(None, i, _id(records[i]))
            for i, r in enumerate(results)
        )
    )


async def _jobs(
    jobs: BulkWriteJobs | None,
    meta: Metadata,
    poller: Poller,
    module: str,
    records: Sequence[Mapping[str, Any]],
    groups: list[list[int]],
) -> list[_Outcome]:
    """One Bulk Write job per group, one after another."""
    done: list[_Outcome] = []
    for part in groups:
        assert jobs is not None
        try:
            done.append((await write_by_job(jobs, meta, poller, module, records, part), None))
        except SergasError as exc:
            done.append(([_failure(i, str(records[i]["id"]), exc) for i in part], exc))
    return done


def _id(record: Mapping[str, Any]) -> str | None:
    value = record.get("id")
    return str(value) if value is not None else None


async def _chunk(
    tier: Primitives, module: str, records: Sequence[Mapping[str, Any]], chunk: list[int]
) -> _Outcome:
    ids: list[str | None] = [str(records[i]["id"]) for i in chunk]
    body = [{**records[i], "id": rid} for i, rid in zip(chunk, ids, strict=True)]
    return await _sent(lambda: tier.put_chunk(module, body), chunk, ids)


Send = Callable[[], Awaitable[WriteAnswer]]


async def _sent(send: Send, chunk: list[int], ids: list[str | None]) -> _Outcome:
    """One chunk's outcomes, by input position; the call's error for each when it failed."""
    try:
        answer = await send()
    except SergasError as exc:
        return [_failure(i, rid, exc) for i, rid in zip(chunk, ids, strict=True)], exc
    items = answer.items
    return [
        item_result(items[n] if n < len(items) else None, i, rid)
        for n, (i, rid) in enumerate(zip(chunk, ids, strict=True))
    ], None


async def create(tier: Primitives, module: str, records: Sequence[Mapping[str, Any]]) -> BulkResult:
    """Insert `records` in chunks of WRITE_CHUNK (see the module doc)."""
    if not isinstance(tier, RecordCreation):
        raise UnsupportedError(
            f"the {tier.name} tier cannot create records; use the sdk or rest tier",
            details={"tier": tier.name, "operation": "create_records"},
        )
    creator = tier
    log.info("create", tier=tier.name, module=module, records=len(records))
    chunks = [
        list(range(i, min(i + WRITE_CHUNK, len(records))))
        for i in range(0, len(records), WRITE_CHUNK)
    ]

    def send(chunk: list[int]) -> Send:
        body = [{k: v for k, v in records[i].items() if k != "id"} for i in chunk]
        return lambda: creator.create_chunk(module, body)

    outcomes = await asyncio.gather(
        *(_sent(send(chunk), chunk, [None] * len(chunk)) for chunk in chunks)
    )
    failures = [error for _, error in outcomes if error is not None]
    if failures and len(failures) == len(outcomes):  # nothing was written
        raise failures[0]
    results = sorted((r for batch, _ in outcomes for r in batch), key=lambda r: r.index)
    return BulkResult(tuple(results))
