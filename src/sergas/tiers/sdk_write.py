"""Bulk updates for tier 2: update_records of 100 in parallel, or Bulk Write jobs above a size
threshold; plus the small helpers every SDK records call shares.

The rule is the REST tier's (`rest_write`), so both report the same outcomes:

- Up to SERGAS_BULK_WRITE_THRESHOLD records: update_records with 100 records each, at most
  min(SERGAS_SDK_THREADS, 10) in flight (writes of more than 10 records count against Zoho's
  sub-concurrency of 10).
- Above it: Bulk Write jobs for the records a CSV can say exactly (`bulk_files.csv_ready`); the
  rest still go by update_records.

Every input record gets exactly one RecordResult, at its input position. A record without a
numeric id fails locally (MANDATORY_NOT_FOUND); a value that fits its field's type in no way
fails locally (INVALID_DATA, as Zoho would answer); neither is sent. When a whole call fails
(connection, 5xx or 429 after retries) its records report that error's code; if nothing at
all was written, the error is raised instead, so the manager can fail over.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import structlog
from zohocrmsdk.src.com.zoho.crm.api.header_map import HeaderMap
from zohocrmsdk.src.com.zoho.crm.api.record import BodyWrapper, RecordOperations

from sergas.errors import NotFoundError, SergasError
from sergas.query import api_name
from sergas.tiers.base import BulkResult, RecordResult
from sergas.tiers.bulk_files import csv_ready
from sergas.tiers.sdk_convert import FieldInfo, InvalidValue, record_result, to_sdk_record
from sergas.tiers.sdk_errors import CLIENT_SIDE_CODES
from sergas.tiers.sdk_jobs import JOB_ROWS, SDKJobs
from sergas.tiers.sdk_meta import SDKCall, SDKMetadata

__all__ = [
    "CORRELATION_HEADER",
    "PUT_CHUNK",
    "SUB_CONCURRENCY",
    "SDKWriter",
    "correlation_id",
    "record_ops",
    "request_headers",
    "results",
    "sdk_record_id",
]

PUT_CHUNK = 100  # Zoho's records per write call
LIGHT_WRITE = 10  # writes of more records than this are "heavy"
SUB_CONCURRENCY = 10  # Zoho's cap on heavy calls
CORRELATION_HEADER = "X-Correlation-ID"


# -- shared helpers ------------------------------------------------------------------------


def record_ops(module: str) -> Any:
    return RecordOperations(api_name(module))


def sdk_record_id(record_id: str) -> int:
    """The SDK wants ids as ints; anything but digits cannot be a Zoho record."""
    if not str(record_id).isdigit():
        raise NotFoundError(f"not a Zoho record id: {record_id!r}", details={"id": record_id})
    return int(record_id)


def correlation_id() -> str | None:
    """The correlation id the caller bound in structlog's contextvars (read on the loop)."""
    value = structlog.contextvars.get_contextvars().get("correlation_id")
    return str(value) if value else None


def request_headers() -> Any:
    """A HeaderMap carrying X-Correlation-ID, or None when there is no correlation id."""
    value = correlation_id()
    if value is None:
        return None
    headers = HeaderMap()
    # HeaderMap.add() turns a str of a header it has no spec for into "None": set it directly.
    headers.request_headers[CORRELATION_HEADER] = value
    return headers


def results(model: Any, indexes: Sequence[int], ids: Sequence[str]) -> list[RecordResult]:
    """A write answer's items, in order, as RecordResults for `indexes` (worker thread)."""
    items = list(model.get_data() or []) if model is not None else []
    out = []
    for position, (index, rid) in enumerate(zip(indexes, ids, strict=True)):
        if position < len(items):
            out.append(record_result(items[position], index, rid))
        else:
            out.append(RecordResult(rid, False, "NO_OUTCOME", "Zoho sent no outcome", {}, index))
    return out


def _failure(index: int, record_id: str | None, exc: SergasError) -> RecordResult:
    return RecordResult(record_id, False, exc.code, exc.message, dict(exc.details), index)


# -- the writer ----------------------------------------------------------------------------


