"""The sandbox's state, apart from HTTP: org, users, modules, records, tokens, jobs, limits.

Like moto's models: one object holds everything; `records.py`, `queries.py` (search,
COQL), `metadata.py` and `bulk.py` hang their operations off it, one method per Zoho
operation, with typed arguments. Each operation is one API call as Zoho counts it: it runs
inside `api_call` (the org's concurrency slot, the sub-concurrency slot of heavy APIs, the
simulated latency) and charges its own credits. The front ends — the HTTP routes
(`sergas.sandbox.http`) and the MCP endpoint (`sergas.sandbox.mcp_server`) — authenticate,
parse, call and render.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio

from sergas.sandbox.clock import Clock
from sergas.sandbox.config import SandboxConfig
from sergas.sandbox.faults import Faults
from sergas.sandbox.limits import Limits, client_name
from sergas.sandbox.oauth import CRM_SCHEMES, OAuthBackend
from sergas.sandbox.schema import MODULES, Module
from sergas.sandbox.seed import build_org, build_users, seed_store
from sergas.sandbox.seed.people import build_former_users
from sergas.sandbox.store import RecordStore

STATE_VERSION = "2"  # 2: Leads, Notes, Calls, Events and the recycle bin


@dataclass(frozen=True)
class Caller:
    """Who makes an API call: the access token's user, and the client the per-client
    stats count it under (see `limits.client_name`)."""

    user_id: str
    client: str
    # The HTTP layer already holds the org's slot for the whole request (SandboxMiddleware).
    slot_held: bool = False


class Sandbox:
    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.clock = Clock()
        self.rng = random.Random(self.config.seed)
        self.modules: dict[str, Module] = MODULES
        self.users: list[dict[str, Any]] = build_users(self.config.seed, self.config.users)
        # Every user the org has had: the licensed ones (who own records), then a
        # deactivated one and an invited one who has not confirmed.
        self.all_users = self.users + build_former_users(self.config.seed, self.config.users)
        self.org: dict[str, Any] = build_org(self.config.seed)
        self.store = RecordStore(self.modules, self.config.state_file)
        self.faults = Faults(
            latency_ms=self.config.latency_ms, latency_jitter_ms=self.config.latency_jitter_ms
        )
        self.faults.rng.seed(self.config.seed)
        # Seeded times are relative to today's midnight (UTC): the same seed gives the same
        # records all day, and reset() gives back exactly what the start gave.
        self.seeded_at = self.clock.now() // 86_400 * 86_400
        self._init_state()
        self.seeded_from_file = self._load_or_seed()

    def _init_state(self) -> None:
        from sergas.sandbox.bulk import BulkJobs
        from sergas.sandbox.conversion import LeadConversion
        from sergas.sandbox.metadata import Metadata
        from sergas.sandbox.queries import Queries
        from sergas.sandbox.record_actions import RecordActions
        from sergas.sandbox.records import Records
        from sergas.sandbox.related import Related

        self.oauth = OAuthBackend(self.config, self.clock, self.current_user["id"])
        self.limits = Limits(self.config, self.clock)
        self.records = Records(self)
        self.actions = RecordActions(self)
        self.related = Related(self)
        self.leads = LeadConversion(self)
        self.queries = Queries(self)
        self.metadata = Metadata(self)
        self.bulk = BulkJobs(self)
        self.calls: Counter[str] = Counter()  # per request path, ids collapsed
        self.endpoints: Counter[str] = Counter()  # per route template or MCP tool
        self.writes: Counter[tuple[str, str]] = Counter()

    def _load_or_seed(self) -> bool:
        """Load the state file if it holds this seed's CRM; else seed (and save) a new one."""
        stored = self.store.persistent and self.store.get_meta("version") == STATE_VERSION
        if stored and self.store.load():
            return True
        self.store.clear()
        seed_store(
            self.store,
            seed=self.config.seed,
            accounts=self.config.accounts,
            users=self.users,
            now=self.seeded_at,
        )
        self.store.set_meta("version", STATE_VERSION)
        self.store.set_meta("seed", str(self.config.seed))
        return False

    # -- who is calling ----------------------------------------------------------------

    def authenticate(
        self,
        authorization: str | None,
        client: str | None = None,
        *,
        slot_held: bool = False,
        schemes: tuple[str, ...] = CRM_SCHEMES,
    ) -> Caller:
        """The caller behind an Authorization header (InvalidToken if none); `client` is
        the call's X-Sergas-Client header, if any. CRM routes take only `Zoho-oauthtoken`;
        the MCP endpoint passes MCP_SCHEMES (Bearer too)."""
        access = self.oauth.authenticate(authorization, schemes)
        return Caller(access.user_id, client_name(client, access.token), slot_held)

    @asynccontextmanager
    async def api_call(self, caller: Caller, *, heavy: bool = False) -> AsyncIterator[None]:
        """One API call as Zoho counts it, whichever front end made it: an org concurrency
        slot (unless the caller's HTTP request already holds one), a sub-concurrency slot
        for heavy APIs, and the simulated latency inside them."""
        limits, take = self.limits, not caller.slot_held
        if take:
            limits.enter(caller.client)
        try:
            if heavy:
                limits.enter_heavy(caller.client)
            try:
                delay = self.faults.latency()
                if delay:
                    await anyio.sleep(delay)
                yield
            finally:
                if heavy:
                    limits.leave_heavy()
        finally:
            if take:
                limits.leave(caller.client)

    @property
    def current_user(self) -> dict[str, Any]:
        return self.users[0]

    def user(self, user_id: str) -> dict[str, Any] | None:
        return next((u for u in self.all_users if u["id"] == user_id), None)

    def user_ref(self, user_id: str | None = None, *, email: bool = True) -> dict[str, Any]:
        """A user as lookups show it: {"name","id"[,"email"]}."""
        user = self.user(user_id) if user_id else self.current_user
        user = user or self.current_user
        ref = {"name": user["full_name"], "id": user["id"]}
        if email:
            ref["email"] = user["email"]
        return ref

    def module(self, name: str) -> Module | None:
        from sergas.sandbox.schema import find_module

        return find_module(name)

    # -- control plane -------------------------------------------------------------------

    def reset(self, *, reseed: bool = True) -> None:
        """Back to the seeded state: records, tokens, jobs, limits, stats, faults, clock."""
        self.clock.reset()
        self.faults.update(
            {
                "latency_ms": self.config.latency_ms,
                "latency_jitter_ms": self.config.latency_jitter_ms,
                "error_rates": {},
                "drop_rate": 0,
                "hang_rate": 0,
                "paths": [],
                "targeted": [],
                "retry_after": None,
                "seed": self.config.seed,
            }
        )
        self.faults.injected = 0
        self._init_state()
        if reseed:
            self.store.set_meta("version", "")
            self._load_or_seed()

    def stats(self) -> dict[str, Any]:
        written = Counter(module for module, _ in self.writes)
        return {
            "calls": dict(self.calls),
            "endpoints": dict(self.endpoints),
            "total_calls": sum(self.calls.values()),
            "credits": {
                "used": self.limits.used(),
                "remaining": self.limits.remaining(),
                "budget": self.limits.budget,
                "total_used": self.limits.total_used,
            },
            "tokens": {
                "refreshes": self.oauth.stats.refreshes,
                "code_grants": self.oauth.stats.code_grants,
                "rejected": self.oauth.stats.rejected,
                "invalid_token_responses": self.oauth.stats.invalid_token_responses,
            },
            "peak_concurrency": self.limits.peak_concurrency,
            "peak_heavy_concurrency": self.limits.peak_heavy_concurrency,
            "in_flight": self.limits.in_flight,
            "clients": self.limits.client_stats(),
            "rejected_429": self.limits.rejected_429,
            "faults_injected": self.faults.injected,
            "records_written": dict(written),
            "records_written_more_than_once": sum(1 for n in self.writes.values() if n > 1),
            "records": {m: self.store.count(m) for m in self.modules},
            "clock": self.clock.now(),
            # What serving has cost so far (the whole process's, when embedded in another).
            "process_cpu_seconds": time.process_time(),
        }

    def close(self) -> None:
        self.store.close()
