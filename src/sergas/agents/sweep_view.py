"""What agents read of the health sweep: its latest finished run for this CRM.

The sweep keeps every scored account of its latest run (`sweep_scores`) and a summary per
run (`sweep_runs.summary`); a run still writing, or abandoned, is not "the latest sweep".
`scope` names the CRM as the sweep does (`<api domain>#<user>`), so a sweep of another
CRM sharing the database is never shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from sergas.db.engine import database_errors
from sergas.db.tables import sweep_runs, sweep_scores

__all__ = ["LatestRun", "SweepView"]

_RUN_DONE = "done"


@dataclass(frozen=True)
class LatestRun:
    id: str
    checked_at: str
    finished_at: str | None
    accounts_scored: int
    summary: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "checked_at": self.checked_at,
            "finished_at": self.finished_at,
            "accounts_scored": self.accounts_scored,
        }


def _score(row: Any) -> dict[str, Any]:
    delta = None if row.previous_score is None else row.score - row.previous_score
    return {
        "id": row.account_id,
        "name": row.account_name,
        "owner": {"id": row.owner_id, "name": row.owner_name, "email": row.owner_email},
        "score": row.score,
        "status": row.status,
        "reasons": list(row.reasons),
        "previous_score": row.previous_score,
        "previous_status": row.previous_status,
        "delta": delta,
    }


class SweepView:
    def __init__(self, engine: AsyncEngine, scope: str) -> None:
        self.engine = engine
        self.scope = scope

    async def latest_run(self) -> LatestRun | None:
        query = (
            select(sweep_runs)
            .where(sweep_runs.c.scope == self.scope, sweep_runs.c.state == _RUN_DONE)
            .order_by(sweep_runs.c.finished_at.desc(), sweep_runs.c.started_at.desc())
            .limit(1)
        )
        with database_errors(self.engine.url):
            async with self.engine.connect() as conn:
                row = (await conn.execute(query)).first()
        if row is None:
            return None
        return LatestRun(
            id=row.id,
            checked_at=row.checked_at.isoformat(),
            finished_at=row.finished_at.isoformat() if row.finished_at else None,
            accounts_scored=row.accounts_scored,
            summary=row.summary,
        )

    async def at_risk(
        self, run: LatestRun, *, owner: str | None = None, limit: int = 50
    ) -> tuple[list[dict[str, Any]], int]:
        """At Risk accounts of `run`, lowest score first, and how many there are in all.
        `owner` matches an owner's email (any case), id or name."""
        where = [sweep_scores.c.run_id == run.id, sweep_scores.c.status == "At Risk"]
        if owner:
            where.append(
                or_(
                    func.lower(sweep_scores.c.owner_email) == owner.lower(),
                    sweep_scores.c.owner_id == owner,
                    func.lower(sweep_scores.c.owner_name) == owner.lower(),
                )
            )
        query = (
            select(sweep_scores)
            .where(*where)
            .order_by(sweep_scores.c.score, sweep_scores.c.account_name)
            .limit(limit)
        )
        count = select(func.count()).select_from(sweep_scores).where(*where)
        with database_errors(self.engine.url):
            async with self.engine.connect() as conn:
                rows = (await conn.execute(query)).all()
                total = (await conn.execute(count)).scalar_one()
        return [_score(r) for r in rows], int(total)

    async def account(self, run: LatestRun, record_id: str) -> dict[str, Any] | None:
        query = select(sweep_scores).where(
            sweep_scores.c.run_id == run.id, sweep_scores.c.account_id == record_id
        )
        with database_errors(self.engine.url):
            async with self.engine.connect() as conn:
                row = (await conn.execute(query)).first()
        return None if row is None else _score(row)
