"""Per-owner briefs from scored accounts: what is in them and how they are written."""

from __future__ import annotations

import errno
import json
import multiprocessing
import resource
import signal
import stat
from datetime import UTC, datetime
from pathlib import Path

from sergas.sweep.briefs import RunInfo, build_briefs, render_markdown, write_briefs
from sergas.sweep.model import AccountDetails, Contact, Note, Outcome, ScoredAccount
from sergas.sweep.reading import truncate
from sergas.sweep.scoring import Owner

ADA = Owner("u1", "Ada Lovelace", "ada@example.com")
BOB = Owner("u2", "Bob | Builder")
RUN = RunInfo("r1", datetime(2026, 3, 2, 6, 0, tzinfo=UTC), dry_run=False, previous_sweep=True)


def acct(
    id: str, owner: Owner, score: int, status: str, prev: tuple[int, str] | None = None
) -> ScoredAccount:
    return ScoredAccount(
        id=id,
        name=f"Account {id}",
        owner=owner,
        score=score,
        status=status,
        reasons=(f"reason for {id}",),
        previous_score=prev[0] if prev else None,
        previous_status=prev[1] if prev else None,
        changed=True,
    )


ACCOUNTS = [
    acct("a", ADA, 20, "At Risk", (45, "Watch")),  # worsened into At Risk: -25
    acct("b", ADA, 35, "At Risk", (30, "At Risk")),  # +5
    acct("c", ADA, 80, "Healthy", (50, "Watch")),  # improved: +30
    acct("d", ADA, 60, "Watch", (60, "Watch")),  # unchanged
    acct("e", ADA, 70, "Healthy"),  # new this time
    acct("f", BOB, 90, "Healthy", (91, "Healthy")),
]


def test_one_brief_per_owner_with_risk_changes_and_movers() -> None:
    failures = {"b": Outcome("b", False, "INVALID_DATA", "the id given seems to be invalid")}
    ada, bob = build_briefs(ACCOUNTS, failures, RUN, top_movers=2)

    assert (ada.owner, bob.owner) == (ADA, BOB)
    d = ada.data
    assert d["accounts"] == 5
    assert d["counts"] == {"Healthy": 2, "Watch": 1, "At Risk": 2}
    assert [a["id"] for a in d["at_risk"]] == ["a", "b"]  # lowest score first
    assert d["at_risk"][0]["reasons"] == ["reason for a"]
    # Worse statuses first, then improvements.
    assert [(a["id"], a["previous_status"], a["status"]) for a in d["status_changes"]] == [
        ("a", "Watch", "At Risk"),
        ("c", "Watch", "Healthy"),
    ]
    assert [(a["id"], a["delta"]) for a in d["top_movers"]] == [("c", 30), ("a", -25)]
    assert (d["improved"], d["worsened"], d["new_accounts"]) == (2, 1, 1)
    assert [(a["id"], a["error_code"]) for a in d["not_written"]] == [("b", "INVALID_DATA")]
    assert bob.data["not_written"] == [] and bob.data["at_risk"] == []


def test_markdown_reads_as_a_brief() -> None:
    failures = {"b": Outcome("b", False, "INVALID_DATA", "the id given seems to be invalid")}
    ada, bob = build_briefs(ACCOUNTS, failures, RUN)
    text = render_markdown(ada)
    assert text.startswith("# Account health brief: Ada Lovelace\n")
    assert "5 accounts: 2 Healthy, 1 Watch, 2 At Risk." in text
    assert "| Account a | 20 | -25 | reason for a |" in text
    assert "| Account a | Watch → At Risk | 45 → 20 | reason for a |" in text
    assert "2 improved, 1 worsened, 1 scored for the first time." in text
    assert "## Not written to Zoho (1)" in text
    assert "INVALID_DATA: the id given seems to be invalid" in text
    assert "No account is at risk." in render_markdown(bob)
    assert "Not written" not in render_markdown(bob)


