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
    """The README's configuration table, from .env.example.

    A section heading (`# --- Title ---`) becomes a bold row whose meaning is the comment
    under it, up to a blank line. Then each run of comment lines and the variable lines after
    it is one row: the variables with their defaults, and that comment as their meaning (one
    variable, or a few that one sentence describes). A blank line ends a block.
    """
    rows = ["| Variables (default) | Meaning |", "|---|---|"]
    names: list[str] = []
    note: list[str] = []
    section: str | None = None

    def meaning() -> str:
        return " ".join(note).replace("|", "/").replace("<", "&lt;")

    def flush() -> None:
        nonlocal section
        if section is not None:
            rows.append(f"| **{section}** | {meaning()} |")
            section = None
        elif names:
            rows.append(f"| {'<br>'.join(names)} | {meaning()} |")
        names.clear()
        note.clear()

    for line in [*example.splitlines(), ""]:
        if heading := _SECTION.match(line):
            flush()
            section = heading.group(1)
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


def table_rows(table: str) -> list[tuple[str, str]]:
    return [
        (cells[0].strip(), cells[1].strip())
        for line in table.splitlines()[2:]
        if (cells := line.strip("|").split(" | ", 1))
    ]


def test_the_configuration_table_matches_env_example() -> None:
    readme = (ROOT / "README.md").read_text()
    assert START in readme and END in readme
    current = readme.split(START, 1)[1].split(END, 1)[0].strip()
    wanted = env_table((ROOT / ".env.example").read_text())
    assert current == wanted, "run `python tests/test_readme.py` and paste it into README.md"


def test_every_row_says_what_its_variables_mean() -> None:
    """No empty meaning, and each variable in one row only."""
    rows = table_rows(env_table((ROOT / ".env.example").read_text()))
    assert rows
    empty = [variables for variables, meaning in rows if not meaning]
    assert not empty, f"write a comment above these in .env.example: {empty}"
    names = re.findall(r"`([A-Z][A-Z0-9_]+)[=`]", " ".join(v for v, _ in rows))
    assert len(names) == len(set(names)), "a variable is listed twice in .env.example"


def test_every_documented_page_exists() -> None:
    readme = (ROOT / "README.md").read_text()
    for link in re.findall(r"\]\(((?:docs/)?[\w./-]+\.md)\)", readme):
        assert (ROOT / link).is_file(), link


if __name__ == "__main__":
    print(env_table((ROOT / ".env.example").read_text()))
