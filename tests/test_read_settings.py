"""`read_settings`: the one way a group of settings is loaded, and how its errors name the
variable to fix (an alias, a prefixed field, the group's prefix for a check of the whole)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sergas.errors import ConfigError
from sergas.settings import read_settings


class Aliased(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", validate_by_name=True)

    size: int = Field(1, ge=1, validation_alias=AliasChoices("SERGAS_T_SIZE", "SERGAS_T_OLD"))


class Prefixed(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SERGAS_T_", extra="ignore")

    low: int = 1
    high: int = 2

    @model_validator(mode="after")
    def _ordered(self) -> Prefixed:
        if self.low > self.high:
            raise ValueError("SERGAS_T_LOW must not exceed SERGAS_T_HIGH")
        return self


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env
    for name in ("SERGAS_T_SIZE", "SERGAS_T_OLD", "SERGAS_T_LOW", "SERGAS_T_HIGH"):
        monkeypatch.delenv(name, raising=False)


def test_an_alias_is_named_however_the_value_came(monkeypatch: pytest.MonkeyPatch) -> None:
    """By its first (canonical) name: pydantic-settings files an older name's value there."""
    with pytest.raises(ConfigError) as from_code:
        read_settings(Aliased, size=0)
    monkeypatch.setenv("SERGAS_T_OLD", "0")
    with pytest.raises(ConfigError) as from_env:
        read_settings(Aliased)
    assert from_env.value.details["settings"] == from_code.value.details["settings"]
    assert from_code.value.details["settings"] == ["SERGAS_T_SIZE"]


def test_a_prefixed_field_and_a_check_of_the_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERGAS_T_LOW", "secret-looking")
    with pytest.raises(ConfigError, match=r"^invalid setting SERGAS_T_LOW: ") as bad:
        read_settings(Prefixed)
    assert "secret-looking" not in str(bad.value)
    monkeypatch.setenv("SERGAS_T_LOW", "5")
    with pytest.raises(ConfigError, match="must not exceed SERGAS_T_HIGH") as group:
        read_settings(Prefixed)
    assert group.value.details["settings"] == ["SERGAS_T_*"]
    assert read_settings(Prefixed, high=9).high == 9
