"""The pages that read the sweep: the latest run (`/`), one owner (`/owners/{id}`) and one
account (`/accounts/{id}`). Everything here comes from Sergas's database, except an
account's records in the CRM (`sergas.web.related`), which the account page sends after the
rest of the page (`page_in_two_parts`) unless they are cached."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from starlette.responses import Response

from sergas.access.schemas import RECORD_ID
from sergas.sweep.briefs import RunInfo, build_briefs
from sergas.sweep.history import RunEntry, credits_text
from sergas.sweep.scoring import STATUSES
from sergas.sweep.settings import SweepSettings
from sergas.web.auth import Viewer
from sergas.web.charts import bar_chart, line_chart
from sergas.web.related import RELATED_PARTS, Related
from sergas.web.render import HtmlRoute, PageError, log, page, page_in_two_parts, render_part
from sergas.web.state import (
    CurrentViewer,
    WebState,
    latest_run,
    pending_count,
    recent_runs,
    web_state,
)

__all__ = ["base_context", "router", "zoho_record_url"]

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)

CSS = {"Healthy": "healthy", "Watch": "watch", "At Risk": "at-risk"}
STATUS_CSS = [(s, CSS[s]) for s in STATUSES]
OwnerId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:@-]{1,64}$")]
AccountId = Annotated[str, Path(pattern=RECORD_ID)]


async def base_context(
    state: WebState, viewer: Viewer, title: str, nav: str = ""
) -> dict[str, Any]:
    return {
        "title": title,
        "nav": nav,
        "viewer": viewer,
        "pending": await pending_count(state),
        "statuses": STATUS_CSS,
        "target": state.runtime.target.description,
    }


def _bucket_css(sweep: SweepSettings, start: int) -> str:
    if start >= sweep.healthy_min:
        return "healthy"
    return "watch" if start >= sweep.watch_min else "at-risk"


async def _overview_facts(state: WebState, run_id: str) -> tuple[Any, ...]:
    history = state.history
    return (
        await history.distribution(run_id),
        await history.status_changes(run_id),
        await history.owners(run_id),
    )


@router.get("/")
async def overview(request: Request, viewer: CurrentViewer) -> HTMLResponse:
    state = web_state(request)
    context = await base_context(state, viewer, "Latest sweep", "overview")
    run = await latest_run(state)
    context["run"] = run
    if run is None:
        return page("overview.html", context)
    counts, (moved, moved_total), owners = await state.runs.get(
        ("overview", run.id),
        lambda: _overview_facts(state, run.id),
    )
    labels = [f"{10 * i}–{10 * i + 9}" if i < 9 else "90–100" for i in range(10)]
    trend = await recent_runs(state)
    duration = run.summary.get("duration_s")
    context |= {
        "distribution": bar_chart(
            counts, labels, [_bucket_css(state.sweep, 10 * i) for i in range(10)]
        ),
        "distribution_text": ", ".join(
            f"{lab}: {n:,}" for lab, n in zip(labels, counts, strict=True)
        ),
        "trend": trend,
        "trend_chart": line_chart(
            {s: [r.statuses[s] for r in trend] for s in STATUSES},
            [r.checked_at.strftime("%m-%d %H:%M") for r in trend],
            CSS,
        ),
        "moved": moved,
        "moved_total": moved_total,
        "owners": owners,
        "credits": credits_text(run.credits),
        "duration": "–" if duration is None else f"{float(duration):,.1f} s",
        "not_written": run.summary.get("not_written", 0),
    }
    return page("overview.html", context)


@router.get("/owners/{owner_id}")
async def owner(request: Request, owner_id: OwnerId, viewer: CurrentViewer) -> HTMLResponse:
    state = web_state(request)
    run = await latest_run(state)
    if run is None:
        raise PageError(404, "Not found", "No sweep has finished on this CRM yet.")
    found = await state.runs.get(("owner", run.id, owner_id), lambda: _brief(state, run, owner_id))
    if found is None:
        raise PageError(404, "Not found", "No account of this owner in the latest sweep.")
    name, main = found
    context = await base_context(state, viewer, name)
    context["main"] = main
    return page("owner.html", context)


async def _brief(state: WebState, run: RunEntry, owner_id: str) -> tuple[str, Markup] | None:
    """The owner's name and their page's content: the brief, as the sweep writes it, and
    their falling accounts (rendered here once: a finished run's brief never changes)."""
    accounts = await state.history.owner_accounts(run.id, owner_id)
    if not accounts:
        return None
    previous = run.summary.get("previous_sweep")
    if previous is None:  # a run from before the summary said
        previous = any(a.previous_score is not None for a in accounts)
    info = RunInfo(run.id, run.checked_at, False, previous_sweep=bool(previous))
    failures = await state.history.failures(run)
    (brief,) = build_briefs(accounts, failures, info, top_movers=state.sweep.top_movers)
    falling = sorted(
        (a for a in accounts if (a.delta or 0) < 0), key=lambda a: (a.delta or 0, a.name)
    )
    main = render_part(
        "owner_main.html",
        {"brief": brief.data, "falling": [a.to_json() for a in falling], "statuses": STATUS_CSS},
    )
    return brief.owner.name, main


_REGION_WEB = {"ca": "https://crm.zohocloud.ca"}


def zoho_record_url(state: WebState, module: str, record_id: str) -> str | None:
    """The record in Zoho's web client; None for the embedded sandbox (it has none)."""
    if state.runtime.target.embedded:
        return None
    base = state.settings.zoho_web_url
    if base is None:
        host = urlsplit(state.runtime.target.settings.api_domain).hostname or ""
        if not host.startswith("www.zohoapis."):
            return None  # a sandbox or a proxy: no known web client
        suffix = host.removeprefix("www.zohoapis.")
        base = _REGION_WEB.get(suffix, f"https://crm.zoho.{suffix}") + "/crm"
    return f"{base.rstrip('/')}/tab/{module}/{record_id}"


def _time(value: Any) -> str | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value)).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return str(value)


