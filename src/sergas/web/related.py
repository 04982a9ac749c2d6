"""An account's records in the CRM, read live through the manager for its page: the account
itself, its contacts, its open deals, its latest tasks and its latest notes.

Five calls at once (one record, three searches by lookup id, a page of notes), bounded by
SERGAS_WEB_RELATED_TIMEOUT_SECONDS, and kept per account for
SERGAS_WEB_RELATED_CACHE_SECONDS: each view would otherwise cost Zoho credits, and the page
is read far more often than the CRM changes. A part that cannot be read says why on the page;
the sweep's own findings are shown either way.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from sergas.errors import SergasError
from sergas.query import F
from sergas.tiers.base import Record

if TYPE_CHECKING:
    from sergas.runtime import Runtime
    from sergas.sweep.settings import SweepSettings
    from sergas.web.settings import WebSettings

__all__ = ["RELATED_PARTS", "Related", "RelatedRecords"]

T = TypeVar("T")
ACCOUNT_FIELDS = [
    "Account_Name",
    "Owner",
    "Industry",
    "Annual_Revenue",
    "Rating",
    "Phone",
    "Website",
    "Last_Activity_Time",
    "Health_Score",
    "Account_Status",
    "Last_Health_Check",
]
CONTACT_FIELDS = ["Full_Name", "Title", "Email", "Phone", "Account_Name"]
DEAL_FIELDS = ["Deal_Name", "Stage", "Amount", "Closing_Date", "Account_Name"]
TASK_FIELDS = ["Subject", "Status", "Due_Date", "Priority", "What_Id"]
RELATED_PARTS = ("account", "contacts", "deals", "tasks", "notes")
SHOWN = 20  # rows per list on the page
_CACHED_ACCOUNTS = 1000


@dataclass
class Related:
    account: Record | None = None
    contacts: list[Record] = field(default_factory=list)
    deals: list[Record] = field(default_factory=list)  # open ones
    tasks: list[Record] = field(default_factory=list)  # newest due date first
    notes: list[Record] = field(default_factory=list)  # newest first, as Zoho gives them
    problems: dict[str, str] = field(default_factory=dict)  # part -> why it is missing
    read_at: float = 0.0


class RelatedRecords:
    def __init__(self, runtime: Runtime, settings: WebSettings, sweep: SweepSettings) -> None:
        self.runtime = runtime
        self.settings = settings
        self.open_stages = set(sweep.open_deal_stages)
        self._cache: OrderedDict[str, Related] = OrderedDict()

    def cached(self, account_id: str) -> Related | None:
        """The account's records as read within SERGAS_WEB_RELATED_CACHE_SECONDS, if they were."""
        found = self._cache.get(account_id)
        if found is None or time.monotonic() - found.read_at >= self.settings.related_cache_seconds:
            return None
        self._cache.move_to_end(account_id)
        return found

    async def of(self, account_id: str) -> Related:
        """The account's records: cached, or read now (and cached when every part was read)."""
        cached = self.cached(account_id)
        if cached is not None:
            return cached
        ttl = self.settings.related_cache_seconds
        related = await self._read(account_id)
        if ttl > 0 and not related.problems:
            self._cache[account_id] = related
            while len(self._cache) > _CACHED_ACCOUNTS:
                self._cache.popitem(last=False)
        return related

    async def _read(self, account_id: str) -> Related:
        manager = self.runtime.manager
        related = Related()

        async def part(name: str, call: Awaitable[T]) -> T | None:
            try:
                return await asyncio.wait_for(call, self.settings.related_timeout_seconds)
            except TimeoutError:
                related.problems[name] = "Zoho did not answer in time"
            except SergasError as exc:
                related.problems[name] = f"{exc.code}: {exc.message}"
            return None

        by_account = F("Account_Name") == account_id
        account, contacts, deals, tasks, notes = await asyncio.gather(
            part("account", manager.get_account(account_id, fields=ACCOUNT_FIELDS)),
            part(
                "contacts",
                manager.search_accounts(
                    by_account, module="Contacts", fields=CONTACT_FIELDS, limit=200
                ),
            ),
            part(
                "deals",
                manager.search_accounts(by_account, module="Deals", fields=DEAL_FIELDS, limit=200),
            ),
            part(
                "tasks",
                manager.search_accounts(
                    F("What_Id") == account_id, module="Tasks", fields=TASK_FIELDS, limit=200
                ),
            ),
            part("notes", manager.get_notes(account_id, per_page=SHOWN)),
        )
        related.account = account
        related.contacts = sorted(contacts or [], key=lambda c: str(c.get("Full_Name") or ""))
        related.deals = sorted(
            (d for d in deals or [] if d.get("Stage") in self.open_stages),
            key=lambda d: str(d.get("Closing_Date") or ""),
        )
        related.tasks = sorted(tasks or [], key=_due, reverse=True)[:SHOWN]
        related.notes = notes.records if notes is not None else []
        related.read_at = time.monotonic()
        return related


def _due(task: dict[str, Any]) -> str:
    return str(task.get("Due_Date") or "")
