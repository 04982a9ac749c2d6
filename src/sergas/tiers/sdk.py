"""Tier 2: Zoho CRM through Zoho's official Python SDK (zohocrmsdk8-0).

**The SDK is initialized once per process** (its configuration is one class attribute): one
Zoho environment and one Zoho user per process. A second ZohoSDKClient for the same target
shares the initialization; one for another user or environment raises ConfigError while the
first is open. Switching users per call is not supported. See `sdk_runtime` and
docs/tiers.md.

Threads: the SDK is synchronous (`requests`, one new connection per call). Every SDK call
runs in a worker thread, at most SERGAS_SDK_THREADS at a time (and never more than the org's
ZOHO_CONCURRENCY), through `anyio.to_thread` with a CapacityLimiter, so the event loop never
blocks. The SDK asks our token store for the token on every request; the store hops back to
the event loop that owns the TokenManager, which is free because it is only awaiting the
thread. Heavy calls (COQL, search, writes of more than 10 records) are further held to
Zoho's sub-concurrency of 10.

Layers: public operation → `run()` (retries from `sergas.tiers.retry`, caps) → worker thread
→ `sdk_runtime.invoke` (the SDK call; 401 refresh; errors mapped; model → plain dicts in the
thread, off the loop) → SDK → Zoho.

Strategies and shapes follow the REST tier, so both return the same records: `fields=None`
means every field (at most 50); criteria iterate by COQL pages keyed by id; bulk reads count
first and use COQL pages or a Bulk Read job; bulk updates use update_records of 100 in
parallel or Bulk Write above SERGAS_BULK_WRITE_THRESHOLD.

Correlation id: a `correlation_id` in structlog's contextvars goes out as X-Correlation-ID
on the calls whose SDK method takes a HeaderMap (records, search, Bulk Write upload). COQL,
Bulk Read, Bulk Write job and metadata calls take no headers in the SDK, so they go without.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import anyio
import anyio.to_thread
from zohocrmsdk.src.com.zoho.crm.api.coql import BodyWrapper as CoqlBody
from zohocrmsdk.src.com.zoho.crm.api.coql import CoqlOperations
from zohocrmsdk.src.com.zoho.crm.api.org import OrgOperations
from zohocrmsdk.src.com.zoho.crm.api.record import (
    BodyWrapper,
    GetRecordParam,
    GetRecordsParam,
    SearchRecordsParam,
)

from sergas import errors
from sergas.errors import NotFoundError, SergasError, error_from_zoho
from sergas.query import CoqlQuery, Criteria, F, api_name
from sergas.tiers.base import (
    BulkResult,
    HealthStatus,
    ReadStrategy,
    Record,
    RecordResult,
    TierName,
)
from sergas.tiers.paging import COQL_PAGE, pages_then_walk, walk_by_id
from sergas.tiers.retry import RetryPolicy
from sergas.tiers.sdk_convert import InvalidValue, to_plain, to_sdk_record
from sergas.tiers.sdk_jobs import SDKJobs
from sergas.tiers.sdk_meta import SDKMetadata
from sergas.tiers.sdk_runtime import (
    SDKTarget,
    TierTokenStore,
    attach,
    detach,
    invoke,
    parameters,
    sdk_config,
)
from sergas.tiers.sdk_write import (
    SUB_CONCURRENCY,
    SDKWriter,
    record_ops,
    request_headers,
    results,
    sdk_record_id,
)

if TYPE_CHECKING:
    from sergas.auth.manager import TokenManager
    from sergas.settings import Settings

__all__ = ["ZohoSDKClient"]

PAGE = 200  # records per page
SEARCH_CAP = 2000  # the search API's limit
COQL_OFFSET_CAP = 100_000


class ZohoSDKClient:
    """Tier 2. Cheap to build; the SDK is attached on the first call (see module doc)."""

    name: TierName = "sdk"

    def __init__(self, settings: Settings, tokens: TokenManager) -> None:
        self.settings = settings
        self.tokens = tokens
        self.target = SDKTarget.from_settings(settings, tokens.user)
        self.threads = max(1, min(settings.sdk_threads, settings.zoho_concurrency))
        self.retry = RetryPolicy.from_settings(settings)
        self.bulk_read_threshold = settings.bulk_read_threshold
        self.meta = SDKMetadata(self.run)
        self.jobs = SDKJobs(self.run, self.meta, settings)
        self.writer = SDKWriter(
            self.run,
            self.meta,
            self.jobs,
            threshold=settings.bulk_write_threshold,
            parallel=min(SUB_CONCURRENCY, self.threads),
        )
        self.last_strategy = ""  # how the last bulk read went: "coql" or "bulk"
        self._store: TierTokenStore | None = None
        self._limiter: anyio.CapacityLimiter | None = None
        self._heavy: asyncio.Semaphore | None = None
        self._start = asyncio.Lock()
        self._closed = False

    def __repr__(self) -> str:
        return f"ZohoSDKClient(api_domain={self.target.api_domain!r}, user={self.target.user!r})"

    async def aclose(self) -> None:
        """Release the SDK (it stays initialized for the process; see `sdk_runtime`)."""
        self._closed = True
        store, self._store = self._store, None
        if store is not None:
            await anyio.to_thread.run_sync(detach, store)

    # -- the one way to call the SDK ---------------------------------------------------------

    async def run(
        self,
        call: Callable[..., Any],
        *args: Any,
        after: Callable[[Any], Any] | None = None,
        heavy: bool = False,
        idempotent: bool = True,
        with_status: bool = False,
    ) -> Any:
        """`call(*args)` in a worker thread, then `after(model)` there too (with the HTTP
        status as `(status, value)` when `with_status`); retried per `sergas.tiers.retry`
        (only after Zoho's 429 when not idempotent)."""
        store = await self._started()
        return await self.retry.call(
            lambda: self._attempt(store, call, args, after, heavy, with_status),
            idempotent=idempotent,
        )

    async def _attempt(
        self,
        store: TierTokenStore,
        call: Callable[..., Any],
        args: tuple[Any, ...],
        after: Callable[[Any], Any] | None,
        heavy: bool,
        with_status: bool = False,
    ) -> Any:
        assert self._limiter is not None and self._heavy is not None
        gate = self._heavy if heavy else contextlib.nullcontext()
        async with gate:
            return await anyio.to_thread.run_sync(
                invoke, store, call, args, after, with_status, limiter=self._limiter
            )

    async def _started(self) -> TierTokenStore:
        if self._store is not None:
            return self._store
        async with self._start:
            if self._closed:
                raise errors.ConfigError("this ZohoSDKClient is closed")
            if self._store is None:
                self._limiter = anyio.CapacityLimiter(self.threads)
                self._heavy = asyncio.Semaphore(min(SUB_CONCURRENCY, self.threads))
                store = TierTokenStore(self.tokens, asyncio.get_running_loop())
                config = sdk_config(self.settings.http_timeout)
                await anyio.to_thread.run_sync(
                    attach, self.target, store, config, limiter=self._limiter
                )
                self._store = store
        return self._store

    # -- reads -------------------------------------------------------------------------------

    async def get_accounts(
        self,
        *,
        limit: int = PAGE,
        page: int = 1,
        sort_by: str | None = None,
        sort_order: Literal["asc", "desc"] | None = None,
        fields: Sequence[str] | None = None,
        module: str = "Accounts",
    ) -> list[Record]:
        params = parameters(
            (GetRecordsParam.fields, ",".join(await self._fields(module, fields))),
            (GetRecordsParam.page, page),
            (GetRecordsParam.per_page, limit),
            (GetRecordsParam.sort_by, api_name(sort_by) if sort_by else None),
            (GetRecordsParam.sort_order, sort_order),
        )
        records, _ = await self.run(
            record_ops(module).get_records, params, request_headers(), after=_page
        )
        return list(records)

    async def iter_accounts(
        self,
        *,
        criteria: Criteria | None = None,
        fields: Sequence[str] | None = None,
        module: str = "Accounts",
    ) -> AsyncIterator[Record]:
        """Pages of 200 through page tokens; with criteria, COQL pages of 2,000 keyed by id
        (the search API stops at 2,000 matches, COQL's offset at 100,000). Page tokens stop
        at 100,000 records too: past that, COQL by id carries on below the last id seen."""
        columns = await self._fields(module, fields)
        if criteria is not None:
            source = self._walk(module, columns, criteria)
        else:
            source = pages_then_walk(
                self._pages(module, columns),
                lambda below: self._walk(module, columns, None, below=below),
            )
        async for record in source:
            yield record

    def _walk(
        self, module: str, columns: list[str], criteria: Criteria | None, below: int | None = None
    ) -> AsyncIterator[Record]:
        return walk_by_id(self.coql, self.meta.with_owner_emails, module, columns, criteria, below)

    async def _pages(self, module: str, columns: list[str]) -> AsyncIterator[Record]:
        page, token = 1, None
        while True:
            params = parameters(
                (GetRecordsParam.fields, ",".join(columns)),
                (GetRecordsParam.per_page, PAGE),
                (GetRecordsParam.page_token, token),
                (GetRecordsParam.page, None if token else page),
            )
            records, info = await self.run(
                record_ops(module).get_records, params, request_headers(), after=_page
            )
            for record in records:
                yield record
            if not info.get("more_records"):
                return
            token = info.get("next_page_token")
            page += 1

    async def get_account(
        self, record_id: str, *, fields: Sequence[str] | None = None, module: str = "Accounts"
    ) -> Record:
        params = parameters(
            (GetRecordParam.fields, ",".join(api_name(f) for f in fields) if fields else None)
        )
        records, _ = await self.run(
            record_ops(module).get_record,
            sdk_record_id(record_id),
            params,
            request_headers(),
            after=_page,
        )
        if not records:
            raise NotFoundError(
                f"no {module} record with id {record_id}",
                details={"module": module, "id": record_id},
            )
        return dict(records[0])

    async def search_accounts(
        self,
        criteria: Criteria,
        *,
        limit: int = PAGE,
        fields: Sequence[str] | None = None,
        module: str = "Accounts",
    ) -> list[Record]:
        """Zoho's search API; `limit` is capped at its 2,000 results."""
        wanted = max(0, min(limit, SEARCH_CAP))
        found: list[Record] = []
        page = 1
        while len(found) < wanted:
            params = parameters(
                (SearchRecordsParam.criteria, criteria.to_search()),
                (SearchRecordsParam.page, page),
                (SearchRecordsParam.per_page, min(PAGE, wanted)),
                (SearchRecordsParam.fields, ",".join(map(api_name, fields)) if fields else None),
            )
            records, info = await self.run(
                record_ops(module).search_records,
                params,
                request_headers(),
                after=_page,
                heavy=True,
            )
            found.extend(records)
            if not info.get("more_records"):
                break
            page += 1
        return found[:wanted]

    async def coql(self, query: str | CoqlQuery) -> list[Record]:
        """COQL's rows as Zoho sends them (the caller chose the columns)."""
        body = CoqlBody()
        body.set_select_query(query.render() if isinstance(query, CoqlQuery) else query)
        records, _ = await self.run(CoqlOperations().get_records, body, after=_page, heavy=True)
        return list(records)

    async def bulk_read_accounts(
        self,
        *,
        criteria: Criteria | None = None,
        fields: Sequence[str] | None = None,
        module: str = "Accounts",
        strategy: ReadStrategy = "auto",
    ) -> list[Record]:
        """COUNT first (1 credit); up to SERGAS_BULK_READ_THRESHOLD rows by COQL pages in
        parallel, above it by a Bulk Read job (the REST tier's rule, see `rest_read`).
        `strategy` "coql" or "bulk" forces one of the two."""
        columns = await self._fields(module, fields)
        if strategy == "bulk":
            self.last_strategy = "bulk"
            return await self.jobs.read(module, criteria, columns)
        expected = await self._count(module, criteria)
        if strategy == "auto" and expected is not None and expected > self.bulk_read_threshold:
            self.last_strategy = "bulk"
            return await self.jobs.read(module, criteria, columns)
        self.last_strategy = "coql"
        return await self._coql_all(module, criteria, columns, expected or 0)

    async def _count(self, module: str, criteria: Criteria | None) -> int | None:
        where = (criteria or F("id").is_not_null()).to_coql()
        try:
            rows = await self.coql(f"select COUNT(id) from {api_name(module)} where {where}")
        except errors.InvalidDataError:
            return None
        return int(rows[0].get("COUNT(id)") or 0) if rows else 0

    async def _coql_all(
        self, module: str, criteria: Criteria | None, columns: list[str], expected: int
    ) -> list[Record]:
        base = criteria or F("id").is_not_null()

        def page(where: Criteria, offset: int) -> CoqlQuery:
            return CoqlQuery(
                module,
                columns,
                where=where,
                order_by=(("id", "asc"),),
                limit=COQL_PAGE,
                offset=offset,
            )

        offsets = range(0, min(expected, COQL_OFFSET_CAP), COQL_PAGE)
        pages = await asyncio.gather(*(self.coql(page(base, o)) for o in offsets))
        rows = [row for p in pages for row in p]
        if not pages or len(pages[-1]) == COQL_PAGE:  # more past the cap, or added since
            last = max((int(r["id"]) for r in rows), default=None)
            while True:
                more = await self.coql(page(base if last is None else (F("id") > last) & base, 0))
                rows.extend(more)
                if len(more) < COQL_PAGE:
                    break
                last = int(more[-1]["id"])
        unique = list({str(r["id"]): r for r in rows}.values())
        return await self.meta.with_owner_emails(module, unique)

    # -- writes ------------------------------------------------------------------------------

    async def update_account(
        self, record_id: str, data: Mapping[str, Any], *, module: str = "Accounts"
    ) -> RecordResult:
        """One record; a rejected record raises the mapped error (InvalidDataError, …)."""
        rid = sdk_record_id(record_id)
        infos = await self.meta.infos(module)
        try:
            record = to_sdk_record({k: v for k, v in data.items() if k != "id"}, infos)
        except InvalidValue as bad:
            refused = bad.result(0, str(record_id))
            raise error_from_zoho(
                refused.code, None, refused.message, dict(refused.details)
            ) from None
        body = BodyWrapper()
        body.set_data([record])
        status, outcome = await self.run(
            record_ops(module).update_record,
            rid,
            body,
            request_headers(),
            after=lambda m: results(m, [0], [str(record_id)]),
            with_status=True,
        )
        result: RecordResult = outcome[0]
        if not result.ok:
            raise error_from_zoho(result.code, status, result.message, dict(result.details))
        return result

    async def bulk_update_accounts(
        self, records: Sequence[Mapping[str, Any]], *, module: str = "Accounts"
    ) -> BulkResult:
        """One outcome per input record, in input order (see `sdk_write`)."""
        return await self.writer.update(api_name(module), records)

    # -- health ------------------------------------------------------------------------------

    async def health_check(self) -> HealthStatus:
        """GET /crm/v8/org through the SDK, once, no retries."""
        started = time.perf_counter()
        try:
            store = await self._started()
            await self._attempt(store, OrgOperations().get_organization, (), None, False)
        except SergasError as exc:
            elapsed = (time.perf_counter() - started) * 1000
            return HealthStatus(self.name, False, elapsed, f"{exc.code}: {exc.message}")
        return HealthStatus(self.name, True, (time.perf_counter() - started) * 1000)

    async def _fields(self, module: str, fields: Sequence[str] | None) -> list[str]:
        if fields:
            return [api_name(f) for f in fields]
        return await self.meta.default_fields(module)


# -- helpers that run in the worker thread or build SDK arguments ------------------------------


def _page(model: Any) -> tuple[list[Record], dict[str, Any]]:
    """A records answer as plain records and its `info` (empty for 204)."""
    if model is None:
        return [], {}
    records = [to_plain(r) for r in model.get_data() or []]
    info = to_plain(model.get_info()) if hasattr(model, "get_info") else None
    return records, info if isinstance(info, dict) else {}
