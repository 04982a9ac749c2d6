"""`sergas.__all__` is the deliberate public API: sorted, and every name resolves."""

from __future__ import annotations

import subprocess
import sys

import sergas


def test_all_is_sorted_and_resolves() -> None:
    assert sergas.__all__ == sorted(sergas.__all__)
    assert set(sergas.__all__) == {*sergas._WHERE, "__version__"}
    for name in sergas.__all__:
        assert getattr(sergas, name) is not None, name


def test_import_is_lazy() -> None:
    """`import sergas` loads none of the heavy parts (the manager, the SDK)."""
    code = "import sys, sergas; print('sergas.manager' in sys.modules, 'zohocrmsdk' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
