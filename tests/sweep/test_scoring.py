"""The score's rules one by one, on AccountSignals built in the test (no CRM)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from sergas.sweep.scoring import (
    AccountSignals,
    Deal,
    Owner,
    round_half_up,
    score_account,
    status_for,
)
from sergas.sweep.settings import SweepSettings

NOW = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)
TODAY = NOW.date()
DEFAULTS = SweepSettings()


def account(**changes: object) -> AccountSignals:
    """A perfect account (100 points) unless changed."""
    values: dict[str, object] = {
        "id": "1",
        "name": "Acme",
        "owner": Owner("u1", "Ada Lovelace"),
        "last_activity": NOW - timedelta(days=1),
        "annual_revenue": 20_000_000.0,
        "open_deals": (Deal(80_000.0, TODAY + timedelta(days=30)),),
        "open_task_due_dates": (),
    }
    values.update(changes)
    return AccountSignals(**values)  # type: ignore[arg-type]


def points(signal: str, **changes: object) -> float:
    return score_account(account(**changes), DEFAULTS, NOW).points[signal]


def test_a_perfect_account_scores_100_with_no_reasons() -> None:
    result = score_account(account(), DEFAULTS, NOW)
    assert (result.score, result.status, result.reasons) == (100, "Healthy", ())
    assert sum(result.points.values()) == 100


@pytest.mark.parametrize(
    ("days", "expected"),
    [(0, 35), (14, 35), (14.99, 35), (15, 34.5), (49, 17.5), (83, 0.5), (84, 0), (400, 0)],
)
def test_activity_decays_linearly_between_fresh_and_stale(days: float, expected: float) -> None:
    assert points("activity", last_activity=NOW - timedelta(days=days)) == expected


def test_no_activity_and_future_activity() -> None:
    assert points("activity", last_activity=None) == 0
    assert points("activity", last_activity=NOW + timedelta(hours=5)) == 35


@pytest.mark.parametrize(
    ("amounts", "expected"),
    [
        ((), 0),
        ((None,), 0),
        ((12_500.0,), 5),
        ((20_000.0, 5_000.0), 10),
        ((50_000.0,), 20),
        ((1e9,), 20),
    ],
)
def test_pipeline_is_the_open_amount_against_the_target(
    amounts: tuple[float | None, ...], expected: float
) -> None:
    deals = tuple(Deal(a, TODAY + timedelta(days=5)) for a in amounts)
    assert points("pipeline", open_deals=deals) == expected


def test_deals_on_time_counts_only_closing_dates_before_today() -> None:
    late, today, ahead, undated = (
        TODAY - timedelta(days=1),
        TODAY,
        TODAY + timedelta(days=1),
        None,
    )
    deals = tuple(Deal(1.0, d) for d in (late, today, ahead, undated))
    assert points("deals_on_time", open_deals=deals) == 15 * 3 / 4
    assert points("deals_on_time", open_deals=()) == 15


@pytest.mark.parametrize(("overdue", "expected"), [(0, 20), (1, 15), (3, 5), (4, 0), (9, 0)])
def test_tasks_lose_five_points_per_overdue_task(overdue: int, expected: float) -> None:
    due = tuple(TODAY - timedelta(days=1 + i) for i in range(overdue))
    not_due = (TODAY, TODAY + timedelta(days=3), None)
    assert points("tasks", open_task_due_dates=due + not_due) == expected


@pytest.mark.parametrize(
    ("revenue", "expected"),
    [(None, 0), (0.0, 0), (999_999.99, 0), (1_000_000.0, 5), (9_999_999.0, 5), (1e7, 10)],
)
def test_revenue_bands(revenue: float | None, expected: float) -> None:
    assert points("revenue", annual_revenue=revenue) == expected


@pytest.mark.parametrize(
    ("score", "status"),
    [
        (100, "Healthy"),
        (70, "Healthy"),
        (69, "Watch"),
        (40, "Watch"),
        (39, "At Risk"),
        (0, "At Risk"),
    ],
)
def test_status_thresholds(score: int, status: str) -> None:
    assert status_for(score, DEFAULTS) == status


def test_half_points_round_up() -> None:
    assert [round_half_up(x) for x in (74.5, 69.5, 0.5, 74.4999, 17.5000000001)] == [
        75,
        70,
        1,
        74,
        18,
    ]
    # 15 days quiet (34.5) and no deals (0 + 15), no tasks (20), revenue band mid (5)
    result = score_account(
        account(last_activity=NOW - timedelta(days=15), open_deals=(), annual_revenue=1e6),
        DEFAULTS,
        NOW,
    )
    assert result.score == 75


def test_reasons_are_sentences_biggest_loss_first() -> None:
    result = score_account(
        account(
            last_activity=NOW - timedelta(days=70),  # 7 points: lost 28
            open_deals=(Deal(10_000.0, TODAY - timedelta(days=2)),),  # 4: lost 16; late: lost 15
            open_task_due_dates=(TODAY - timedelta(days=1),),  # lost 5
            annual_revenue=None,  # lost 10
        ),
        DEFAULTS,
        NOW,
    )
    assert [(r.signal, r.points_lost) for r in result.reasons] == [
        ("activity", 28),
        ("pipeline", 16),
        ("deals_on_time", 15),
        ("revenue", 10),
        ("tasks", 5),
    ]
    assert result.reason_texts == [
        "Last activity 70 days ago",
        "Open pipeline 10,000 across 1 deal, under the 50,000 target",
        "1 of 1 open deals past their closing date",
        "Annual revenue unknown",
        "1 overdue task",
    ]
    assert (result.score, result.status) == (26, "At Risk")  # 7 + 4 + 0 + 15 + 0


def test_weights_and_thresholds_come_from_settings() -> None:
    only_activity = SweepSettings(
        weight_activity=1,
        weight_pipeline=0,
        weight_deals_on_time=0,
        weight_tasks=0,
        weight_revenue=0,
        activity_fresh_days=0,
        activity_stale_days=10,
        healthy_min=90,
        watch_min=50,
    )
    result = score_account(account(last_activity=NOW - timedelta(days=4)), only_activity, NOW)
    assert (result.score, result.status) == (60, "Watch")  # normalised: 0.6 of 1 point
    assert [r.signal for r in result.reasons] == ["activity"]


def test_now_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        score_account(account(), DEFAULTS, datetime(2026, 1, 1))


def test_today_is_the_utc_date() -> None:
    # 23:30 UTC on June 15 is already June 16 at UTC+14.
    late_evening_elsewhere = datetime(2026, 6, 15, 23, 30, tzinfo=UTC).astimezone(
        timezone(timedelta(hours=14))
    )
    deals = (Deal(50_000.0, date(2026, 6, 15)),)
    result = score_account(account(open_deals=deals), DEFAULTS, late_evening_elsewhere)
    assert result.points["deals_on_time"] == 15  # closes "today" in UTC: not late