class SDKWriter:
    def __init__(
        self, run: SDKCall, meta: SDKMetadata, jobs: SDKJobs, *, threshold: int, parallel: int
    ) -> None:
        self.run = run
        self.meta = meta
        self.jobs = jobs
        self.threshold = threshold
        self.parallel = parallel
        self.last_strategy = ""  # "put", "bulk" or "bulk+put", for tests and logs

    async def update(self, module: str, records: Sequence[Mapping[str, Any]]) -> BulkResult:
        results_: list[RecordResult | None] = [None] * len(records)
        valid: list[int] = []
        for index, record in enumerate(records):
            rid = record.get("id")
            if rid is None or not str(rid).isdigit():
                results_[index] = RecordResult(
                    str(rid) if rid is not None else None,
                    False,
                    "MANDATORY_NOT_FOUND",
                    "the record has no numeric id",
                    {"api_name": "id"},
                    index,
                )
            else:
                valid.append(index)
        by_job = [i for i in valid if csv_ready(records[i])] if len(valid) > self.threshold else []
        chosen = set(by_job)
        by_put = [i for i in valid if i not in chosen]
        self.last_strategy = "+".join(s for s, used in (("bulk", by_job), ("put", by_put)) if used)
        failures: list[SergasError] = []
        written = 0
        for batch, errs, sent in await asyncio.gather(
            self._jobs(module, records, by_job), self._puts(module, records, by_put)
        ):
            failures.extend(errs)
            written += sent
            for result in batch:
                results_[result.index] = result
        if failures and written == 0:
            raise failures[0]
        return BulkResult(tuple(r for r in results_ if r is not None))

    # -- update_records ----------------------------------------------------------------------

    async def _puts(
        self, module: str, records: Sequence[Mapping[str, Any]], indexes: list[int]
    ) -> tuple[list[RecordResult], list[SergasError], int]:
        if not indexes:
            return [], [], 0
        infos = await self.meta.infos(module)
        out: list[RecordResult] = []
        ready: list[tuple[int, Any]] = []
        for index in indexes:
            built = _build(records[index], infos, index)
            if isinstance(built, RecordResult):
                out.append(built)
            else:
                ready.append((index, built))
        gate = asyncio.Semaphore(self.parallel)
        chunks = [ready[i : i + PUT_CHUNK] for i in range(0, len(ready), PUT_CHUNK)]
        done = await asyncio.gather(*(self._put(module, records, c, gate) for c in chunks))
        out.extend(r for batch, _ in done for r in batch)
        errs = [e for _, e in done if e is not None]
        return out, errs, sum(1 for _, e in done if e is None)

    async def _put(
        self,
        module: str,
        records: Sequence[Mapping[str, Any]],
        chunk: list[tuple[int, Any]],
        gate: asyncio.Semaphore,
    ) -> tuple[list[RecordResult], SergasError | None]:
        indexes = [i for i, _ in chunk]
        ids = [str(records[i]["id"]) for i in indexes]
        body = BodyWrapper()
        body.set_data([record for _, record in chunk])
        async with gate:
            try:
                found: list[RecordResult] = await self.run(
                    record_ops(module).update_records,
                    body,
                    request_headers(),
                    after=lambda m: results(m, indexes, ids),
                    heavy=len(chunk) > LIGHT_WRITE,
                )
                return found, None
            except SergasError as exc:
                error = exc
        failed = [_failure(i, rid, error) for i, rid in zip(indexes, ids, strict=True)]
        if error.code not in CLIENT_SIDE_CODES:
            return failed, error
        if len(chunk) == 1:  # the SDK refused this record's values before sending it
            return failed, None
        # The SDK refused one value for the whole batch: send the records one by one.
        done = await asyncio.gather(*(self._put(module, records, [c], gate) for c in chunk))
        errs = [e for _, e in done if e is not None]
        return [r for batch, _ in done for r in batch], errs[0] if errs else None

    # -- Bulk Write --------------------------------------------------------------------------

    async def _jobs(
        self, module: str, records: Sequence[Mapping[str, Any]], indexes: list[int]
    ) -> tuple[list[RecordResult], list[SergasError], int]:
        out: list[RecordResult] = []
        errs: list[SergasError] = []
        sent = 0
        extra = {CORRELATION_HEADER: value} if (value := correlation_id()) else {}
        for start in range(0, len(indexes), JOB_ROWS):
            part = indexes[start : start + JOB_ROWS]
            try:
                out.extend(await self.jobs.update(module, records, part, extra))
                sent += 1
            except SergasError as exc:
                errs.append(exc)
                out.extend(_failure(i, str(records[i]["id"]), exc) for i in part)
        return out, errs, sent


def _build(record: Mapping[str, Any], infos: Mapping[str, FieldInfo], index: int) -> Any:
    """The SDK Record for one update, or its local INVALID_DATA result."""
    try:
        return to_sdk_record(record, infos)
    except InvalidValue as bad:
        return bad.result(index, str(record["id"]))
