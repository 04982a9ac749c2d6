"""The approval queue in the browser: pending proposals (updates with each field's value when
proposed beside the proposed one; new records and notes with what they would add), and
approve / reject for write-scope viewers.

Deciding calls what `sergas approvals approve` and `reject` call
(`ApprovalStore.approve` / `.reject`), so a proposal is decided the same way whichever door
it came through. A read-scope viewer gets no buttons, and a POST from one is refused (403);
a POST authenticated by the session cookie must carry the session's form token and come
from this site (`sergas.web.auth`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select

from sergas.access.applying import approve
from sergas.access.approvals import PENDING, Approval, ApprovalStore, StaleProposalError
from sergas.db.engine import database_errors
from sergas.db.tables import sweep_scores
from sergas.errors import InvalidDataError, NotFoundError
from sergas.web.auth import Viewer, same_origin, tokens_match
from sergas.web.pages import base_context
from sergas.web.render import HtmlRoute, PageError, page, redirect
from sergas.web.state import CurrentViewer, WebState, latest_run, web_state

__all__ = ["check_form", "router"]

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)
SHOWN = 100
DECIDED_SHOWN = 20


def check_form(request: Request, viewer: Viewer, csrf: str | None) -> None:
    """A form POST is this site's own: same origin and, for a session, the session's token."""
    if not same_origin(request):
        raise PageError(403, "Refused", "This form was sent from another site.")
    if viewer.via == "session" and not tokens_match(csrf, viewer.csrf):
        raise PageError(
            403, "Refused", "The form's security token is missing or stale: reload the page."
        )


async def _names(state: WebState, ids: list[str]) -> dict[str, str]:
    """Account names from the latest sweep, for the records proposals name."""
    run = await latest_run(state)
    if run is None or not ids:
        return {}
    engine = state.runtime.engine
    query = select(sweep_scores.c.account_id, sweep_scores.c.account_name).where(
        sweep_scores.c.run_id == run.id, sweep_scores.c.account_id.in_(ids[:500])
    )
    with database_errors(engine.url):
        async with engine.connect() as conn:
            return {r.account_id: r.account_name for r in (await conn.execute(query)).all()}


async def _queue(
    state: WebState, store: ApprovalStore
) -> tuple[list[Approval], list[Approval], dict[str, str]]:
    """Pending proposals (oldest first), recent decisions, and the accounts' names."""
    pending = list(reversed(await store.find(PENDING, limit=SHOWN)))
    recent = [a for a in await store.find(None, limit=DECIDED_SHOWN * 3) if a.status != PENDING]
    recent = recent[:DECIDED_SHOWN]
    ids = [a.record_id for a in pending + recent if a.module == "Accounts" and a.record_id]
    return pending, recent, await _names(state, ids)


@router.get("/approvals")
async def approvals_page(
    request: Request,
    viewer: CurrentViewer,
    decided: Annotated[int | None, Query(ge=1)] = None,
) -> HTMLResponse:
    state = web_state(request)
    store = ApprovalStore(state.runtime.engine)
    if decided is not None:  # just decided here: show the queue as it is now
        state.recent.forget("approvals")
    pending, recent, names = await state.recent.get("approvals", lambda: _queue(state, store))
    notice = None
    if decided is not None:
        try:
            done = await store.get(decided)
        except NotFoundError:
            done = None
        if done is not None:
            css = {"applied": "applied", "rejected": "rejected"}.get(done.status, "failed")
            text = f"#{done.id} {done.status}"
            if done.outcome:
                text += f": Zoho answered {done.outcome.get('code')}"
                if done.outcome.get("message"):
                    text += f" ({done.outcome.get('message')})"
            notice = {"css": css, "text": text}
    context = await base_context(state, viewer, "Approvals", "approvals")
    context |= {"pending_list": pending, "decided": recent, "names": names, "notice": notice}
    return page("approvals.html", context)


@router.post("/approvals/{approval_id}")
async def decide(
    request: Request,
    approval_id: Annotated[int, Path(ge=1)],
    viewer: CurrentViewer,
    decision: Annotated[Literal["approve", "reject"], Form()],
    csrf: Annotated[str | None, Form()] = None,
    note: Annotated[str | None, Form(max_length=1000)] = None,
) -> RedirectResponse:
    if not viewer.can_write:
        raise PageError(
            403,
            "Not allowed",
            f"API key {viewer.principal.label()} has read scope: deciding proposals needs a "
            "key with write scope.",
        )
    check_form(request, viewer, csrf)
    state = web_state(request)
    store = ApprovalStore(state.runtime.engine)
    by = f"{viewer.principal.label()} (dashboard)"
    note = (note or "").strip() or None
    try:
        if decision == "approve":
            # Checked against Zoho first, and sent with the reviewer's own authority.
            caller = viewer.principal.caller("dashboard")
            await approve(store, state.runtime.manager, approval_id, by, note, caller=caller)
        else:
            await store.reject(approval_id, by, note)
    except StaleProposalError as exc:
        raise PageError(409, "Changed in Zoho since it was proposed", exc.message) from None
    except InvalidDataError as exc:
        raise PageError(409, "Already decided", exc.message) from None
    finally:
        state.recent.forget("pending")
        state.recent.forget("approvals")
    return redirect(f"/approvals?decided={approval_id}")
