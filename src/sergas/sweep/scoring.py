"""The account health score: 0-100 from five signals, a status, and the reasons behind it.

Each signal earns points up to its weight (settings, defaults in brackets):

- activity [35]: full up to `activity_fresh_days` (14) since the last activity, none from
  `activity_stale_days` (84) on or with no activity at all, linear in between; the last
  activity is the latest of the account's Last_Activity_Time, its last call and its last
  meeting (calls and meetings named, with their dates and counts, in the reason);
- pipeline [20]: open deal amount / `pipeline_full_amount` (50,000), capped at 1;
- deals on time [15]: share of open deals whose closing date has not passed (all points
  when there is no open deal: nothing is late);
- tasks [20]: 1 - overdue tasks / `overdue_tasks_zero` (4), floored at 0;
- revenue [10]: all points from `revenue_high` (10M), half from `revenue_mid` (1M), none
  below or when unknown.

score = round_half_up(100 * points / sum of weights). Healthy at `healthy_min` (70) and
above, Watch at `watch_min` (40) and above, At Risk below. The reasons are the signals that
lost points, biggest loss first. Everything here is pure: `now` is an argument.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Literal, NamedTuple

from sergas.sweep.settings import SweepSettings

__all__ = [
    "NO_ACTIVITY",
    "STATUSES",
    "AccountSignals",
    "Activity",
    "Deal",
    "Owner",
    "Reason",
    "Score",
    "Status",
    "last_activity",
    "round_half_up",
    "score_account",
    "status_for",
]

Status = Literal["Healthy", "Watch", "At Risk"]
STATUSES: tuple[Status, ...] = ("Healthy", "Watch", "At Risk")
DAY_SECONDS = 86_400


@dataclass(frozen=True, slots=True)
class Owner:
    id: str
    name: str
    email: str | None = None


class Deal(NamedTuple):
    """An open deal (a tuple: a sweep holds one per open deal of every account)."""

    amount: float | None
    closing_date: date | None


@dataclass(frozen=True, slots=True)
class Activity:
    """An account's calls and meetings held in the activity window (`activity_stale_days`
    up to the sweep's time): the latest of each and how many."""

    last_call: datetime | None = None
    calls: int = 0
    last_meeting: datetime | None = None
    meetings: int = 0


NO_ACTIVITY = Activity()


@dataclass(frozen=True, slots=True)
class AccountSignals:
    """What the score reads about one account (open deals and not-completed tasks only)."""

    id: str
    name: str
    owner: Owner
    last_activity: datetime | None
    annual_revenue: float | None
    open_deals: tuple[Deal, ...] = ()
    open_task_due_dates: tuple[date | None, ...] = ()
    health_score: int | None = None  # as the CRM holds it now
    account_status: str | None = None
    activity: Activity = NO_ACTIVITY  # calls and meetings


@dataclass(frozen=True)
class Reason:
    text: str
    points_lost: float
    signal: str


@dataclass(frozen=True)
class Score:
    score: int
    status: Status
    reasons: tuple[Reason, ...]
    points: dict[str, float] = field(default_factory=dict)

    @property
    def reason_texts(self) -> list[str]:
        return [r.text for r in self.reasons]


def round_half_up(value: float) -> int:
    """0.5 rounds up (Python's round() would round it to even); the epsilon absorbs float
    error in sums such as 17.5 = 7.000000001 + 10.499999999."""
    return math.floor(value + 0.5 + 1e-9)


def status_for(score: int, settings: SweepSettings) -> Status:
    if score >= settings.healthy_min:
        return "Healthy"
    if score >= settings.watch_min:
        return "Watch"
    return "At Risk"


def _money(amount: float) -> str:
    return f"{amount:,.0f}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def days_since(then: datetime, now: datetime) -> int:
    """Whole days elapsed (floored), never negative."""
    return max(0, math.floor((now - then).total_seconds() / DAY_SECONDS))


def _calls_evidence(c: Activity, s: SweepSettings) -> str:
    """ " (last call 2026-10-02; 2 calls, 1 meeting in 84 days)", or "" without any."""
    if not c.calls and not c.meetings:
        return ""
    latest = [
        f"last {kind} {when.astimezone(UTC).date().isoformat()}"
        for kind, when in (("call", c.last_call), ("meeting", c.last_meeting))
        if when is not None
    ]
    counts = f"{_plural(c.calls, 'call')}, {_plural(c.meetings, 'meeting')}"
    return f" ({', '.join(latest)}; {counts} in {s.activity_stale_days} days)"


