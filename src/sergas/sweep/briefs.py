"""Per-owner briefs: accounts at risk and why (with whom to call and the latest note),
changes since the previous sweep, top movers, and any account whose new score could not be
written to Zoho.

`build_briefs` is pure (data in, dicts out); `write_briefs` renders each brief as Markdown
and JSON into a folder, plus an index of all owners.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sergas.files import atomic_write, private_dir
from sergas.sweep.model import AccountDetails, Outcome, ScoredAccount
from sergas.sweep.scoring import STATUSES, Owner

__all__ = ["Brief", "BriefsWritten", "RunInfo", "build_briefs", "render_markdown", "write_briefs"]

# Worse first: a status change to At Risk leads the list.
_RANK = {"Healthy": 0, "Watch": 1, "At Risk": 2}


@dataclass(frozen=True)
class RunInfo:
    run_id: str | None
    checked_at: datetime
    dry_run: bool
    previous_sweep: bool  # False: no earlier finished sweep, nothing to compare with


@dataclass(frozen=True)
class Brief:
    owner: Owner
    data: dict[str, Any]


@dataclass(frozen=True)
class BriefsWritten:
    path: Path
    owners: int
    files: tuple[Path, ...]


def _row(account: ScoredAccount) -> dict[str, Any]:
    return {
        "id": account.id,
        "name": account.name,
        "score": account.score,
        "status": account.status,
        "previous_score": account.previous_score,
        "previous_status": account.previous_status,
        "delta": account.delta,
        "reasons": list(account.reasons),
    }


def _at_risk_row(
    account: ScoredAccount, details: Mapping[str, AccountDetails] | None
) -> dict[str, Any]:
    """`contacts` and `latest_note` are None (not [] and None) when they could not be read."""
    if details is None:
        return {**_row(account), "contacts": None, "latest_note": None, "details_read": False}
    found = details.get(account.id, AccountDetails())
    note = found.latest_note
    return {
        **_row(account),
        "contacts": [c.to_json() for c in found.contacts],
        "latest_note": note.to_json() if note else None,
        "details_read": True,
    }


def _brief(
    owner: Owner,
    accounts: Sequence[ScoredAccount],
    failures: Mapping[str, Outcome],
    run: RunInfo,
    top_movers: int,
    details: Mapping[str, AccountDetails] | None,
) -> Brief:
    counts = Counter(a.status for a in accounts)
    at_risk = sorted(
        (a for a in accounts if a.status == "At Risk"), key=lambda a: (a.score, a.name)
    )
    status_changes = sorted(
        (a for a in accounts if a.previous_status and a.previous_status != a.status),
        key=lambda a: (
            -(_RANK.get(a.status, 0) - _RANK.get(a.previous_status or "", 0)),
            a.score,
            a.name,
        ),
    )
    movers = sorted(
        (a for a in accounts if a.delta),
        key=lambda a: (-abs(a.delta or 0), a.score, a.name),
    )[:top_movers]
    new = [a for a in accounts if a.previous_score is None] if run.previous_sweep else []
    not_written = [
        {**_row(a), "error_code": failures[a.id].code, "error": failures[a.id].message}
        for a in accounts
        if a.id in failures
    ]
    data = {
        "owner": {"id": owner.id, "name": owner.name, "email": owner.email},
        "run": {
            "id": run.run_id,
            "checked_at": run.checked_at.isoformat(),
            "dry_run": run.dry_run,
            "previous_sweep": run.previous_sweep,
        },
        "accounts": len(accounts),
        "counts": {status: counts.get(status, 0) for status in STATUSES},
        "at_risk": [_at_risk_row(a, details) for a in at_risk],
        "status_changes": [_row(a) for a in status_changes],
        "improved": sum(1 for a in accounts if (a.delta or 0) > 0),
        "worsened": sum(1 for a in accounts if (a.delta or 0) < 0),
        "new_accounts": len(new),
        "top_movers": [_row(a) for a in movers],
        "not_written": not_written,
    }
    return Brief(owner, data)


def build_briefs(
    accounts: Sequence[ScoredAccount],
    failures: Mapping[str, Outcome],
    run: RunInfo,
    *,
    top_movers: int = 5,
    details: Mapping[str, AccountDetails] | None = None,
) -> list[Brief]:
    """One brief per owner, owners by name. `details`: the at-risk accounts' key contacts
    and latest note, by account id (None: they could not be read, and the brief says so)."""
    by_owner: dict[str, list[ScoredAccount]] = defaultdict(list)
    owners: dict[str, Owner] = {}
    for account in accounts:
        by_owner[account.owner.id].append(account)
        owners.setdefault(account.owner.id, account.owner)
    ordered = sorted(owners.values(), key=lambda o: (o.name.lower(), o.id))
    return [_brief(o, by_owner[o.id], failures, run, top_movers, details) for o in ordered]


def _delta(value: int | None) -> str:
    if value is None:
        return "new"
    return f"{value:+d}" if value else "0"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(brief: Brief) -> str:
    d = brief.data
    owner, run, counts = d["owner"], d["run"], d["counts"]
    when = datetime.fromisoformat(run["checked_at"]).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"# Account health brief: {owner['name']}",
        "",
        f"Sweep of {when}{' (dry run: nothing written to Zoho)' if run['dry_run'] else ''}. "
        f"{d['accounts']} accounts: {counts['Healthy']} Healthy, {counts['Watch']} Watch, "
        f"{counts['At Risk']} At Risk.",
        "",
        f"## At risk ({len(d['at_risk'])})",
        "",
    ]
    if d["at_risk"]:
        lines += ["| Account | Score | Change | Why |", "|---|---:|---:|---|"]
        lines += [
            f"| {_cell(a['name'])} | {a['score']} | {_delta(a['delta'])} | "
            f"{_cell('; '.join(a['reasons']))} |"
            for a in d["at_risk"]
        ]
        for a in d["at_risk"]:
            lines += ["", *_account_details(a)]
    else:
        lines.append("No account is at risk.")
    lines += ["", "## Changes since the previous sweep", ""]
    if not run["previous_sweep"]:
        lines.append("No previous sweep: this one is the baseline for the next.")
    else:
        lines.append(
            f"{d['improved']} improved, {d['worsened']} worsened, "
            f"{d['new_accounts']} scored for the first time."
        )
        if d["status_changes"]:
            lines += ["", "| Account | Status | Score | Why |", "|---|---|---|---|"]
            lines += [
                f"| {_cell(a['name'])} | {a['previous_status']} → {a['status']} | "
                f"{a['previous_score']} → {a['score']} | {_cell('; '.join(a['reasons']))} |"
                for a in d["status_changes"]
            ]
        else:
            lines += ["", "No status changed."]
    lines += ["", "## Top movers", ""]
    if d["top_movers"]:
        lines += ["| Account | Before | After | Change | Status |", "|---|---:|---:|---:|---|"]
        lines += [
            f"| {_cell(a['name'])} | {a['previous_score']} | {a['score']} | "
            f"{_delta(a['delta'])} | {a['status']} |"
            for a in d["top_movers"]
        ]
    else:
        lines.append("No score moved." if run["previous_sweep"] else "Nothing to compare yet.")
    if d["not_written"]:
        lines += [
            "",
            f"## Not written to Zoho ({len(d['not_written'])})",
            "",
            "These scores were computed but Zoho did not accept the update; the next sweep "
            "tries again.",
            "",
            "| Account | Score | Status | Error |",
            "|---|---:|---|---|",
        ]
        lines += [
            f"| {_cell(a['name'])} | {a['score']} | {a['status']} | "
            f"{_cell(a['error_code'])}: {_cell(a['error'])} |"
            for a in d["not_written"]
        ]
    return "\n".join(lines) + "\n"


def _account_details(account: dict[str, Any]) -> list[str]:
    """An at-risk account's key contacts and latest note (the note quoted verbatim)."""
    lines = [f"### {account['name']}", ""]
    if not account.get("details_read", True):
        return [*lines, "Contacts and notes could not be read from Zoho for this brief."]
    contacts = account.get("contacts") or []
    if contacts:
        lines += ["| Contact | Title | Email | Phone |", "|---|---|---|---|"]
        lines += [
            f"| {_cell(c['name'])} | {_cell(c['title'] or '')} | {_cell(c['email'] or '')} | "
            f"{_cell(c['phone'] or '')} |"
            for c in contacts
        ]
    else:
        lines.append("No contacts on record.")
    note = account.get("latest_note")
    lines.append("")
    if note is None:
        lines.append("No notes on record.")
        return lines
    when = datetime.fromisoformat(note["created"]).date().isoformat() if note["created"] else "?"
    title = f" “{note['title']}”" if note["title"] else ""
    lines.append(f"Latest note{title}, {when}, by {note['author'] or 'unknown'}:")
    lines.append("")
    lines += [f"> {line}" if line else ">" for line in note["content"].splitlines() or [""]]
    return lines


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "owner"


