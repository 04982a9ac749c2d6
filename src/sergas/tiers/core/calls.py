"""The one choke point every call to Zoho passes, whatever the tier: `ZohoCalls.run`.

    tier operation ─> strategy (core) ─> adapter primitive ─> ZohoCalls.run(ZohoCall, attempt)
        └─> RetryPolicy.call (per logical call) ─> OrgLimiter.run (per attempt) ─> attempt()

`attempt` is the tier's own way of sending: an httpx2 request (REST), an SDK call in a worker
thread (SDK), a tool call on the MCP session (MCP). What passes here is described by a
`ZohoCall`: the tier, the kind of call and, for writes and uploads, how many records, which
is all a limiter needs to derive Zoho's sub-concurrency and credit cost.

The org's limits sit here, whatever the tier: `sergas.org.OrgLimiter.run` gives each attempt
a slot of the org's cap (ZOHO_CONCURRENCY) and, for heavy calls (COQL, search, writes of more
than 10 records), of Zoho's sub-concurrency of 10; checks background work against the credit
reserve; records the call's credits (`ZohoCall.credits`, Zoho's cost table); and backs the
org off after a 429. Without SERGAS_REDIS_URL those limits are this process's own (one
limiter per event loop and Zoho org, shared by every tier built for it: failing over from one
tier to another cannot exceed the cap); with it, every process and host shares them (see
`sergas.org`). Waiting for a slot happens before anything is sent, so Zoho never has to
answer 429 for a cap we know about. The slot is held until `attempt()` returns, or until the
tier's HTTP layer says Zoho has answered (`sergas.org.limiter.answered`: the MCP tier, whose
library has a few ms of work left after the answer).

Not through here: token refreshes (Zoho's accounts server, which has its own limits, see
`sergas.auth`) and an MCP session's own handshake and goodbye (no CRM call, no credit).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, TypeVar

from sergas.org import limiter_for
from sergas.tiers.retry import RetryPolicy
from sergas.zoho_limits import LIGHT_WRITE

if TYPE_CHECKING:
    from sergas.org.limiter import OrgLimiter
    from sergas.settings import Settings
    from sergas.tiers.base import TierName

__all__ = ["CREDITS", "CallKind", "ZohoCall", "ZohoCalls"]

T = TypeVar("T")


class CallKind(StrEnum):
    """What a call does at Zoho, which decides its sub-concurrency and credit cost."""

    READ = "read"  # the records API: a page, one record
    SEARCH = "search"  # the search API (heavy)
    COQL = "coql"  # a COQL query (heavy)
    WRITE = "write"  # a records-API update of `records` records (heavy above 10)
    METADATA = "metadata"  # fields, users, the org
    BULK_READ = "bulk_read"  # creating a Bulk Read job
    BULK_WRITE = "bulk_write"  # creating a Bulk Write job
    UPLOAD = "upload"  # a Bulk Write file of `records` rows
    JOB_STATUS = "job_status"  # polling a bulk job
    DOWNLOAD = "download"  # a bulk job's result file
    HEALTH = "health"  # a health probe (the org, or an MCP server's tool list)


HEAVY_KINDS = frozenset({CallKind.SEARCH, CallKind.COQL})

# Zoho's credits per call (see the notes on Zoho's API limits); writes and COQL by size below.
CREDITS: dict[CallKind, int] = {
    CallKind.READ: 1,
    CallKind.SEARCH: 1,
    CallKind.METADATA: 1,
    CallKind.BULK_READ: 50,
    CallKind.BULK_WRITE: 500,
    CallKind.UPLOAD: 0,  # the file server's upload: the job's creation is what costs
    CallKind.JOB_STATUS: 1,
    CallKind.DOWNLOAD: 1,
    CallKind.HEALTH: 1,
}


@dataclass(frozen=True, slots=True)
class ZohoCall:
    """One call to Zoho as the choke point sees it. `idempotent=False` (job creation,
    uploads) is retried only after a 429, which proves nothing was done."""

    tier: TierName
    kind: CallKind
    records: int = 0
    idempotent: bool = True

    @property
    def heavy(self) -> bool:
        """Counted against Zoho's sub-concurrency: COQL, search, writes of more than 10."""
        return self.kind in HEAVY_KINDS or (
            self.kind is CallKind.WRITE and self.records > LIGHT_WRITE
        )

    @property
    def credits(self) -> int:
        """Zoho's cost: 1 per 10 records written; COQL 1, 2 or 3 by LIMIT (`records`: up
        to 200, 1,000, 2,000 rows); most others 1."""
        if self.kind is CallKind.WRITE:
            return max(1, math.ceil(self.records / 10))
        if self.kind is CallKind.COQL:
            return 1 if self.records <= 200 else 2 if self.records <= 1000 else 3
        return CREDITS[self.kind]


class ZohoCalls:
    """A tier's way to Zoho: retries per logical call (`sergas.tiers.retry`), the org's
    limiter per attempt. Each tier holds one and sends every call through `run`."""

    def __init__(
        self,
        tier: TierName,
        settings: Settings,
        user: str,
        *,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.tier: TierName = tier
        self.retry = retry or RetryPolicy.from_settings(settings)
        self.concurrency = settings.zoho_concurrency
        self.settings = settings
        self.user = user
        self._loop: asyncio.AbstractEventLoop | None = None
        self._limiter: OrgLimiter | None = None

    @property
    def limiter(self) -> OrgLimiter:
        """The org's limiter for this event loop (looked up again only when the loop
        changed): the runtime's, else a local one."""
        loop = asyncio.get_running_loop()
        if self._limiter is None or self._loop is not loop:
            self._limiter = limiter_for(self.settings, self.user)
            self._loop = loop
        return self._limiter

    def call(self, kind: CallKind, *, records: int = 0, idempotent: bool = True) -> ZohoCall:
        return ZohoCall(self.tier, kind, records, idempotent)

    async def run(
        self, call: ZohoCall, attempt: Callable[[], Awaitable[T]], *, retry: bool = True
    ) -> T:
        """`attempt()` once per try, each through the org's limiter; `retry=False` sends once
        (health checks report the tier as it is)."""
        limiter = self.limiter
        heavy, credits = call.heavy, call.credits
        if not retry:
            return await limiter.run(heavy, credits, attempt)
        return await self.retry.call(
            lambda: limiter.run(heavy, credits, attempt), idempotent=call.idempotent
        )