def _facts(record: dict[str, Any]) -> list[tuple[str, str]]:
    owner = record.get("Owner")
    revenue = record.get("Annual_Revenue")
    return [
        ("Owner", str(owner.get("name")) if isinstance(owner, dict) else "–"),
        ("Industry", str(record.get("Industry") or "–")),
        ("Annual revenue", "–" if revenue in (None, "") else f"{float(revenue):,.0f}"),
        ("Rating", str(record.get("Rating") or "–")),
        ("Last activity", _time(record.get("Last_Activity_Time")) or "none on record"),
        ("Health score in Zoho", str(record.get("Health_Score") or "–")),
        ("Phone", str(record.get("Phone") or "–")),
        ("Website", str(record.get("Website") or "–")),
    ]


@router.get("/accounts/{account_id}")
async def account(request: Request, account_id: AccountId, viewer: CurrentViewer) -> Response:
    """What the sweep stored about the account, sent at once; then, in the same response,
    what the CRM holds now (from the cache when read within SERGAS_WEB_RELATED_CACHE_SECONDS,
    else read while the browser already shows the rest). An account the latest sweep did
    not score is read from the CRM first: its name, or whether it exists, is there."""
    state = web_state(request)
    run = await latest_run(state)
    scored, points = await state.history.account_story(
        run.id if run else None, state.scope, account_id
    )
    related = state.related.cached(account_id)
    if scored is None:
        related = related or await state.related.of(account_id)
        if not points and related.account is None:
            raise PageError(404, "Not found", f"No account {account_id} in the sweep or the CRM.")
    sweep = state.sweep
    crm_name = (related.account or {}).get("Account_Name") if related else None
    name = scored.name if scored else str(crm_name or account_id)
    context = await base_context(state, viewer, name)
    context |= {
        "name": name,
        "account_id": account_id,
        "run": run,
        "scored": scored,
        "points": points,
        "chart": line_chart(
            {"Score": [p.score for p in points]},
            [p.checked_at.strftime("%m-%d") for p in points],
            {},
            y_max=100,
            bands=[
                (sweep.healthy_min, 100, "healthy"),
                (sweep.watch_min, sweep.healthy_min, "watch"),
                (0, sweep.watch_min, "at-risk"),
            ],
        ),
        "zoho_url": zoho_record_url(state, "Accounts", account_id),
        "no_link": "the embedded sandbox has no Zoho page"
        if state.runtime.target.embedded
        else "set SERGAS_WEB_ZOHO_WEB_URL to link records to Zoho",
        "crm": None if related is None else _crm_part(related),
    }
    if related is not None:
        return page("account.html", context)

    async def crm_now() -> Markup:
        try:
            return _crm_part(await state.related.of(account_id))
        except Exception:  # the first part is sent (status 200): say it here, not as a 500
            # (`of` turns Zoho's errors and timeouts into each part's problem itself.)
            log.exception("account page: reading the CRM failed", account_id=account_id)
            why = "an unexpected error (see the service's log)"
            return _crm_part(Related(problems=dict.fromkeys(RELATED_PARTS, why)))

    return page_in_two_parts("account.html", context, crm_now)


def _crm_part(related: Related) -> Markup:
    facts = _facts(related.account or {})
    return render_part("account_crm.html", {"related": related, "facts": facts})
