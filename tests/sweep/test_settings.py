"""SERGAS_SWEEP_* settings: defaults, comma-separated lists, and one-line errors."""

from __future__ import annotations

import pytest

from sergas.errors import ConfigError
from sergas.sweep.settings import DEFAULT_OPEN_STAGES, load_sweep_settings


def test_defaults_add_up_to_100() -> None:
    settings = load_sweep_settings()
    assert settings.total_weight == 100
    assert settings.open_deal_stages == DEFAULT_OPEN_STAGES
    assert (settings.batch_size, settings.write_concurrency) == (500, 2)


def test_environment_lists_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERGAS_SWEEP_INACTIVE_RATINGS", " Shut Down , Acquired,")
    monkeypatch.setenv("SERGAS_SWEEP_WEIGHT_REVENUE", "0")
    monkeypatch.setenv("SERGAS_SWEEP_HEALTHY_MIN", "80")
    settings = load_sweep_settings()
    assert settings.inactive_ratings == ("Shut Down", "Acquired")
    assert (settings.total_weight, settings.healthy_min) == (90, 80)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SERGAS_SWEEP_BATCH_SIZE", "5000", "SERGAS_SWEEP_BATCH_SIZE"),
        ("SERGAS_SWEEP_WEIGHT_TASKS", "-1", "SERGAS_SWEEP_WEIGHT_TASKS"),
        ("SERGAS_SWEEP_WATCH_MIN", "90", "must not exceed SERGAS_SWEEP_HEALTHY_MIN"),
        ("SERGAS_SWEEP_ACTIVITY_FRESH_DAYS", "100", "must be below"),
        ("SERGAS_SWEEP_OPEN_DEAL_STAGES", " , ", "at least one stage"),
    ],
)
def test_bad_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        load_sweep_settings()
