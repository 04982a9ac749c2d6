"""Plain values passed between the sweep's phases, the store, and the briefs."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sergas.sweep.scoring import AccountSignals, Owner, Score

__all__ = ["AccountDetails", "Contact", "Note", "Outcome", "ScoredAccount", "scored"]


@dataclass(frozen=True, slots=True)
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
    account: AccountSignals,
    result: Score,
    previous: tuple[int, str] | None,
    texts: dict[str, str] | None = None,
) -> ScoredAccount:
    """`texts`: one copy of each reason's text, shared by every account that has it."""
    changed = (account.health_score, account.account_status) != (result.score, result.status)
    reasons = result.reason_texts
    if texts is not None:
        reasons = [texts.setdefault(t, t) for t in reasons]
    return ScoredAccount(
        id=account.id,
        name=account.name,
        owner=account.owner,
        score=result.score,
        status=result.status,
        reasons=tuple(reasons),
        previous_score=previous[0] if previous else None,
        previous_status=previous[1] if previous else None,
        changed=changed,
    )


@dataclass(frozen=True, slots=True)
class Contact:
    name: str
    title: str | None
    email: str | None
    phone: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Note:
    """A note as a brief shows it: its content verbatim, cut with an ellipsis past a limit."""

    title: str | None
    content: str
    created: datetime | None
    author: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "content": self.content,
            "created": self.created.isoformat() if self.created else None,
            "author": self.author,
        }


@dataclass(frozen=True, slots=True)
class AccountDetails:
    """What a brief shows of an at-risk account beside its score: whom to call, and the
    last thing written about it."""

    contacts: tuple[Contact, ...] = ()
    latest_note: Note | None = None


@dataclass(frozen=True, slots=True)
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