def last_activity(a: AccountSignals) -> datetime | None:
    """The latest of the account's own Last_Activity_Time, its last call and last meeting."""
    dates = [d for d in (a.last_activity, a.activity.last_call, a.activity.last_meeting) if d]
    return max(dates) if dates else None


def _activity(a: AccountSignals, s: SweepSettings, now: datetime) -> tuple[float, str]:
    w = s.weight_activity
    latest = last_activity(a)
    evidence = _calls_evidence(a.activity, s)
    if latest is None:
        return 0.0, "No activity on record"
    days = days_since(latest, now)
    if days <= s.activity_fresh_days:
        return w, f"Last activity {days} days ago{evidence}"
    if days >= s.activity_stale_days:
        return 0.0, f"No activity in {days} days{evidence}"
    span = s.activity_stale_days - s.activity_fresh_days
    return w * (s.activity_stale_days - days) / span, f"Last activity {days} days ago{evidence}"


def _pipeline(a: AccountSignals, s: SweepSettings) -> tuple[float, str]:
    if not a.open_deals:
        return 0.0, "No open deals"
    amount = sum(d.amount or 0.0 for d in a.open_deals)
    share = min(1.0, amount / s.pipeline_full_amount)
    text = (
        f"Open pipeline {_money(amount)} across {_plural(len(a.open_deals), 'deal')}, "
        f"under the {_money(s.pipeline_full_amount)} target"
    )
    return s.weight_pipeline * share, text


def _deals_on_time(a: AccountSignals, s: SweepSettings, today: date) -> tuple[float, str]:
    if not a.open_deals:
        return s.weight_deals_on_time, "No open deals past their closing date"
    late = sum(1 for d in a.open_deals if d.closing_date is not None and d.closing_date < today)
    total = len(a.open_deals)
    text = f"{late} of {total} open deals past their closing date"
    return s.weight_deals_on_time * (total - late) / total, text


def _tasks(a: AccountSignals, s: SweepSettings, today: date) -> tuple[float, str]:
    overdue = sum(1 for due in a.open_task_due_dates if due is not None and due < today)
    share = max(0.0, 1 - overdue / s.overdue_tasks_zero)
    return s.weight_tasks * share, f"{_plural(overdue, 'overdue task')}"


def _revenue(a: AccountSignals, s: SweepSettings) -> tuple[float, str]:
    revenue = a.annual_revenue
    if revenue is None:
        return 0.0, "Annual revenue unknown"
    if revenue >= s.revenue_high:
        return s.weight_revenue, f"Annual revenue {_money(revenue)}"
    if revenue >= s.revenue_mid:
        return s.weight_revenue / 2, f"Annual revenue under {_money(s.revenue_high)}"
    return 0.0, f"Annual revenue under {_money(s.revenue_mid)}"


def score_account(account: AccountSignals, settings: SweepSettings, now: datetime) -> Score:
    """Score one account as of `now` (timezone-aware; dates compare in UTC)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    today = now.astimezone(UTC).date()
    signals = {
        "activity": (_activity(account, settings, now), settings.weight_activity),
        "pipeline": (_pipeline(account, settings), settings.weight_pipeline),
        "deals_on_time": (
            _deals_on_time(account, settings, today),
            settings.weight_deals_on_time,
        ),
        "tasks": (_tasks(account, settings, today), settings.weight_tasks),
        "revenue": (_revenue(account, settings), settings.weight_revenue),
    }
    points = {name: pts for name, ((pts, _), _) in signals.items()}
    lost = [
        Reason(text, weight - pts, name)
        for name, ((pts, text), weight) in signals.items()
        if weight - pts > 1e-9
    ]
    # Biggest loss first; ties keep the signals' order above (sorted() is stable).
    reasons = tuple(sorted(lost, key=lambda r: -r.points_lost))
    score = round_half_up(100 * sum(points.values()) / settings.total_weight)
    score = min(100, max(0, score))
    return Score(score, status_for(score, settings), reasons, points)