def test_at_risk_accounts_show_their_contacts_and_latest_note_verbatim() -> None:
    note = Note("Call | back", "Line one | with a pipe\n\nLine three", RUN.checked_at, "Ada")
    details = {
        "a": AccountDetails((Contact("Zoe Ng", None, "zoe@example.com", None),), note),
    }
    (ada, _) = build_briefs(ACCOUNTS, {}, RUN, details=details)
    a, b = ada.data["at_risk"]
    assert a["contacts"] == [
        {"name": "Zoe Ng", "title": None, "email": "zoe@example.com", "phone": None}
    ]
    assert a["latest_note"] == {
        "title": "Call | back",
        "content": "Line one | with a pipe\n\nLine three",
        "created": RUN.checked_at.isoformat(),
        "author": "Ada",
    }
    assert (b["contacts"], b["latest_note"]) == ([], None)  # none known for "b"
    text = render_markdown(ada)
    assert "| Zoe Ng |  | zoe@example.com |  |" in text
    assert "Latest note “Call | back”, 2026-03-02, by Ada:" in text
    assert "> Line one | with a pipe\n>\n> Line three" in text  # quoted, not a table
    section_b = text.split("### Account b", 1)[1].split("##", 1)[0]
    assert "No contacts on record." in section_b and "No notes on record." in section_b


def test_a_long_note_is_cut_with_an_ellipsis() -> None:
    assert truncate("x" * 280) == "x" * 280
    assert truncate("x" * 281) == "x" * 280 + "…"
    assert truncate("word " * 100, limit=8) == "word wor…"


def test_first_sweep_and_dry_run_say_so() -> None:
    first = RunInfo(None, RUN.checked_at, dry_run=True, previous_sweep=False)
    fresh = [acct("x", ADA, 30, "At Risk")]
    (brief,) = build_briefs(fresh, {}, first)
    text = render_markdown(brief)
    assert "(dry run: nothing written to Zoho)" in text
    assert "No previous sweep: this one is the baseline for the next." in text
    assert brief.data["new_accounts"] == 0  # nothing is "new" without a previous sweep


def test_written_as_markdown_and_json_with_an_index(tmp_path: Path) -> None:
    twin = Owner("u3", "Ada Lovelace")  # same name, another user
    accounts = [*ACCOUNTS, acct("g", twin, 10, "At Risk")]
    written = write_briefs(build_briefs(accounts, {}, RUN), tmp_path / "out")

    names = sorted(p.name for p in written.files)
    assert names == sorted(
        [
            "ada-lovelace.md",
            "ada-lovelace.json",
            "ada-lovelace-u3.md",
            "ada-lovelace-u3.json",
            "bob-builder.md",
            "bob-builder.json",
            "index.md",
            "index.json",
        ]
    )
    assert written.owners == 3 and written.path == tmp_path / "out"
    data = json.loads((tmp_path / "out" / "ada-lovelace.json").read_text())
    assert data["owner"] == {"id": "u1", "name": "Ada Lovelace", "email": "ada@example.com"}
    index = (tmp_path / "out" / "index.md").read_text()
    assert "| [Bob \\| Builder](bob-builder.md) | 1 | 1 | 0 | 0 |" in index


def _write_under_a_size_limit(folder: str, limit: int, queue: multiprocessing.Queue[str]) -> None:
    """In a child process: write the briefs of a later run while the kernel refuses to let any
    file grow past `limit` bytes (RLIMIT_FSIZE), as a full disk or a quota would."""
    later = RunInfo("r2", datetime(2026, 3, 3, 6, 0, tzinfo=UTC), False, True)
    briefs = build_briefs(ACCOUNTS, {}, later)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # then write() fails with EFBIG instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    try:
        write_briefs(briefs, Path(folder))
    except Exception as exc:
        queue.put(f"{type(exc).__name__}: {getattr(exc, 'errno', None)}")
    else:
        queue.put("written")


def test_a_failed_write_leaves_the_previous_briefs_whole(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    write_briefs(build_briefs(ACCOUNTS, {}, RUN), folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    limit = min(len(content) for content in before.values()) // 2

    ctx = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[str] = ctx.Queue()
    child = ctx.Process(target=_write_under_a_size_limit, args=(str(folder), limit, queue))
    child.start()
    outcome = queue.get(timeout=60)
    child.join()
    assert outcome == f"OSError: {errno.EFBIG}"
    after = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert after == before  # no half-written brief, no temporary file left behind


def test_briefs_are_private(tmp_path: Path) -> None:
    folder = tmp_path / "briefs" / "run"
    written = write_briefs(build_briefs(ACCOUNTS, {}, RUN), folder)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(folder.parent.stat().st_mode) == 0o700  # created for them, too
    assert {stat.S_IMODE(p.stat().st_mode) for p in written.files} == {0o600}
