"""IntegrationConfig from the environment and .env; bad values name their variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from sergas.errors import ConfigError
from sergas.manager.config import IntegrationConfig, TierConfig
from sergas.settings import load_settings


def test_defaults() -> None:
    config = IntegrationConfig.from_env()
    assert config == IntegrationConfig()
    assert config.enabled_tiers == ["mcp", "sdk", "rest"]
    assert config.circuit_breaker_threshold == 5
    assert config.circuit_breaker_timeout == 60
    assert config.success_threshold == 2
    assert config.enable_failover and config.enable_metrics
    assert config.tier2_sdk == TierConfig(name="sdk", timeout=60, priority=2)


def test_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "ENABLE_TIER1_MCP": "false",
        "ENABLE_FAILOVER": "0",
        "CIRCUIT_BREAKER_THRESHOLD": "3",
        "CIRCUIT_BREAKER_TIMEOUT": "12.5",
        "CIRCUIT_BREAKER_SUCCESS_THRESHOLD": "4",
        "TIER3_REST_TIMEOUT": "5",
        "TIER3_REST_MAX_RETRIES": "2",
        "TIER3_REST_PRIORITY": "0",
    }.items():
        monkeypatch.setenv(name, value)
    config = IntegrationConfig.from_env()
    assert config.enabled_tiers == ["sdk", "rest"]
    assert not config.enable_failover
    assert (config.circuit_breaker_threshold, config.circuit_breaker_timeout) == (3, 12.5)
    assert config.success_threshold == 4
    assert config.tier3_rest == TierConfig(name="rest", timeout=5, max_retries=2, priority=0)


def test_dot_env_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("ENABLE_TIER2_SDK=false\nCIRCUIT_BREAKER_THRESHOLD=9\n")
    config = IntegrationConfig.from_env()  # the autouse fixture runs us in tmp_path
    assert config.enabled_tiers == ["mcp", "rest"]
    assert config.circuit_breaker_threshold == 9


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CIRCUIT_BREAKER_THRESHOLD", "0"),
        ("CIRCUIT_BREAKER_TIMEOUT", "soon"),
        ("ENABLE_TIER2_SDK", "perhaps"),
        ("TIER1_MCP_TIMEOUT", "-1"),
        ("TIER3_REST_MAX_RETRIES", "99"),
    ],
)
def test_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=variable) as caught:
        IntegrationConfig.from_env()
    assert caught.value.details["settings"] == [variable]
    assert value not in str(caught.value)


def test_overrides_use_variable_names() -> None:
    config = IntegrationConfig.from_env(ENABLE_TIER3_REST=False, CIRCUIT_BREAKER_THRESHOLD=7)
    assert config.enabled_tiers == ["mcp", "sdk"]
    assert config.circuit_breaker_threshold == 7


def test_all_tiers_disabled_fails_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    for n in ("TIER1_MCP", "TIER2_SDK", "TIER3_REST"):
        monkeypatch.setenv(f"ENABLE_{n}", "false")
    with pytest.raises(ConfigError, match="ENABLE_TIER1_MCP, ENABLE_TIER2_SDK"):
        IntegrationConfig.from_env()


def test_sdk_credentials_are_aliases_of_the_one_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZOHO_SDK_CLIENT_ID", "1000.SDKCLIENT")
    monkeypatch.setenv("ZOHO_SDK_CLIENT_SECRET", "sdk-secret")
    monkeypatch.setenv("ZOHO_SDK_REFRESH_TOKEN", "1000.sdk.refresh")
    settings = load_settings()
    client_id, secret = settings.require_client()
    assert client_id == "1000.SDKCLIENT"
    assert secret.get_secret_value() == "sdk-secret"
    assert settings.zoho_refresh_token is not None
    assert settings.zoho_refresh_token.get_secret_value() == "1000.sdk.refresh"
    IntegrationConfig.from_env()  # one set, under either name: fine


def test_the_same_value_under_both_names_is_fine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZOHO_CLIENT_ID", "1000.SAME")
    monkeypatch.setenv("ZOHO_SDK_CLIENT_ID", "1000.SAME")
    IntegrationConfig.from_env()


def test_two_different_credential_sets_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZOHO_REFRESH_TOKEN", "1000.rest.refresh")
    monkeypatch.setenv("ZOHO_SDK_REFRESH_TOKEN", "1000.sdk.refresh")
    with pytest.raises(
        ConfigError, match="ZOHO_SDK_REFRESH_TOKEN and ZOHO_REFRESH_TOKEN"
    ) as caught:
        IntegrationConfig.from_env()
    assert "1000.rest.refresh" not in str(caught.value)
    assert "1000.sdk.refresh" not in str(caught.value)
