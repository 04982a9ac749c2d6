"""Helpers for the manager tests (plain code; fixtures live in conftest.py)."""

from __future__ import annotations

from typing import Any

from sergas.sandbox.server import RunningSandbox


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def calls(sandbox: RunningSandbox, path: str) -> int:
    """How many calls reached the sandbox at paths starting with `path`, any method."""
    stats: dict[str, Any] = sandbox.stats()
    return sum(n for endpoint, n in stats["calls"].items() if endpoint.split()[1].startswith(path))


def take_down(sandbox: RunningSandbox, *paths: str, status: int | str = 503) -> None:
    """Every call whose path starts with one of `paths` fails with `status` until reset."""
    sandbox.set_faults(targeted=[{"path": p, "status": status, "count": 100_000} for p in paths])
