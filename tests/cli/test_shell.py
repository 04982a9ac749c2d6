"""What a person meets at a shell: `sergas --version`, shell completion, and `apikeys list`
in a narrow terminal. Each command runs as its own process."""

from __future__ import annotations

import json
import os
import re
from importlib.metadata import version
from pathlib import Path

import pytest
from tests.cli.conftest import sub as sergas


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SERGAS_", "ZOHO_"))}
    return base | {"SERGAS_DATA_DIR": str(tmp_path / "data")}


def test_version_comes_from_the_package(env: dict[str, str]) -> None:
    done = sergas(env, "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"sergas {version('sergas')}\n"


def test_bash_completion_names_sergas_and_completes(env: dict[str, str]) -> None:
    shown = sergas(env, "--show-completion", "bash")
    assert shown.returncode == 0, shown.stderr
    assert "complete -o default -F _sergas_completion sergas" in shown.stdout
    assert "_SERGAS_COMPLETE=complete_bash" in shown.stdout
    # What the script asks the command when Tab is pressed after `sergas accounts im`:
    asked = env | {
        "COMP_WORDS": "sergas accounts im",
        "COMP_CWORD": "2",
        "_SERGAS_COMPLETE": "complete_bash",
    }
    done = sergas(asked)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["import"]


def test_apikeys_list_shows_whole_ids_that_revoke_takes_at_any_width(
    env: dict[str, str],
) -> None:
    names = ["a rather long name for an agent's key, to wrap", "second"]
    for name in names:
        assert sergas(env, "apikeys", "create", "--name", name).returncode == 0
    narrow = env | {"COLUMNS": "40"}
    listed = sergas(narrow, "apikeys", "list")
    assert listed.returncode == 0, listed.stderr
    assert max(len(line) for line in listed.stdout.splitlines()) <= 40
    shown = re.findall(r"\bsgk_[0-9a-f]{12}\b", listed.stdout)
    assert len(shown) == 2, listed.stdout

    revoked = sergas(narrow, "apikeys", "revoke", shown[0])
    assert revoked.returncode == 0, revoked.stderr
    after = json.loads(sergas(env, "apikeys", "list", "--all", "--json").stdout)
    revoked_at = {f"sgk_{k['key_id']}": k["revoked_at"] for k in after}
    assert revoked_at[shown[0]] is not None and revoked_at[shown[1]] is None
