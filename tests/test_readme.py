"""The README's configuration table is generated from .env.example; this keeps them in sync.

Regenerate it with `python tests/test_readme.py` and paste it between the README's markers.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[1]
START, END = "<!-- env-table:start -->", "<!-- env-table:end -->"
_SECTION = re.compile(r"^# --- (.+?) -+$")
_VARIABLE = re.compile(r"^# ?([A-Z][A-Z0-9_]+)=(.*)$")


def env_table(example: str) -> str:
    """One row per block of .env.example: its variables with their defaults, and the comment
    written above them (a section heading becomes a bold row)."""
    rows = ["| Variables (default) | Meaning |", "|---|---|"]
    names: list[str] = []
    note: list[str] = []

    def flush() -> None:
        if names:
            meaning = " ".join(note).replace("|", "/").replace("<", "&lt;")
            rows.append(f"| {'<br>'.join(names)} | {meaning} |")
        names.clear()
        note.clear()

    for line in [*example.splitlines(), ""]:
        if section := _SECTION.match(line):
            flush()
            rows.append(f"| **{section.group(1)}** | |")
        elif variable := _VARIABLE.match(line):
            name, default = variable.groups()
            names.append(f"`{name}={default}`" if default else f"`{name}`")
        elif line.startswith("# "):
            if names:
                flush()
            note.append(line[2:].strip())
        else:  # a blank line ends a block
            flush()
    return "\n".join(rows)


def test_the_configuration_table_matches_env_example() -> None:
    readme = (ROOT / "README.md").read_text()
    assert START in readme and END in readme
    current = readme.split(START, 1)[1].split(END, 1)[0].strip()
    wanted = env_table((ROOT / ".env.example").read_text())
    assert current == wanted, "run `python tests/test_readme.py` and paste it into README.md"


def test_every_documented_page_exists() -> None:
    readme = (ROOT / "README.md").read_text()
    for link in re.findall(r"\]\(((?:docs/)?[\w./-]+\.md)\)", readme):
        assert (ROOT / link).is_file(), link


if __name__ == "__main__":
    print(env_table((ROOT / ".env.example").read_text()))
