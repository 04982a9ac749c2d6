"""Tier 2: Zoho CRM through Zoho's official Python SDK (zohocrmsdk8-0).

`ZohoSDKClient` is the core's `Tier` (sergas.tiers.core) over `SDKPrimitives`: each
primitive is one SDK operation in a worker thread. The SDK tier has every capability: a
users call (If-Modified-Since sent when the core revalidates its copy), inserts, Bulk Read
and Bulk Write jobs (`sdk_jobs`); related records, notes, deleted records and counts are
in `sdk_activity`. The SDK's fields call takes no headers: fields are read in full.

**The SDK is initialized once per process** (its configuration is one class attribute): one
Zoho environment and one Zoho user per process. A second ZohoSDKClient for the same target
shares the initialization; one for another user or environment raises ConfigError while the
first is open. Switching users per call is not supported. See `sdk_runtime` and
docs/tiers.md.

Threads: the SDK is synchronous (`requests`, one new connection per call). Every SDK call
runs in a worker thread, at most SERGAS_SDK_THREADS at a time, through `anyio.to_thread`
with a CapacityLimiter, so the event loop never blocks. The SDK asks our token store for the
token on every request; the store hops back to the event loop that owns the TokenManager,
which is free because it is only awaiting the thread.

Layers: primitive → `run()` → the choke point (`core.calls`: retries, the process's cap)
→ worker thread → `sdk_runtime.invoke` (the SDK call; 401 refresh; errors mapped; model →
plain dicts in the thread, off the loop) → SDK → Zoho.

Correlation id: a `correlation_id` in structlog's contextvars goes out as X-Correlation-ID
on the calls whose SDK method takes a HeaderMap (records, search, Bulk Write upload). COQL,
Bulk Read, Bulk Write job and metadata calls take no headers in the SDK, so they go without.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
from zohocrmsdk.src.com.zoho.crm.api.coql import BodyWrapper as CoqlBody
from zohocrmsdk.src.com.zoho.crm.api.coql import CoqlOperations
from zohocrmsdk.src.com.zoho.crm.api.fields import FieldsOperations, GetFieldsParam
from zohocrmsdk.src.com.zoho.crm.api.org import OrgOperations
from zohocrmsdk.src.com.zoho.crm.api.record import (
    BodyWrapper,
    GetRecordParam,
    GetRecordsParam,
    SearchRecordsParam,
)
from zohocrmsdk.src.com.zoho.crm.api.users import GetUsersParam, UsersOperations

from sergas import errors
from sergas.errors import SergasError, error_from_zoho
from sergas.tiers.base import Record, TierName
from sergas.tiers.core import CallKind, Tier, ZohoCalls
from sergas.tiers.core.primitives import Item, Page, PageQuery, WriteAnswer
from sergas.tiers.sdk_activity import SDKActivityCalls, sdk_items, sdk_page
from sergas.tiers.sdk_convert import InvalidValue, field_info, plain_list, to_sdk_record
from sergas.tiers.sdk_errors import CLIENT_SIDE_CODES
from sergas.tiers.sdk_jobs import SDKJobCalls, record_ops, request_headers
from sergas.tiers.sdk_runtime import (
    SDKTarget,
    TierTokenStore,
    attach,
    detach,
    invoke,
    parameters,
    sdk_config,
)
from sergas.zoho_limits import USERS_PER_PAGE

if TYPE_CHECKING:
    from sergas.auth.manager import TokenManager
    from sergas.settings import Settings

__all__ = ["SDKPrimitives", "ZohoSDKClient"]


class ZohoSDKClient(Tier):
    """Tier 2. Cheap to build; the SDK is attached on the first call (see module doc)."""

    name: TierName = "sdk"

    def __init__(self, settings: Settings, tokens: TokenManager) -> None:
        self.sdk = SDKPrimitives(settings, tokens)
        super().__init__(self.sdk, settings)
        self.sdk.field_types = self.meta.field_types  # to type updates as the SDK wants

    def __repr__(self) -> str:
        target = self.sdk.target
        return f"ZohoSDKClient(api_domain={target.api_domain!r}, user={target.user!r})"


class SDKPrimitives(SDKJobCalls, SDKActivityCalls):
    """Zoho's calls through the SDK (see `core.primitives`)."""

    name: TierName = "sdk"

    def __init__(self, settings: Settings, tokens: TokenManager) -> None:
        self.settings = settings
        self.tokens = tokens
        self.target = SDKTarget.from_settings(settings, tokens.user)
        self.threads = max(1, min(settings.sdk_threads, settings.zoho_concurrency))
        self.calls = ZohoCalls("sdk", settings, tokens.user)
        self.field_types: Callable[[str], Any] | None = None
        self._store: TierTokenStore | None = None
        self._limiter: anyio.CapacityLimiter | None = None
        self._start = asyncio.Lock()
        self._closed = False

    async def aclose(self) -> None:
        """Release the SDK (it stays initialized for the process; see `sdk_runtime`)."""
        self._closed = True
        store, self._store = self._store, None
        if store is not None:
            await anyio.to_thread.run_sync(detach, store)

    # -- the one way to call the SDK ---------------------------------------------------------

    async def run(
        self,
        kind: CallKind,
        call: Callable[..., Any],
        *args: Any,
        after: Callable[[Any], Any] | None = None,
        records: int = 0,
        idempotent: bool = True,
        with_status: bool = False,
        retry: bool = True,
    ) -> Any:
        """`call(*args)` in a worker thread, then `after(model)` there too (with the HTTP
        status as `(status, value)` when `with_status`), through the choke point."""
        store = await self._started()
        limiter = self._limiter

        def attempt() -> Any:
            return anyio.to_thread.run_sync(
                invoke, store, call, args, after, with_status, limiter=limiter
            )

        zoho_call = self.calls.call(kind, records=records, idempotent=idempotent)
        return await self.calls.run(zoho_call, attempt, retry=retry)

    async def _started(self) -> TierTokenStore:
        if self._store is not None:
            return self._store
        async with self._start:
            if self._closed:
                raise errors.ConfigError("this ZohoSDKClient is closed")
            if self._store is None:
                self._limiter = anyio.CapacityLimiter(self.threads)
                store = TierTokenStore(self.tokens, asyncio.get_running_loop())
                config = sdk_config(self.settings.http_timeout)
                await anyio.to_thread.run_sync(
                    attach, self.target, store, config, limiter=self._limiter
                )
                self._store = store
        return self._store

    # -- records -----------------------------------------------------------------------------

    async def list_page(self, query: PageQuery) -> Page:
        params = parameters(
            (GetRecordsParam.fields, ",".join(query.fields or [])),
            (GetRecordsParam.page, query.page),
            (GetRecordsParam.page_token, query.page_token),
            (GetRecordsParam.per_page, query.per_page),
            (GetRecordsParam.sort_by, query.sort_by),
            (GetRecordsParam.sort_order, query.sort_order),
        )
        ops = record_ops(query.module)
        page: Page = await self.run(
            CallKind.READ, ops.get_records, params, request_headers(), after=sdk_page
        )
        return page

    async def search_page(self, query: PageQuery) -> Page:
        params = parameters(
            (SearchRecordsParam.criteria, query.criteria),
            (SearchRecordsParam.page, query.page),
            (SearchRecordsParam.per_page, query.per_page),
            (SearchRecordsParam.fields, ",".join(query.fields) if query.fields else None),
        )
        ops = record_ops(query.module)
        page: Page = await self.run(
            CallKind.SEARCH, ops.search_records, params, request_headers(), after=sdk_page
        )
        return page

    async def get_record(
        self, module: str, record_id: str, fields: Sequence[str] | None
    ) -> Record | None:
        params = parameters((GetRecordParam.fields, ",".join(fields) if fields else None))
        ops = record_ops(module)
        page: Page = await self.run(
            CallKind.READ, ops.get_record, int(record_id), params, request_headers(), after=sdk_page
        )
        return dict(page.records[0]) if page.records else None

    async def coql(self, query: str) -> list[Record]:
        body = CoqlBody()
        body.set_select_query(query)
        page: Page = await self.run(
            CallKind.COQL, CoqlOperations().get_records, body, after=sdk_page
        )
        return page.records

    async def update_one(self, module: str, record_id: str, data: Mapping[str, Any]) -> WriteAnswer:
        infos = await self._infos(module)
        try:
            record = to_sdk_record(data, infos)
        except InvalidValue as bad:
            refused = bad.item(0)
            raise error_from_zoho(
                str(refused["code"]), None, str(refused["message"]), dict(refused["details"])
            ) from None
        body = BodyWrapper()
        body.set_data([record])
        status, items = await self.run(
            CallKind.WRITE,
            record_ops(module).update_record,
            int(record_id),
            body,
            request_headers(),
            after=sdk_items,
            records=1,
            with_status=True,
        )
        return WriteAnswer(items, status)

    async def put_chunk(
        self, module: str, records: Sequence[Mapping[str, Any]], *, create: bool = False
    ) -> WriteAnswer:
        """A value that fits its field in no way is that record's INVALID_DATA, not sent."""
        infos = await self._infos(module)
        items: list[Item | None] = [None] * len(records)
        ready: list[tuple[int, Any]] = []
        for n, record in enumerate(records):
            try:
                ready.append((n, to_sdk_record(record, infos)))
            except InvalidValue as bad:
                items[n] = bad.item(n)
        if ready:
            sent = await self._update(module, [sdk_record for _, sdk_record in ready], create)
            for (n, _), item in zip(ready, sent, strict=False):
                items[n] = item
        return WriteAnswer(items)

    async def create_chunk(self, module: str, records: Sequence[Mapping[str, Any]]) -> WriteAnswer:
        """As `put_chunk`, as inserts (POST /{module})."""
        return await self.put_chunk(module, records, create=True)

    async def _update(self, module: str, records: list[Any], create: bool) -> list[Item | None]:
        body = BodyWrapper()
        body.set_data(records)
        ops = record_ops(module)
        try:
            items: list[Item | None] = await self.run(
                CallKind.WRITE,
                ops.create_records if create else ops.update_records,
                body,
                request_headers(),
                after=sdk_items,
                records=len(records),
                idempotent=not create,
            )
        except SergasError as exc:
            if exc.code not in CLIENT_SIDE_CODES:
                raise
            if len(records) == 1:  # the SDK refused this record's values before sending it
                return [_error_item(exc)]
            # The SDK refused one value for the whole batch: send the records one by one.
            return await self._one_by_one(module, records, create)
        return items

    async def _one_by_one(self, module: str, records: list[Any], create: bool) -> list[Item | None]:
        async def single(record: Any) -> tuple[Item | None, SergasError | None]:
            try:
                return (await self._update(module, [record], create))[0], None
            except SergasError as exc:
                return _error_item(exc), exc

        done = await asyncio.gather(*(single(r) for r in records))
        failures = [e for _, e in done if e is not None]
        if len(failures) == len(done):
            raise failures[0]
        return [item for item, _ in done]

    async def _infos(self, module: str) -> dict[str, Any]:
        assert self.field_types is not None, "set by ZohoSDKClient"
        types = await self.field_types(module)
        return {name: field_info(meta) for name, meta in types.items()}

    # -- metadata ----------------------------------------------------------------------------

    async def fields(
        self, module: str, since: datetime | None = None
    ) -> list[dict[str, Any]] | None:
        """Always in full: the SDK's get_fields takes no If-Modified-Since."""
        found: list[dict[str, Any]] = await self.run(
            CallKind.METADATA,
            FieldsOperations().get_fields,
            parameters((GetFieldsParam.module, module)),
            after=lambda m: plain_list(m.get_fields() if m is not None else []),
        )
        return found

    async def users_page(
        self, page: int, since: datetime | None = None
    ) -> tuple[list[dict[str, Any]], bool] | None:
        params = parameters(
            (GetUsersParam.type, "AllUsers"),
            (GetUsersParam.page, page),
            (GetUsersParam.per_page, USERS_PER_PAGE),
        )
        status, found = await self.run(
            CallKind.METADATA,
            UsersOperations().get_users,
            params,
            request_headers(since),
            after=_users_page,
            with_status=True,
        )
        if status == 304:
            return None
        answer: tuple[list[dict[str, Any]], bool] = found
        return answer

    async def org_zgid(self) -> str:
        orgs = await self.run(
            CallKind.METADATA,
            OrgOperations().get_organization,
            after=lambda m: plain_list(m.get_org() if m is not None else []),
        )
        return str(orgs[0].get("zgid") or "") if orgs else ""

    async def health(self) -> str:
        """GET /crm/v8/org through the SDK, once, no retries."""
        await self.run(CallKind.HEALTH, OrgOperations().get_organization, retry=False)
        return ""


# -- answers, converted in the worker thread ----------------------------------------------------


def _error_item(exc: SergasError) -> Item:
    return {"status": "error", "code": exc.code, "message": exc.message, "details": exc.details}


def _users_page(model: Any) -> tuple[list[dict[str, Any]], bool]:
    if model is None:
        return [], False
    info = model.get_info()
    return plain_list(model.get_users()), bool(info is not None and info.get_more_records())
