"""The one choke point every call to Zoho passes, whatever the tier: `ZohoCalls.run`.

    tier operation ─> strategy (core) ─> adapter primitive ─> ZohoCalls.run(ZohoCall, attempt)
        └─> RetryPolicy.call (per logical call) ─> CallGate.run(call) (per attempt) ─> attempt()

`attempt` is the tier's own way of sending: an httpx2 request (REST), an SDK call in a worker
thread (SDK), a tool call on the MCP session (MCP). What passes here is described by a
`ZohoCall`: the tier, the kind of call and, for writes and uploads, how many records, which
is all a limiter needs to derive Zoho's sub-concurrency and credit cost.

The cap on calls in flight is one `CallGate` per process and Zoho org (API domain and user),
shared by every tier built for it: failing over from one tier to another cannot exceed
ZOHO_CONCURRENCY, nor Zoho's sub-concurrency of 10 heavy calls (COQL, search, writes of more
than 10 records). Waiting for a slot happens before anything is sent, so Zoho never has to
answer 429 for a cap we know about. asyncio's semaphores belong to one event loop, so "per
process" is per process and event loop (a process serving Zoho runs one loop).

Not through here: token refreshes (Zoho's accounts server, which has its own limits, see
`sergas.auth`) and an MCP session's own handshake and goodbye (no CRM call, no credit).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, TypeVar

from sergas.tiers.retry import RetryPolicy
from sergas.tiers.zoho_limits import LIGHT_WRITE, SUB_CONCURRENCY

if TYPE_CHECKING:
    from sergas.settings import Settings
    from sergas.tiers.base import TierName

__all__ = ["CallGate", "CallKind", "ZohoCall", "ZohoCalls", "process_gate"]

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


class CallGate:
    """At most `concurrency` calls in flight; of them at most SUB_CONCURRENCY heavy ones.
    A heavy call waits for its heavy slot first, so waiting never holds a general slot."""

    def __init__(self, concurrency: int) -> None:
        self.concurrency = concurrency
        self.heavy_concurrency = min(SUB_CONCURRENCY, concurrency)
        self._slots = asyncio.Semaphore(concurrency)
        self._heavy = asyncio.Semaphore(self.heavy_concurrency)

    async def run(self, call: ZohoCall, attempt: Callable[[], Awaitable[T]]) -> T:
        """`attempt()` inside a slot (plain `async with`: this runs on every call)."""
        if call.heavy:
            async with self._heavy, self._slots:
                return await attempt()
        async with self._slots:
            return await attempt()


_GateKey = tuple[str, str, int]
_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[_GateKey, CallGate]] = (
    weakref.WeakKeyDictionary()
)


def process_gate(api_domain: str, user: str, concurrency: int) -> CallGate:
    """This process's gate for one Zoho org and cap (call it inside the event loop). Tiers
    built from the same settings get the same gate."""
    loop = asyncio.get_running_loop()
    per_loop = _gates.get(loop)
    if per_loop is None:
        per_loop = _gates[loop] = {}
    key = (api_domain, user, concurrency)
    gate = per_loop.get(key)
    if gate is None:
        gate = per_loop[key] = CallGate(concurrency)
    return gate


class ZohoCalls:
    """A tier's way to Zoho: retries per logical call (`sergas.tiers.retry`), the process's
    gate per attempt. Each tier holds one and sends every call through `run`."""

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
        self._key = (settings.api_domain, user, settings.zoho_concurrency)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._gate: CallGate | None = None

    @property
    def gate(self) -> CallGate:
        """The process's gate (looked up again only when the event loop changed)."""
        loop = asyncio.get_running_loop()
        if self._gate is None or self._loop is not loop:
            self._gate = process_gate(*self._key)
            self._loop = loop
        return self._gate

    def call(self, kind: CallKind, *, records: int = 0, idempotent: bool = True) -> ZohoCall:
        return ZohoCall(self.tier, kind, records, idempotent)

    async def run(
        self, call: ZohoCall, attempt: Callable[[], Awaitable[T]], *, retry: bool = True
    ) -> T:
        """`attempt()` once per try, each inside a slot of the gate; `retry=False` sends once
        (health checks report the tier as it is)."""
        gate = self.gate
        if not retry:
            return await gate.run(call, attempt)
        return await self.retry.call(lambda: gate.run(call, attempt), idempotent=call.idempotent)
