"""The servers' settings: documented in .env.example, and bad values named."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from sergas.agents.settings import AgentSettings, load_agent_settings
from sergas.errors import ConfigError
from sergas.service.settings import ServiceSettings, load_service_settings

EXAMPLE = Path(__file__).parents[2] / ".env.example"


def variables(cls: type[BaseSettings]) -> set[str]:
    prefix = str(cls.model_config.get("env_prefix", ""))
    return {prefix.upper() + name.upper() for name in cls.model_fields}


def test_every_variable_is_documented() -> None:
    documented = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", EXAMPLE.read_text(), re.MULTILINE))
    missing = (variables(ServiceSettings) | variables(AgentSettings)) - documented
    assert not missing, f"add to .env.example: {sorted(missing)}"


def test_bad_values_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERGAS_SERVICE_PORT", "eighty")
    with pytest.raises(ConfigError, match="SERGAS_SERVICE_PORT") as caught:
        load_service_settings()
    assert "eighty" not in str(caught.value)
    monkeypatch.setenv("SERGAS_MCP_MAX_RESULTS", "0")
    with pytest.raises(ConfigError, match="SERGAS_MCP_MAX_RESULTS"):
        load_agent_settings()


def test_the_stdio_key_is_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    key = "sgk_0123456789ab_" + "s" * 43
    monkeypatch.setenv("SERGAS_MCP_API_KEY", key)
    settings = load_agent_settings()
    assert settings.api_key is not None and settings.api_key.get_secret_value() == key
    assert key not in repr(settings) and key not in str(settings.model_dump())
