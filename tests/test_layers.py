"""Imports point down the layers (docs/architecture.md): a module of `src/sergas` imports only
from its own part or from parts on lower layers, and the sandbox stands apart.

Read from the source with `ast`, every import counted (also those inside functions and under
TYPE_CHECKING: a type-only import upward still ties a lower layer to a higher one).
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "sergas"

# Bottom first. A part may import parts of its own layer or below; see docs/architecture.md.
LAYERS: list[set[str]] = [
    {"errors", "files", "query", "zoho_limits"},
    {"settings"},
    {"log", "crypto"},
    {"db"},
    {"auth", "org"},
    {"tiers"},
    {"manager"},
    {"access", "runtime"},
    {"sweep"},
    {"jobs"},
    {"agents", "web"},
    {"service"},
    {"cli"},
    {"__main__"},
]
APART = "sandbox"  # the emulated Zoho: imports nothing of Sergas, used only by these
SANDBOX_USERS = {"runtime", "cli"}
FACADE = "__init__"  # sergas/__init__.py: the public API, loaded lazily; may name anything
SIBLINGS_APART = {("agents", "service"), ("agents", "web")}  # neither imports the other


def part(module: str) -> str:
    """`sergas.tiers.core.calls` → "tiers"; `sergas` → the facade."""
    names = module.split(".")
    return names[1] if len(names) > 1 else FACADE


def layer(name: str) -> int:
    for index, names in enumerate(LAYERS):
        if name in names:
            return index
    raise AssertionError(f"src/sergas/{name} is on no layer: add it to LAYERS in {__file__}")


@functools.cache
def imports() -> list[tuple[str, str, str]]:
    """(file, importing part, imported part) for every import of another part."""
    found: list[tuple[str, str, str]] = []
    for path in sorted(SRC.rglob("*.py")):
        module = ".".join(path.relative_to(SRC.parent).with_suffix("").parts)
        module = module.removesuffix(".__init__")
        here = part(module)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                if node.module == "sergas":  # from sergas import errors, __version__
                    targets = [f"sergas.{alias.name}" for alias in node.names]
                else:
                    targets = [node.module]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            for target in targets:
                if target.split(".")[0] != "sergas":
                    continue
                there = part(target)
                if there not in (here, "__version__"):
                    found.append((str(path.relative_to(SRC.parent)), here, there))
    return found


def test_imports_point_down_the_layers() -> None:
    upward = [
        f"{file}: {here} imports {there}"
        for file, here, there in imports()
        if here not in (FACADE, APART)
        and there not in (FACADE, APART)
        and layer(there) > layer(here)
    ]
    assert upward == []


def test_front_doors_do_not_import_each_other() -> None:
    crossing = [
        f"{file}: {here} imports {there}"
        for file, here, there in imports()
        if (here, there) in SIBLINGS_APART or (there, here) in SIBLINGS_APART
    ]
    assert crossing == []


def test_the_sandbox_stands_apart() -> None:
    tied = [
        f"{file}: {here} imports {there}"
        for file, here, there in imports()
        if (here == APART and there != APART)
        or (there == APART and here not in SANDBOX_USERS | {FACADE})
    ]
    assert tied == []


def test_the_checks_see_the_imports() -> None:
    """The walk finds what is known to be there, so an empty list above means something."""
    found = {(here, there) for _, here, there in imports()}
    assert ("tiers", "auth") in found
    assert ("runtime", "sandbox") in found
    assert ("cli", "runtime") in found
