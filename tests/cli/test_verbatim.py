"""Text from outside (an agent's reason and values, Zoho's records and messages, key names)
is shown verbatim by every table and message of the CLI: never read as Rich markup, emoji
codes or terminal control sequences. Each command runs as its own process, as a user runs
it, against a served sandbox and a fresh SQLite database."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.cli.conftest import sub as sergas

from sergas.access.approvals import ApprovalStore
from sergas.access.principal import Principal
from sergas.db import create_engine
from sergas.sandbox.config import SandboxConfig
from sergas.sandbox.server import RunningSandbox, serve_sandbox

pytestmark = pytest.mark.slow

BROKEN = "renewal [/] cleanup"  # Rich markup that does not parse: crashed the listing
FAKED = "[conceal]call the CFO[/conceal] [green]APPROVED BY SECURITY[/green]"
EMOJI = "owner says :white_check_mark:"
ESCAPE = "\x1b[32mSIGNED OFF\x1b[0m"  # a terminal colour sequence, shown as escapes
AGENT = Principal("0123456789ab", "[bold red]security team[/]", "read")


@pytest.fixture(scope="module")
def crm() -> Iterator[RunningSandbox]:
    with serve_sandbox(SandboxConfig(accounts=12)) as running:
        yield running


@pytest.fixture
def env(crm: RunningSandbox, tmp_path: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SERGAS_", "ZOHO_"))}
    return {
        **base,
        **crm.env,
        "SERGAS_DATA_DIR": str(tmp_path / "data"),
        "ENABLE_TIER1_MCP": "false",
        "ENABLE_TIER2_SDK": "false",
        "COLUMNS": "400",  # wide enough that no table folds a cell
    }


def ok(env: dict[str, str], *args: str) -> str:
    done = sergas(env, *args)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


async def propose(data_dir: Path, record: dict[str, Any]) -> list[int]:
    engine = create_engine(f"sqlite+aiosqlite:///{data_dir / 'sergas.db'}")
    try:
        store = ApprovalStore(engine)
        made = []
        for reason, changes in (
            (BROKEN, {"Description": "[/] " + EMOJI}),
            (FAKED, {"Description": ESCAPE}),
        ):
            current = {k: record.get(k) for k in changes}
            made.append(
                (await store.propose(AGENT, record["id"], changes, reason, current=current)).id
            )
        return made
    finally:
        await engine.dispose()


def test_proposals_are_shown_verbatim(
    env: dict[str, str], crm: RunningSandbox, tmp_path: Path
) -> None:
    ok(env, "db", "upgrade")
    record = crm.sandbox.store.ordered("Accounts")[0]
    broken, faked = asyncio.run(propose(tmp_path / "data", record))
    # Zoho's value now, shown beside the proposed one, is outside text too.
    crm.sandbox.store.put("Accounts", {**record, "Description": "[blink]from Zoho[/blink]"})

    listed = ok(env, "approvals", "list")
    assert 'Description="[blink]from Zoho[/blink]" (changed since proposed)' in listed
    # Values are shown as JSON, so the escape reads \u001b there.
    for text in (BROKEN, FAKED, "[bold red]security team[/]", EMOJI, "\\u001b[32mSIGNED OFF"):
        assert text in listed, listed
    assert "\x1b" not in listed
    for approval_id, reason in ((broken, BROKEN), (faked, FAKED)):
        shown = ok(env, "approvals", "show", str(approval_id))
        assert reason in shown and "[bold red]security team[/]" in shown, shown
    assert "\\u001b[32mSIGNED OFF\\u001b[0m" in ok(env, "approvals", "show", str(faked))


def test_keys_records_and_errors_are_shown_verbatim(
    env: dict[str, str], crm: RunningSandbox
) -> None:
    name = "[green]trusted[/green] :lock:"
    ok(env, "apikeys", "create", "--name", name)
    assert name in ok(env, "apikeys", "list")

    record = dict(crm.sandbox.store.ordered("Accounts")[1])
    crm.sandbox.store.put("Accounts", {**record, "Account_Name": FAKED})
    got = ok(env, "accounts", "get", record["id"], "--tier", "rest")
    assert FAKED in got, got

    # An error message that repeats what the user typed: one plain line.
    missing = sergas(env, "apikeys", "revoke", "[red]x[/red]")
    assert missing.returncode == 1
    assert "error: no API key sgk_[red]x[/red]" in missing.stderr, missing.stderr
    escaped = sergas(env, "apikeys", "revoke", "\x1b[31mx")
    assert "error: no API key sgk_\\x1b[31mx" in escaped.stderr, escaped.stderr
    assert "\x1b" not in escaped.stderr


def test_no_markup_in_the_cli_source() -> None:
    """The consoles interpret no markup, so a style written as markup would print as text:
    styles go in `style=` or `styled()`."""
    import re

    import sergas.cli

    markup = re.compile(r"\[/?(bold|dim|italic|red|green|yellow|cyan|magenta|blue)\b[^\]]*\]|\[/\]")
    found = [
        f"{path.name}:{number}: {line.strip()}"
        for path in Path(sergas.cli.__file__).parent.glob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if markup.search(line) and not line.lstrip().startswith("#")
    ]
    assert not [f for f in found if "_common.py" not in f], found
