"""What every page needs, made once per app on first use: the runtime the service opened,
the sessions, the sweep's history, the related-records cache; and `viewer`, the dependency
that says who is looking (or sends a browser to sign in)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import func, select

from sergas.access.approvals import PENDING
from sergas.access.keys import ApiKeyStore
from sergas.db.engine import database_errors
from sergas.db.tables import approvals
from sergas.errors import AuthError
from sergas.runtime import Runtime
from sergas.sweep.history import SweepHistory
from sergas.web.auth import SessionStore, Viewer
from sergas.web.related import RelatedRecords
from sergas.web.render import PageError, SignInRequired
from sergas.web.settings import WebSettings, load_web_settings

__all__ = ["CurrentViewer", "WebState", "pending_count", "viewer", "web_state"]


@dataclass(frozen=True)
class WebState:
    runtime: Runtime
    settings: WebSettings
    sessions: SessionStore
    history: SweepHistory
    related: RelatedRecords

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
        found = WebState(
            runtime,
            settings,
            SessionStore(runtime.engine, keys, hours=settings.session_hours),
            SweepHistory(runtime.engine),
            RelatedRecords(runtime, settings),
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
    engine = state.runtime.engine
    query = select(func.count()).select_from(approvals).where(approvals.c.status == PENDING)
    with database_errors(engine.url):
        async with engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())