def _write(path: Path, text: str) -> None:
    with atomic_write(path) as out:
        out.write(text)


def write_briefs(briefs: Sequence[Brief], folder: Path) -> BriefsWritten:
    """Write `<owner>.md` and `<owner>.json` per brief, and `index.md` / `index.json` last.

    Each file is written whole or not at all (an earlier sweep's file at the same path stays
    as it was), and only its owner may read it (0600, in folders made 0700)."""
    private_dir(folder)
    files: list[Path] = []
    index: list[dict[str, Any]] = []
    used: set[str] = set()
    for brief in briefs:
        stem = _slug(brief.owner.name)
        if stem in used:
            stem = f"{stem}-{_slug(brief.owner.id)}"
        used.add(stem)
        md, js = folder / f"{stem}.md", folder / f"{stem}.json"
        _write(md, render_markdown(brief))
        _write(js, json.dumps(brief.data, indent=2, ensure_ascii=False) + "\n")
        files += [md, js]
        index.append(
            {
                "owner": brief.data["owner"],
                "accounts": brief.data["accounts"],
                "counts": brief.data["counts"],
                "not_written": len(brief.data["not_written"]),
                "markdown": md.name,
                "json": js.name,
            }
        )
    lines = ["# Account health briefs", "", "| Owner | Accounts | Healthy | Watch | At Risk |"]
    lines.append("|---|---:|---:|---:|---:|")
    lines += [
        f"| [{_cell(i['owner']['name'])}]({i['markdown']}) | {i['accounts']} | "
        f"{i['counts']['Healthy']} | {i['counts']['Watch']} | {i['counts']['At Risk']} |"
        for i in index
    ]
    _write(folder / "index.md", "\n".join(lines) + "\n")
    _write(folder / "index.json", json.dumps(index, indent=2, ensure_ascii=False) + "\n")
    files += [folder / "index.md", folder / "index.json"]
    return BriefsWritten(folder, len(briefs), tuple(files))
