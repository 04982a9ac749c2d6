"""Twenty-five accounts whose scores were worked out by hand from the rules in docs/sweep.md.

The rules with the default settings, as used below:

    activity      35 if d <= 14; 0 if d >= 84 or never; else 0.5 * (84 - d)   (35 / 70 days)
    pipeline      min(20, open amount / 2,500)                                 (20 at 50,000)
    deals on time 15 * (open deals not past closing) / (open deals); 15 with none
    tasks         20 - 5 * overdue, at least 0                                  (0 from 4)
    revenue       10 from 10,000,000; 5 from 1,000,000; else (or unknown) 0
    score         round half up of the sum (weights add up to 100)
    status        Healthy >= 70, Watch >= 40, At Risk below

d is whole days (floored) since the latest of Last_Activity_Time, the last call and the last
meeting; a call or meeting counts when it was held in the last 84 days (not ahead, not a
Missed call), on the account or on one of its open deals. When any counts, the activity
reason names the last call and meeting with their dates and the counts. "Overdue" and "past
closing" mean a date before today (NOW's date); a deal closing today or a task due today is
not late. Only open stages count as deals; Completed tasks never count. Reasons list the
signals that lost points, biggest loss first; equal losses keep the order activity,
pipeline, deals on time, tasks, revenue.

Offsets are in days from NOW (negative: in the past).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Case:
    name: str
    activity_days: float | None  # days before NOW; None: no activity on record
    revenue: float | None
    deals: tuple[tuple[float | None, int, str], ...] = ()  # (amount, closing offset, stage)
    tasks: tuple[tuple[int | None, str], ...] = ()  # (due offset or None, status)
    score: int = 0
    status: str = ""
    reasons: tuple[str, ...] = ()
    owner: int = 0  # index into the sandbox's users
    rating: str | None = "Active"
    extra: dict[str, object] = field(default_factory=dict)
    # (days before NOW, Call_Type, about its first deal instead of the account)
    calls: tuple[tuple[float, str, bool], ...] = ()
    meetings: tuple[float, ...] = ()  # days before NOW (negative: still ahead)


OPEN = "Qualification"
NEGOTIATION = "Negotiation/Review"

CASES: tuple[Case, ...] = (
    # 35 + 20 (60,000 caps at 20) + 15 + 20 + 10 = 100
    Case("Perfect Co", 2, 20_000_000, ((60_000, 30, OPEN),), (), 100, "Healthy", (), owner=1),
    # 0 + 0 + 15 (no open deal: nothing late) + 20 + 0 = 35
    Case(
        "Never Touched Ltd",
        None,
        None,
        score=35,
        status="At Risk",
        reasons=("No activity on record", "No open deals", "Annual revenue unknown"),
        owner=1,
    ),
    # d = floor(14 days 23 h) = 14: 35; 50,000 exactly: 20; 15; 20; 10,000,000 exactly: 10 = 100
    Case(
        "Boundary Full GmbH",
        14 + 23 / 24,
        10_000_000,
        ((50_000, 10, NEGOTIATION),),
        score=100,
        status="Healthy",
        owner=1,
    ),
    # d = 15: 0.5 * 69 = 34.5; 0; 15; 20; 1,000,000 exactly: 5 -> 74.5 rounds up to 75
    # (Python's round() would give 74: half to even)
    Case(
        "Fifteen Days Inc",
        15,
        1_000_000,
        score=75,
        status="Healthy",
        reasons=(
            "No open deals",
            "Annual revenue under 10,000,000",
            "Last activity 15 days ago",
        ),
        owner=1,
    ),
    # d = 84: 0; 25,000 -> 10; on time 15; 1 overdue task -> 15; 999,999 -> 0 = 40 (Watch)
    # losses: activity 35, pipeline 10, revenue 10 (tie: signal order), tasks 5
    Case(
        "Stale Boundary LLC",
        84,
        999_999,
        ((25_000, 40, OPEN),),
        ((-1, "Not Started"),),
        score=40,
        status="Watch",
        reasons=(
            "No activity in 84 days",
            "Open pipeline 25,000 across 1 deal, under the 50,000 target",
            "Annual revenue under 1,000,000",
            "1 overdue task",
        ),
        owner=1,
    ),
    # d = 83: 0.5; 0; 15; 4 overdue -> 0; unknown -> 0 -> 15.5 rounds up to 16
    Case(
        "Almost Stale Corp",
        83,
        None,
        (),
        ((-3, "Not Started"), (-10, "In Progress"), (-20, "Deferred"), (-30, "Waiting for input")),
        score=16,
        status="At Risk",
        reasons=(
            "Last activity 83 days ago",
            "No open deals",
            "4 overdue tasks",
            "Annual revenue unknown",
        ),
        owner=1,
    ),
    # d = 50: 17; 10,000 (late) + 20,000 -> 30,000 -> 12; 1 of 2 late -> 7.5;
    # tasks: 2 overdue (one due in 5 days, one with no due date do not count) -> 10;
    # 5,000,000 -> 5. 17 + 12 + 7.5 + 10 + 5 = 51.5 -> 52
    # losses: activity 18, tasks 10, pipeline 8, deals on time 7.5, revenue 5
    Case(
        "Half Late Partners",
        50,
        5_000_000,
        ((10_000, -1, OPEN), (20_000, 60, NEGOTIATION)),
        ((-2, "Not Started"), (-9, "In Progress"), (5, "Not Started"), (None, "Not Started")),
        score=52,
        status="Watch",
        reasons=(
            "Last activity 50 days ago",
            "2 overdue tasks",
            "Open pipeline 30,000 across 2 deals, under the 50,000 target",
            "1 of 2 open deals past their closing date",
            "Annual revenue under 10,000,000",
        ),
        owner=2,
    ),
    # d = 30: 27; 5,000 + (no amount) + 2,500 = 7,500 -> 3; all 3 late -> 0; 20;
    # 50,000,000 -> 10. 27 + 3 + 0 + 20 + 10 = 60
    Case(
        "All Late Systems",
        30,
        50_000_000,
        ((5_000, -5, OPEN), (None, -40, NEGOTIATION), (2_500, -100, OPEN)),
        score=60,
        status="Watch",
        reasons=(
            "Open pipeline 7,500 across 3 deals, under the 50,000 target",
            "3 of 3 open deals past their closing date",
            "Last activity 30 days ago",
        ),
        owner=2,
    ),
    # d = 0: 35; only closed deals -> no open deal: 0 + 15; a Completed overdue task does not
    # count: 20; 2,000,000 -> 5. 35 + 0 + 15 + 20 + 5 = 75
    Case(
        "Closed Only Ltd",
        0,
        2_000_000,
        ((100_000, -30, "Closed Won"), (40_000, -60, "Closed Lost")),
        ((-20, "Completed"),),
        score=75,
        status="Healthy",
        reasons=("No open deals", "Annual revenue under 10,000,000"),
        owner=2,
    ),
    # d = 24: 30; 25,000 -> 10; 15; 1 overdue -> 15; unknown -> 0 = 70 (Healthy boundary)
    Case(
        "Seventy Exactly Inc",
        24,
        None,
        ((25_000, 20, OPEN),),
        ((-1, "In Progress"),),
        score=70,
        status="Healthy",
        reasons=(
            "Open pipeline 25,000 across 1 deal, under the 50,000 target",
            "Annual revenue unknown",
            "Last activity 24 days ago",
            "1 overdue task",
        ),
        owner=2,
    ),
    # As above with d = 25: 29.5 -> 69.5, rounds half up to 70: Healthy
    Case(
        "Sixty Nine And A Half Co",
        25,
        None,
        ((25_000, 20, OPEN),),
        ((-1, "In Progress"),),
        score=70,
        status="Healthy",
        reasons=(
            "Open pipeline 25,000 across 1 deal, under the 50,000 target",
            "Annual revenue unknown",
            "Last activity 25 days ago",
            "1 overdue task",
        ),
        owner=2,
    ),
    # As above with d = 26: 29 -> 69: Watch
    Case(
        "Sixty Nine Group",
        26,
        None,
        ((25_000, 20, OPEN),),
        ((-1, "In Progress"),),
        score=69,
        status="Watch",
        reasons=(
            "Open pipeline 25,000 across 1 deal, under the 50,000 target",
            "Annual revenue unknown",
            "Last activity 26 days ago",
            "1 overdue task",
        ),
        owner=2,
    ),
    # d = 83: 0.5; 22,500 -> 9, late -> 0; 20; 12,000,000 -> 10 = 39.5 -> 40: Watch
    Case(
        "Thirty Nine And A Half AG",
        83,
        12_000_000,
        ((22_500, -3, OPEN),),
        score=40,
        status="Watch",
        reasons=(
            "Last activity 83 days ago",
            "1 of 1 open deals past their closing date",
            "Open pipeline 22,500 across 1 deal, under the 50,000 target",
        ),
        owner=3,
    ),
    # d = 84: 0; 9; 0; 20; 10 = 39: At Risk
    Case(
        "Thirty Nine Holdings",
        84,
        12_000_000,
        ((22_500, -3, OPEN),),
        score=39,
        status="At Risk",
        reasons=(
            "No activity in 84 days",
            "1 of 1 open deals past their closing date",
            "Open pipeline 22,500 across 1 deal, under the 50,000 target",
        ),
        owner=3,
    ),
    # d = 7: 35; 4 open deals, 100,000 -> 20; none late -> 15; 6 overdue -> 0 (floored);
    # 12,000,000 -> 10. 35 + 20 + 15 + 0 + 10 = 80
    Case(
        "Busy Backlog Labs",
        7,
        12_000_000,
        tuple((25_000, 10 + i, OPEN) for i in range(4)),
        tuple((-1 - i, "Not Started") for i in range(6)),
        score=80,
        status="Healthy",
        reasons=("6 overdue tasks",),
        owner=3,
    ),
    # d = 10: 35; 0 + 15; two tasks due today and one tomorrow are not overdue: 20;
    # 3,000,000 -> 5. 35 + 0 + 15 + 20 + 5 = 75
    Case(
        "Due Today Ltd",
        10,
        3_000_000,
        (),
        ((0, "Not Started"), (0, "In Progress"), (1, "Not Started")),
        score=75,
        status="Healthy",
        reasons=("No open deals", "Annual revenue under 10,000,000"),
        owner=3,
    ),
    # d = 60: 12; 40,000 closing today -> 16 and not late -> 15; 3 overdue -> 5; unknown -> 0
    # 12 + 16 + 15 + 5 + 0 = 48
    Case(
        "Closing Today Co",
        60,
        None,
        ((40_000, 0, NEGOTIATION),),
        ((-1, "Not Started"), (-2, "Not Started"), (-3, "Not Started")),
        score=48,
        status="Watch",
        reasons=(
            "Last activity 60 days ago",
            "3 overdue tasks",
            "Annual revenue unknown",
            "Open pipeline 40,000 across 1 deal, under the 50,000 target",
        ),
        owner=0,
    ),
    # Activity a day in the future (clock skew): d clamps to 0 -> 35; 0 + 15; 20;
    # revenue 0 -> 0. 35 + 0 + 15 + 20 + 0 = 70
    Case(
        "Future Activity Inc",
        -1,
        0,
        score=70,
        status="Healthy",
        reasons=("No open deals", "Annual revenue under 1,000,000"),
        owner=0,
    ),
    # d = 100: 0; 5 open deals of 10,000 -> 50,000 -> 20; 2 late -> 15 * 3/5 = 9;
    # 3 overdue (Not Started, Deferred, Waiting for input) -> 5; 9,999,999 -> 5.
    # 0 + 20 + 9 + 5 + 5 = 39
    Case(
        "Quiet Pipeline Corp",
        100,
        9_999_999,
        (
            (10_000, -10, OPEN),
            (10_000, -1, NEGOTIATION),
            (10_000, 0, OPEN),
            (10_000, 15, OPEN),
            (10_000, 90, NEGOTIATION),
        ),
        ((-4, "Not Started"), (-5, "Deferred"), (-6, "Waiting for input")),
        score=39,
        status="At Risk",
        reasons=(
            "No activity in 100 days",
            "3 overdue tasks",
            "2 of 5 open deals past their closing date",
            "Annual revenue under 10,000,000",
        ),
        owner=0,
    ),
    # d = 40: 22; open: 15,000 -> 6 (Closed Won 15,000 and Closed Lost 80,000 ignored);
    # none late -> 15; 1 overdue (two Completed overdue ignored) -> 15; 1,500,000 -> 5.
    # 22 + 6 + 15 + 15 + 5 = 63
    Case(
        "Mixed Deals Trading",
        40,
        1_500_000,
        ((15_000, 30, OPEN), (15_000, -10, "Closed Won"), (80_000, -50, "Closed Lost")),
        ((-1, "In Progress"), (-2, "Completed"), (-3, "Completed")),
        score=63,
        status="Watch",
        reasons=(
            "Open pipeline 15,000 across 1 deal, under the 50,000 target",
            "Last activity 40 days ago",
            "1 overdue task",
            "Annual revenue under 10,000,000",
        ),
        owner=0,
    ),
)

# Calls and meetings (NOW is 2026-03-02 12:00 UTC; owner 2's accounts).
CASES += (
    # Account quiet for 100 days, but calls 20 and 50 days ago (a Missed one 2 days ago does
    # not count): d = 20 -> 0.5 * 64 = 32; no deals 0 + 15; 20; 2,000,000 -> 5 = 72
    Case(
        "Called Lately Ltd",
        100,
        2_000_000,
        score=72,
        status="Healthy",
        reasons=(
            "No open deals",
            "Annual revenue under 10,000,000",
            "Last activity 20 days ago (last call 2026-02-10; 2 calls, 0 meetings in 84 days)",
        ),
        owner=2,
        calls=((20, "Outbound", False), (50, "Inbound", False), (2, "Missed", False)),
    ),
    # No activity on record, a meeting 30 days ago (one 10 days ahead and a call 90 days ago
    # do not count): d = 30 -> 27; 30,000 -> 12; on time 15; 20; unknown 0 = 74
    # losses: revenue 10, activity 8, pipeline 8 (tie: signal order)
    Case(
        "Met Recently GmbH",
        None,
        None,
        ((30_000, 10, OPEN),),
        score=74,
        status="Healthy",
        reasons=(
            "Annual revenue unknown",
            "Last activity 30 days ago (last meeting 2026-01-31; 0 calls, 1 meeting in 84 days)",
            "Open pipeline 30,000 across 1 deal, under the 50,000 target",
        ),
        owner=2,
        calls=((90, "Outbound", False),),
        meetings=(30, -10),
    ),
    # Account quiet for 60 days; a call about its open deal 5 days ago: d = 5 -> 35;
    # 60,000 -> 20; 15; 20; 20,000,000 -> 10 = 100
    Case(
        "Deal Call Corp",
        60,
        20_000_000,
        ((60_000, 20, OPEN),),
        score=100,
        status="Healthy",
        owner=2,
        calls=((5, "Inbound", True),),
    ),
    # The account's own activity (34 days) is newer than its call (50) and meeting (70):
    # d = 34 -> 25; no deals 0 + 15; 20; 10,000,000 -> 10 = 70
    Case(
        "Own Activity Newer Inc",
        34,
        10_000_000,
        score=70,
        status="Healthy",
        reasons=(
            "No open deals",
            "Last activity 34 days ago (last call 2026-01-11, last meeting 2025-12-22; "
            "1 call, 1 meeting in 84 days)",
        ),
        owner=2,
        calls=((50, "Outbound", False),),
        meetings=(70,),
    ),
    # Quiet for 90 days; only a Missed call (3 days ago) since: d = 90 -> 0; 0 + 15; 20;
    # unknown 0 = 35 (At Risk). The brief test gives it contacts and notes.
    Case(
        "Missed Calls Only LLC",
        90,
        None,
        score=35,
        status="At Risk",
        reasons=("No activity in 90 days", "No open deals", "Annual revenue unknown"),
        owner=2,
        calls=((3, "Missed", False),),
    ),
)

# Read but not scored: an inactive rating takes the account out of the sweep.
INACTIVE: tuple[Case, ...] = (
    Case("Shut Down Industries", 200, None, rating="Shut Down"),
    Case("Market Failed Ventures", 5, 50_000_000, rating="Market Failed"),
)
