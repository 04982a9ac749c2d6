"""What every page needs, made once per app on first use: the runtime the service opened,
the sessions, the sweep's history, the caches; and `viewer`, the dependency that says who
is looking (or sends a browser to sign in).

Two caches keep the pages fast without showing stale decisions: `RunCache` keeps what is
computed from a finished run (it never changes), and `Recent` keeps, for
SERGAS_WEB_REFRESH_SECONDS, the list of recent runs, the approval queue and its count (a new
run or proposal shows up within that time; a decision made here clears them at once, and
deciding one already decided elsewhere is refused, never applied twice)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import func, select

from sergas.access.approvals import PENDING
from sergas.access.keys import ApiKeyStore
from sergas.db.engine import database_errors
from sergas.db.tables import approvals
from sergas.errors import AuthError
from sergas.runtime import Runtime
from sergas.sweep.history import RunEntry, SweepHistory
from sergas.sweep.settings import SweepSettings, load_sweep_settings
from sergas.web.auth import SessionStore, Viewer
from sergas.web.related import RelatedRecords
from sergas.web.render import PageError, SignInRequired
from sergas.web.settings import WebSettings, load_web_settings

__all__ = [
    "CurrentViewer",
    "Recent",
    "RunCache",
    "WebState",
    "latest_run",
    "pending_count",
    "recent_runs",
    "viewer",
    "web_state",
]

TREND_RUNS = 30  # finished runs the overview's trend shows


class Recent:
    """Values kept for `seconds`, then asked for again."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self._items: dict[Hashable, tuple[float, Any]] = {}

    async def get(self, key: Hashable, make: Callable[[], Awaitable[Any]]) -> Any:
        now = self.clock()
        found = self._items.get(key)
        if found is not None and now - found[0] < self.seconds:
            return found[1]
        value = await make()
        if self.seconds > 0:
            self._items[key] = (now, value)
        return value

    def forget(self, key: Hashable) -> None:
        self._items.pop(key, None)


class RunCache:
    """What a page computes from a finished run's scores (counts per owner, the
    distribution, an owner's brief), kept by run id: a finished run's scores never change,
    and a new run has a new id. The newest `size` entries are kept."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()

    async def get(self, key: Hashable, make: Callable[[], Awaitable[Any]]) -> Any:
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        value = await make()
        self._items[key] = value
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return value


@dataclass(frozen=True)
class WebState:
    runtime: Runtime
    settings: WebSettings
    sweep: SweepSettings  # read once: the thresholds the charts colour by
    sessions: SessionStore
    history: SweepHistory
    related: RelatedRecords
    recent: Recent
    runs: RunCache = field(default_factory=RunCache)

    @property
    def scope(self) -> str:
        return self.runtime.scope


def web_state(request: Request) -> WebState:
    state = request.app.state
    found: WebState | None = getattr(state, "web", None)
    runtime: Runtime = state.runtime
    if found is None or found.runtime is not runtime:
        settings: WebSettings = getattr(state, "web_settings", None) or load_web_settings()
        keys: ApiKeyStore = state.keys
        service = getattr(state, "service_settings", None)
        session_cache = service.api_key_cache_seconds if service is not None else 5.0
        sweep = load_sweep_settings()
        found = WebState(
            runtime,
            settings,
            sweep,
            SessionStore(
                runtime.engine, keys, hours=settings.session_hours, cache_seconds=session_cache
            ),
            SweepHistory(runtime.engine),
            RelatedRecords(runtime, settings, sweep),
            Recent(settings.refresh_seconds),
        )
        state.web = found
    return found


async def viewer(request: Request) -> Viewer:
    """Who is looking; a browser with no session is sent to the sign-in page."""
    try:
        who = await web_state(request).sessions.viewer(request)
    except AuthError as exc:  # a Bearer header that is not a valid key
        raise PageError(401, "Not signed in", exc.message) from None
    if who is None:
        raise SignInRequired
    request.state.viewer = who
    request.state.principal = who.principal  # the access log names the key
    return who


CurrentViewer = Annotated[Viewer, Depends(viewer)]


async def pending_count(state: WebState) -> int:
    async def count() -> int:
        engine = state.runtime.engine
        query = select(func.count()).select_from(approvals).where(approvals.c.status == PENDING)
        with database_errors(engine.url):
            async with engine.connect() as conn:
                return int((await conn.execute(query)).scalar_one())

    found: int = await state.recent.get("pending", count)
    return found


async def recent_runs(state: WebState) -> list[RunEntry]:
    """The last finished runs, oldest first (the overview's trend)."""
    found: list[RunEntry] = await state.recent.get(
        "runs", lambda: state.history.trend(state.scope, limit=TREND_RUNS)
    )
    return found


async def latest_run(state: WebState) -> RunEntry | None:
    runs = await recent_runs(state)
    return runs[-1] if runs else None
