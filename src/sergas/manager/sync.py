"""A blocking facade over ZohoIntegrationManager, for scripts and worker processes.

It runs the async manager on an event loop of its own, in one background thread (anyio's
blocking portal), for its whole life. Not `asyncio.run()` per call: the manager's resources
belong to one loop (HTTP connection pools, the TokenManager's locks and database engine, the
SDK tier's bridge back to that loop), so a loop per call would rebuild them all, and drop the
cached access token, every time.

Inside a running event loop a blocking call would stall that loop, so every method refuses
there with `EventLoopRunningError`, which names the async method to await instead.

`sergas.open_sync_manager()` gives one over a runtime opened from settings.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import Any, TypeVar

from anyio.from_thread import BlockingPortal, start_blocking_portal

from sergas.manager.manager import ZohoIntegrationManager
from sergas.query import CoqlQuery, Criteria
from sergas.tiers.base import BulkResult, Record, RecordPage, RecordResult, TierName

__all__ = ["EventLoopRunningError", "SyncZohoIntegrationManager"]

T = TypeVar("T")


class EventLoopRunningError(RuntimeError):
    """A blocking method was called from inside a running event loop."""


def _refuse_in_loop(method: str) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise EventLoopRunningError(
        f"SyncZohoIntegrationManager.{method}() blocks and was called inside a running event "
        f"loop; use `await ZohoIntegrationManager.{method}(...)` there instead"
    )


class SyncZohoIntegrationManager:
    """The manager's API, blocking. Use it as a context manager, or call `close()`."""

    def __init__(
        self, opener: Callable[[], AbstractAsyncContextManager[ZohoIntegrationManager]]
    ) -> None:
        """`opener()` gives what opens (and later closes) the async manager: a manager
        itself, or e.g. a runtime's. It is entered and exited on the facade's own loop."""
        _refuse_in_loop("__init__")
        self._portal_cm: AbstractContextManager[BlockingPortal] = start_blocking_portal()
        self._portal = self._portal_cm.__enter__()
        try:
            opened = self._portal.call(opener)
            self._opened = self._portal.wrap_async_context_manager(opened)
            self.manager: ZohoIntegrationManager = self._opened.__enter__()
        except BaseException:
            self._portal_cm.__exit__(None, None, None)
            raise
        self._closed = False

    def close(self) -> None:
        """Close the manager, then stop the loop and its thread. Idempotent."""
        if self._closed:
            return
        _refuse_in_loop("aclose")
        self._closed = True
        try:
            self._opened.__exit__(None, None, None)
        finally:
            self._portal_cm.__exit__(None, None, None)

    def __enter__(self) -> SyncZohoIntegrationManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, method: str, func: Callable[..., Awaitable[T]], *args: Any, **kw: Any) -> T:
        _refuse_in_loop(method)
        if self._closed:
            raise RuntimeError("this SyncZohoIntegrationManager is closed")
        return self._portal.call(functools.partial(func, *args, **kw))

    def get_account(self, record_id: str, **kw: Any) -> Record:
        return self._run("get_account", self.manager.get_account, record_id, **kw)

    def get_accounts(self, **kw: Any) -> list[Record]:
        return self._run("get_accounts", self.manager.get_accounts, **kw)

    def update_account(self, record_id: str, data: Mapping[str, Any], **kw: Any) -> RecordResult:
        return self._run("update_account", self.manager.update_account, record_id, data, **kw)

    def bulk_read_accounts(self, **kw: Any) -> list[Record]:
        return self._run("bulk_read_accounts", self.manager.bulk_read_accounts, **kw)

    def bulk_update_accounts(self, records: Sequence[Mapping[str, Any]], **kw: Any) -> BulkResult:
        return self._run("bulk_update_accounts", self.manager.bulk_update_accounts, records, **kw)

    def search_accounts(self, criteria: Criteria, **kw: Any) -> list[Record]:
        return self._run("search_accounts", self.manager.search_accounts, criteria, **kw)

    def coql(self, query: str | CoqlQuery, **kw: Any) -> list[Record]:
        return self._run("coql", self.manager.coql, query, **kw)

    def describe_fields(self, module: str = "Accounts", **kw: Any) -> list[dict[str, Any]]:
        return self._run("describe_fields", self.manager.describe_fields, module, **kw)

    def list_records(self, **kw: Any) -> RecordPage:
        return self._run("list_records", self.manager.list_records, **kw)

    def search_page(self, criteria: Criteria, **kw: Any) -> RecordPage:
        return self._run("search_page", self.manager.search_page, criteria, **kw)

    def get_related_records(self, record_id: str, related_list: str, **kw: Any) -> RecordPage:
        return self._run(
            "get_related_records", self.manager.get_related_records, record_id, related_list, **kw
        )

    def get_notes(self, record_id: str, **kw: Any) -> RecordPage:
        return self._run("get_notes", self.manager.get_notes, record_id, **kw)

    def get_deleted_records(self, **kw: Any) -> RecordPage:
        return self._run("get_deleted_records", self.manager.get_deleted_records, **kw)

    def count_records(self, **kw: Any) -> int:
        return self._run("count_records", self.manager.count_records, **kw)

    def find_users(self, query: str, **kw: Any) -> list[dict[str, Any]]:
        return self._run("find_users", self.manager.find_users, query, **kw)

    def add_note(self, record_id: str, **kw: Any) -> RecordResult:
        return self._run("add_note", self.manager.add_note, record_id, **kw)

    def create_records(self, records: Sequence[Mapping[str, Any]], **kw: Any) -> BulkResult:
        return self._run("create_records", self.manager.create_records, records, **kw)

    def get_tier_health(self) -> dict[TierName, dict[str, Any]]:
        return self._run("get_tier_health", self.manager.get_tier_health)

    def get_tier_metrics(self) -> dict[TierName, dict[str, Any]]:
        return self.manager.get_tier_metrics()  # thread-safe, no I/O

    def reset_circuit_breakers(self, tier: TierName | None = None) -> None:
        self.manager.reset_circuit_breakers(tier)  # thread-safe, no I/O
