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


def header_faults_supported(sandbox: RunningSandbox) -> bool:
    """Whether targeted faults can match a request header (to take only the SDK tier down:
    it calls the same /crm/v8 paths as REST, but sends X-ZOHO-SDK)."""
    probe = {"path": "/__nothing", "header": "X-ZOHO-SDK", "status": 503, "count": 0}
    echoed = sandbox.set_faults(targeted=[probe])["targeted"]
    sandbox.set_faults(targeted=[])
    return bool(echoed) and "header" in echoed[0]
