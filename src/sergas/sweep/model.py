"""Plain values passed between the sweep's phases, the store, and the briefs."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sergas.sweep.scoring import AccountSignals, Owner, Score

__all__ = ["Outcome", "ScoredAccount", "scored"]


@dataclass(frozen=True)
class ScoredAccount:
    """One account's result in a run. `previous_*` come from the last finished sweep;
    `changed` says whether the CRM's Health_Score or Account_Status differ from the new ones."""

    id: str
    name: str
    owner: Owner
    score: int
    status: str
    reasons: tuple[str, ...]
    previous_score: int | None = None
    previous_status: str | None = None
    changed: bool = False

    @property
    def delta(self) -> int | None:
        return None if self.previous_score is None else self.score - self.previous_score

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["reasons"] = list(self.reasons)
        data["delta"] = self.delta
        return data


def scored(
    account: AccountSignals, result: Score, previous: tuple[int, str] | None
) -> ScoredAccount:
    changed = (account.health_score, account.account_status) != (result.score, result.status)
    return ScoredAccount(
        id=account.id,
        name=account.name,
        owner=account.owner,
        score=result.score,
        status=result.status,
        reasons=tuple(result.reason_texts),
        previous_score=previous[0] if previous else None,
        previous_status=previous[1] if previous else None,
        changed=changed,
    )


@dataclass(frozen=True)
class Outcome:
    """What happened to one record of a batch. `reconciled`: found already written when a
    batch left in "writing" was checked on resume (so it was not sent again)."""

    id: str
    ok: bool
    code: str
    message: str = ""
    reconciled: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Outcome:
        return cls(
            id=str(data["id"]),
            ok=bool(data["ok"]),
            code=str(data["code"]),
            message=str(data.get("message") or ""),
            reconciled=bool(data.get("reconciled", False)),
        )
