"""Shared by the manager tests: no leaked environment, fresh process-wide metrics, a clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.db.conftest import isolated_settings

from sergas.manager.prometheus import reset_prometheus_metrics

__all__ = ["isolated_settings"]


@pytest.fixture(autouse=True)
def fresh_prometheus() -> Iterator[None]:
    """The process-wide Prometheus registry starts empty in every test."""
    reset_prometheus_metrics()
    yield
    reset_prometheus_metrics()


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
