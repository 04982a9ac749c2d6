"""One Zoho org, many processes: the org's limits held by every process and host together.

Zoho limits an org (per OAuth client) to a number of concurrent calls (the edition's cap,
ZOHO_CONCURRENCY), 10 concurrent heavy calls, and a daily credit budget over a rolling 24 h.
Every call to Zoho passes `sergas.tiers.core.calls` (the choke point), which asks this
package's `OrgLimiter` (see `sergas.org.limiter`) for a slot and records the call's credits.

- Without SERGAS_REDIS_URL (the embedded default) the limiter is this process's own, as a
  single process always was.
- With it, the slots are leased in Redis (`sergas.org.semaphore`), the credits counted in
  Redis (`sergas.org.credits`), a 429 from Zoho holds every process back, and the tiers'
  circuit breakers share their state (`sergas.org.breakers`).
- `background("sweep")` (`sergas.org.work`) marks work that the credit reserve may refuse.

`open_org()` is opened by `sergas.runtime.open_runtime()` and installs the limiter for its
event loop; `limiter_for()` is how the choke point finds it (a local one is made for code that
builds tiers without a runtime).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import weakref
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from sergas.org.client import CLIENT_HEADER, client_id
from sergas.org.work import background, current_work, interactive

if TYPE_CHECKING:
    import redis.asyncio as aioredis

    from sergas.org.limiter import OrgLimiter
    from sergas.settings import Settings

__all__ = [
    "CLIENT_HEADER",
    "background",
    "client_id",
    "current_work",
    "interactive",
    "limiter_for",
    "open_org",
    "org_key",
    "redis_client",
]

_Key = tuple[str, str, int]
_installed: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[_Key, OrgLimiter]] = (
    weakref.WeakKeyDictionary()
)


def org_key(api_domain: str, user: str) -> str:
    """The name of one org's keys in Redis (an API domain and a Zoho user)."""
    return hashlib.sha256(f"{api_domain}#{user}".encode()).hexdigest()[:16]


def redis_client(url: str) -> aioredis.Redis:
    """A client that fails fast (1 s to connect, 2 s to answer, one immediate retry on a
    fresh connection): the limiter degrades rather than wait on a Redis that is down."""
    import redis.asyncio as aioredis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    return aioredis.from_url(
        url,
        socket_timeout=2.0,
        socket_connect_timeout=1.0,
        retry=Retry(NoBackoff(), 1),
        health_check_interval=30,
    )


def build_limiter(
    settings: Settings, user: str, client: aioredis.Redis | None = None
) -> OrgLimiter:
    """The limiter for the org reached with `settings` as `user`: shared through `client`
    when given, else this process's own."""
    from sergas.org.credits import CreditLedger
    from sergas.org.limiter import LocalSlots, OrgLimiter, SharedSlots
    from sergas.zoho_limits import SUB_CONCURRENCY

    org = org_key(settings.api_domain, user)
    cap = settings.zoho_concurrency
    heavy = min(SUB_CONCURRENCY, cap)
    shared = SharedSlots(client, org, cap, heavy, lease=settings.slot_lease) if client else None
    return OrgLimiter(
        local=LocalSlots(cap, heavy),
        shared=shared,
        ledger=CreditLedger(settings.credit_budget, org, client=client),
        reserve=settings.credit_reserve,
        slot_timeout=settings.slot_timeout,
        org=org,
    )


def limiter_for(settings: Settings, user: str) -> OrgLimiter:
    """The limiter installed for this event loop and org by `open_org()`, else a local one
    made now and kept for the loop (call it inside the event loop)."""
    loop = asyncio.get_running_loop()
    per_loop = _installed.get(loop)
    if per_loop is None:
        per_loop = _installed[loop] = {}
    key = (settings.api_domain, user, settings.zoho_concurrency)
    limiter = per_loop.get(key)
    if limiter is None:
        limiter = per_loop[key] = build_limiter(settings, user)
    return limiter


@contextlib.asynccontextmanager
async def open_org(settings: Settings, user: str) -> AsyncIterator[OrgLimiter]:
    """The org's limiter for this event loop, shared through SERGAS_REDIS_URL when set;
    installed for the choke point until the block ends."""
    client = redis_client(settings.redis_url) if settings.redis_url else None
    limiter = build_limiter(settings, user, client)
    loop = asyncio.get_running_loop()
    per_loop = _installed.setdefault(loop, {})
    key = (settings.api_domain, user, settings.zoho_concurrency)
    previous = per_loop.get(key)
    per_loop[key] = limiter
    try:
        yield limiter
    finally:
        if per_loop.get(key) is limiter:
            if previous is None:
                del per_loop[key]
            else:
                per_loop[key] = previous
        await limiter.aclose()
        if client is not None:
            await client.aclose()
