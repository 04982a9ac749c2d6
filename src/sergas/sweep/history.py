"""What the sweep's store remembers, read back: its runs, each run's scores (the history
kept per run in `sweep_history`), and the latest run's scored accounts by owner.

What `sergas sweep runs` and `sergas sweep diff` print and the dashboard shows. Reads only:
the store (`sergas.sweep.store`) writes. A run is named by its id or any unique prefix of it
(as `git` names commits); runs are newest first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from sergas.db.engine import database_errors
from sergas.db.tables import sweep_batches, sweep_history, sweep_runs, sweep_scores
from sergas.errors import InvalidDataError, NotFoundError
from sergas.sweep.model import Outcome, ScoredAccount
from sergas.sweep.scoring import STATUSES, Owner
from sergas.sweep.store import RUN_DONE

__all__ = [
    "AccountPoint",
    "Change",
    "Diff",
    "OwnerCounts",
    "RunEntry",
    "SweepHistory",
    "credits_text",
]

BUCKETS = 10  # the score distribution: 0-9, 10-19, …, 90-100


@dataclass(frozen=True)
class RunEntry:
    """One run as the history lists it. `summary` is what the run stored when it finished
    (counts, credits, duration, briefs); empty for a run that did not finish."""

    id: str
    scope: str
    state: str
    started_at: datetime
    checked_at: datetime
    finished_at: datetime | None
    scanned: int
    scored: int
    changed: int
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def statuses(self) -> dict[str, int]:
        found = self.summary.get("statuses") or {}
        return {s: int(found.get(s, 0)) for s in STATUSES}

    @property
    def written(self) -> int | None:
        value = self.summary.get("written")
        return None if value is None else int(value)

    @property
    def credits(self) -> int | None:
        """Credits the run spent, or None: not counted (a real endpoint), or not finished."""
        used = (self.summary.get("credits") or {}).get("used")
        return None if used is None else int(used)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state,
            "started_at": self.started_at.isoformat(),
            "checked_at": self.checked_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "scanned": self.scanned,
            "scored": self.scored,
            "changed": self.changed,
            "written": self.written,
            "statuses": self.statuses,
            "credits": self.credits,
            "duration_s": self.summary.get("duration_s"),
            "briefs": self.summary.get("briefs"),
            "briefs_reused": bool(self.summary.get("briefs_reused")),
        }


def _point(value: tuple[int, str] | None) -> dict[str, Any] | None:
    return None if value is None else {"score": value[0], "status": value[1]}


@dataclass(frozen=True)
class Change:
    """One account whose status differs between two runs (None: not scored in that run)."""

    account_id: str
    name: str
    owner: str
    before: tuple[int, str] | None
    after: tuple[int, str] | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.account_id,
            "name": self.name,
            "owner": self.owner,
            "before": _point(self.before),
            "after": _point(self.after),
        }


@dataclass(frozen=True)
class Diff:
    before: RunEntry
    after: RunEntry
    changes: list[Change]  # worst move first, then by name

    def to_json(self) -> dict[str, Any]:
        return {
            "before": self.before.to_json(),
            "after": self.after.to_json(),
            "changed": len(self.changes),
            "changes": [c.to_json() for c in self.changes],
        }


@dataclass(frozen=True)
class AccountPoint:
    run_id: str
    checked_at: datetime
    score: int
    status: str


@dataclass(frozen=True)
class OwnerCounts:
    owner: Owner
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


_RANK = {"Healthy": 0, "Watch": 1, "At Risk": 2}


def credits_text(used: int | None) -> str:
    """Zoho credits a run spent, or plainly "unknown" when nothing counted them."""
    return "unknown (not counted against a real Zoho endpoint)" if used is None else f"{used:,}"


def _status(point: tuple[int, str] | None) -> str | None:
    return None if point is None else point[1]


def _entry(row: Any) -> RunEntry:
    return RunEntry(
        id=row.id,
        scope=row.scope,
        state=row.state,
        started_at=row.started_at,
        checked_at=row.checked_at,
        finished_at=row.finished_at,
        scanned=row.accounts_scanned,
        scored=row.accounts_scored,
        changed=row.accounts_changed,
        summary=dict(row.summary or {}),
    )


def _scored(r: Any) -> ScoredAccount:
    return ScoredAccount(
        id=r.account_id,
        name=r.account_name,
        owner=Owner(r.owner_id, r.owner_name, r.owner_email),
        score=r.score,
        status=r.status,
        reasons=tuple(r.reasons),
        previous_score=r.previous_score,
        previous_status=r.previous_status,
        changed=r.changed,
    )


class SweepHistory:
    """Reads of the sweep's store for one engine; every method is one or two queries."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def _all(self, query: Any) -> Sequence[Any]:
        with database_errors(self.engine.url):
            async with self.engine.connect() as conn:
                return (await conn.execute(query)).all()

    # -- runs ------------------------------------------------------------------------------

    async def runs(
        self, scope: str | None, *, limit: int = 20, finished_only: bool = False
    ) -> list[RunEntry]:
        """Runs of `scope` (every scope when None), newest first."""
        query = select(sweep_runs).order_by(
            sweep_runs.c.checked_at.desc(), sweep_runs.c.started_at.desc()
        )
        if scope is not None:
            query = query.where(sweep_runs.c.scope == scope)
        if finished_only:
            query = query.where(sweep_runs.c.state == RUN_DONE)
        return [_entry(r) for r in await self._all(query.limit(limit))]

    async def latest(self, scope: str) -> RunEntry | None:
        found = await self.runs(scope, limit=1, finished_only=True)
        return found[0] if found else None

    async def before(self, run: RunEntry) -> RunEntry | None:
        """The finished run of the same scope just before `run`."""
        query = (
            select(sweep_runs)
            .where(
                sweep_runs.c.scope == run.scope,
                sweep_runs.c.state == RUN_DONE,
                sweep_runs.c.checked_at < run.checked_at,
            )
            .order_by(sweep_runs.c.checked_at.desc())
            .limit(1)
        )
        rows = await self._all(query)
        return _entry(rows[0]) if rows else None

    async def find(self, scope: str | None, name: str) -> RunEntry:
        """The run named by `name` (its id or a unique prefix), in `scope` when given."""
        text = name.strip().lower()
        if not text or not all(c in "0123456789abcdef" for c in text):
            raise InvalidDataError(
                f"not a run id: {name!r} (`sergas sweep runs` lists them)", code="BAD_RUN_ID"
            )
        query = select(sweep_runs).where(sweep_runs.c.id.startswith(text, autoescape=True))
        if scope is not None:
            query = query.where(sweep_runs.c.scope == scope)
        rows = await self._all(query.limit(2))
        if not rows:
            raise NotFoundError(
                f"no sweep run {name} (`sergas sweep runs` lists them)", details={"run": name}
            )
        if len(rows) > 1:
            raise InvalidDataError(
                f"{name} names more than one run: give more of its id", code="AMBIGUOUS_RUN_ID"
            )
        return _entry(rows[0])

    async def trend(self, scope: str, *, limit: int = 30) -> list[RunEntry]:
        """The last `limit` finished runs, oldest first (for a chart over time)."""
        return list(reversed(await self.runs(scope, limit=limit, finished_only=True)))

    # -- scores per run --------------------------------------------------------------------

    async def scores_of(self, run_id: str) -> dict[str, tuple[int, str]]:
        """account id → (score, status) in that run; empty when its history is gone."""
        query = select(
            sweep_history.c.account_id, sweep_history.c.score, sweep_history.c.status
        ).where(sweep_history.c.run_id == run_id)
        return {r.account_id: (r.score, r.status) for r in await self._all(query)}

    async def diff(self, before: RunEntry, after: RunEntry) -> Diff:
        """Accounts whose status differs between two finished runs (or that only one scored)."""
        for run in (before, after):
            if run.state != RUN_DONE:
                raise InvalidDataError(
                    f"run {run.id[:8]} is {run.state}: only finished runs have scores to compare",
                    code="RUN_NOT_FINISHED",
                )
        a, b = await self.scores_of(before.id), await self.scores_of(after.id)
        for run, kept in ((before, a), (after, b)):
            if not kept and run.scored:
                raise NotFoundError(
                    f"the scores of run {run.id[:8]} are no longer kept "
                    "(SERGAS_SWEEP_HISTORY_RUNS sets how many runs are)",
                    code="HISTORY_PRUNED",
                )
        moved = [i for i in a.keys() | b.keys() if _status(a.get(i)) != _status(b.get(i))]
        names = await self._names(moved)

        def order(i: str) -> tuple[int, str]:
            was, now = a.get(i), b.get(i)
            worse = _RANK.get(now[1], -1) if now else -1
            better = _RANK.get(was[1], -1) if was else -1
            return (-(worse - better), names.get(i, (i, ""))[0].lower())

        changes = [
            Change(i, *names.get(i, (i, "")), a.get(i), b.get(i)) for i in sorted(moved, key=order)
        ]
        return Diff(before, after, changes)

    async def _names(self, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """Account id → (name, owner name), from the newest run that scored each."""
        found: dict[str, tuple[str, str]] = {}
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            query = select(
                sweep_scores.c.account_id, sweep_scores.c.account_name, sweep_scores.c.owner_name
            ).where(sweep_scores.c.account_id.in_(chunk))
            for r in await self._all(query):
                found[r.account_id] = (r.account_name, r.owner_name)
        return found

    async def distribution(self, run_id: str) -> list[int]:
        """How many accounts scored 0-9, 10-19, …, 90-100 in the run."""
        query = (
            select(sweep_history.c.score, func.count().label("n"))
            .where(sweep_history.c.run_id == run_id)
            .group_by(sweep_history.c.score)
        )
        counts = [0] * BUCKETS
        for r in await self._all(query):  # at most 101 rows: one per score
            counts[max(0, min(BUCKETS - 1, int(r.score) // 10))] += int(r.n)
        return counts

    async def account_story(
        self, run_id: str | None, scope: str, account_id: str, *, limit: int = 90
    ) -> tuple[ScoredAccount | None, list[AccountPoint]]:
        """The account as the run scored it (None: not scored then) and its score in each kept
        run, oldest first; one connection."""
        scored = select(sweep_scores).where(
            sweep_scores.c.run_id == run_id, sweep_scores.c.account_id == account_id
        )
        with database_errors(self.engine.url):
            async with self.engine.connect() as conn:
                rows = [] if run_id is None else (await conn.execute(scored)).all()
                points = (await conn.execute(self._points(scope, account_id, limit))).all()
        return (
            _scored(rows[0]) if rows else None,
            [AccountPoint(r.id, r.checked_at, r.score, r.status) for r in reversed(points)],
        )

    def _points(self, scope: str, account_id: str, limit: int) -> Any:
        return (
            select(
                sweep_runs.c.id,
                sweep_runs.c.checked_at,
                sweep_history.c.score,
                sweep_history.c.status,
            )
            .join(sweep_runs, sweep_runs.c.id == sweep_history.c.run_id)
            .where(sweep_history.c.account_id == account_id, sweep_runs.c.scope == scope)
            .order_by(sweep_runs.c.checked_at.desc())
            .limit(limit)
        )

    async def account(self, scope: str, account_id: str, *, limit: int = 90) -> list[AccountPoint]:
        """One account's score in each kept run, oldest first."""
        rows = await self._all(self._points(scope, account_id, limit))
        return [AccountPoint(r.id, r.checked_at, r.score, r.status) for r in reversed(rows)]

    # -- the latest run's scored accounts (kept with their names, owners and reasons) -------

    async def owners(self, run_id: str) -> list[OwnerCounts]:
        """Every owner in the run, with their accounts by status, by name."""
        query = (
            select(
                sweep_scores.c.owner_id,
                sweep_scores.c.owner_name,
                sweep_scores.c.owner_email,
                sweep_scores.c.status,
                func.count().label("n"),
            )
            .where(sweep_scores.c.run_id == run_id)
            .group_by(
                sweep_scores.c.owner_id,
                sweep_scores.c.owner_name,
                sweep_scores.c.owner_email,
                sweep_scores.c.status,
            )
        )
        owners: dict[str, Owner] = {}
        counts: dict[str, Counter[str]] = {}
        for r in await self._all(query):
            owners.setdefault(r.owner_id, Owner(r.owner_id, r.owner_name, r.owner_email))
            counts.setdefault(r.owner_id, Counter())[r.status] += int(r.n)
        ordered = sorted(owners.values(), key=lambda o: (o.name.lower(), o.id))
        return [OwnerCounts(o, {s: counts[o.id].get(s, 0) for s in STATUSES}) for o in ordered]

    async def owner_accounts(self, run_id: str, owner_id: str) -> list[ScoredAccount]:
        query = select(sweep_scores).where(
            sweep_scores.c.run_id == run_id, sweep_scores.c.owner_id == owner_id
        )
        return [_scored(r) for r in await self._all(query)]

    async def scored_account(self, run_id: str, account_id: str) -> ScoredAccount | None:
        query = select(sweep_scores).where(
            sweep_scores.c.run_id == run_id, sweep_scores.c.account_id == account_id
        )
        rows = await self._all(query)
        return _scored(rows[0]) if rows else None

    async def status_changes(
        self, run_id: str, *, limit: int = 25
    ) -> tuple[list[ScoredAccount], int]:
        """Accounts of the run whose status differs from the previous run's, worst move
        first (at most `limit`), and how many there are."""
        query = select(sweep_scores).where(
            sweep_scores.c.run_id == run_id,
            sweep_scores.c.previous_status.is_not(None),
            sweep_scores.c.previous_status != sweep_scores.c.status,
        )
        moved = [_scored(r) for r in await self._all(query)]
        moved.sort(
            key=lambda a: (
                -(_RANK.get(a.status, 0) - _RANK.get(a.previous_status or "", 0)),
                a.score,
                a.name.lower(),
            )
        )
        return moved[:limit], len(moved)

    async def failures(self, run: RunEntry) -> dict[str, Outcome]:
        """Records of the run Zoho did not accept (read only when the run counted some)."""
        if not run.summary.get("not_written"):
            return {}
        query = select(sweep_batches.c.outcomes).where(sweep_batches.c.run_id == run.id)
        found: dict[str, Outcome] = {}
        for r in await self._all(query):
            for item in r.outcomes or ():
                outcome = Outcome.from_json(item)
                if not outcome.ok:
                    found[outcome.id] = outcome
        return found
