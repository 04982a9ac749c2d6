"""How the integration manager is configured: tiers, breaker, failover, and per-call routing hints.

`IntegrationConfig.from_env()` reads the environment and `.env` (pydantic-settings):

| variable | default | meaning |
|---|---|---|
| ENABLE_TIER1_MCP / ENABLE_TIER2_SDK / ENABLE_TIER3_REST | true | the tier may be routed to |
| TIER1_MCP_TIMEOUT / TIER2_SDK_TIMEOUT / TIER3_REST_TIMEOUT | 30 / 60 / 30 | seconds for one call |
| TIER1_MCP_MAX_RETRIES / … | 0 | extra attempts on the tier before failing over |
| TIER1_MCP_PRIORITY / … | 1 / 2 / 3 | failover order (lower first) |
| ENABLE_FAILOVER | true | try the next tier on a tier-health error |
| ENABLE_METRICS | true | keep per-tier metrics and Prometheus series |
| CIRCUIT_BREAKER_THRESHOLD | 5 | consecutive tier-health failures that open a breaker |
| CIRCUIT_BREAKER_TIMEOUT | 60 | seconds a breaker stays open before trial calls |
| CIRCUIT_BREAKER_SUCCESS_THRESHOLD | 2 | trial successes that close it again |

Timeouts bound single calls; bulk operations run Zoho jobs with their own deadlines and are
not cut short. A bad value raises `ConfigError` naming the variable (never echoing the value).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sergas.errors import ConfigError
from sergas.settings import read_settings
from sergas.tiers.base import TierName

__all__ = ["IntegrationConfig", "RoutingContext", "TierConfig", "parse_tier_name"]

TIER_ENV: dict[TierName, str] = {"mcp": "TIER1_MCP", "sdk": "TIER2_SDK", "rest": "TIER3_REST"}
_TIER_NUMBERS: dict[str, TierName] = {"1": "mcp", "2": "sdk", "3": "rest"}


def parse_tier_name(value: Any) -> Any:
    """Accept "mcp", "tier1", "tier1_mcp", "1" (any case) for tier 1, and so on."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return value
    text = value.strip().lower().removeprefix("tier").lstrip("_- ")
    for number, name in _TIER_NUMBERS.items():
        if text in (number, name, f"{number}_{name}"):
            return name
    return text


class TierConfig(BaseModel):
    """One tier's switch, deadline, extra attempts and place in the failover order."""

    model_config = ConfigDict(frozen=True)

    name: TierName
    enabled: bool = True
    timeout: float = Field(default=30.0, gt=0)
    max_retries: int = Field(default=0, ge=0, le=10)
    priority: int = Field(..., ge=0)


class RoutingContext(BaseModel):
    """Hints about one call that routing reads (see `sergas.manager.routing.route`)."""

    model_config = ConfigDict(frozen=True)

    operation_type: str | None = None
    record_count: int = Field(default=1, ge=0)
    agent_context: dict[str, Any] | None = None
    tools: tuple[str, ...] = ()
    requires_realtime: bool = False
    preferred_tier: TierName | None = None

    @field_validator("preferred_tier", mode="before")
    @classmethod
    def _tier(cls, v: Any) -> Any:
        return None if v in (None, "") else parse_tier_name(v)


class _IntegrationEnv(BaseSettings):
    """The flat environment form; `IntegrationConfig.from_env` turns it into the nested one."""

    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", validate_by_name=True, validate_by_alias=True
    )

    tier1_enabled: bool = Field(default=True, validation_alias="ENABLE_TIER1_MCP")
    tier2_enabled: bool = Field(default=True, validation_alias="ENABLE_TIER2_SDK")
    tier3_enabled: bool = Field(default=True, validation_alias="ENABLE_TIER3_REST")
    tier1_timeout: float = Field(default=30.0, gt=0, validation_alias="TIER1_MCP_TIMEOUT")
    tier2_timeout: float = Field(default=60.0, gt=0, validation_alias="TIER2_SDK_TIMEOUT")
    tier3_timeout: float = Field(default=30.0, gt=0, validation_alias="TIER3_REST_TIMEOUT")
    tier1_max_retries: int = Field(default=0, ge=0, le=10, validation_alias="TIER1_MCP_MAX_RETRIES")
    tier2_max_retries: int = Field(default=0, ge=0, le=10, validation_alias="TIER2_SDK_MAX_RETRIES")
    tier3_max_retries: int = Field(
        default=0, ge=0, le=10, validation_alias="TIER3_REST_MAX_RETRIES"
    )
    tier1_priority: int = Field(default=1, ge=0, validation_alias="TIER1_MCP_PRIORITY")
    tier2_priority: int = Field(default=2, ge=0, validation_alias="TIER2_SDK_PRIORITY")
    tier3_priority: int = Field(default=3, ge=0, validation_alias="TIER3_REST_PRIORITY")
    enable_failover: bool = Field(default=True, validation_alias="ENABLE_FAILOVER")
    enable_metrics: bool = Field(default=True, validation_alias="ENABLE_METRICS")
    threshold: int = Field(default=5, ge=1, validation_alias="CIRCUIT_BREAKER_THRESHOLD")
    timeout: float = Field(default=60.0, gt=0, validation_alias="CIRCUIT_BREAKER_TIMEOUT")
    success_threshold: int = Field(
        default=2, ge=1, validation_alias="CIRCUIT_BREAKER_SUCCESS_THRESHOLD"
    )

    # Read only to catch two credential sets that disagree (settings.py accepts both names).
    client_id: str | None = Field(default=None, validation_alias="ZOHO_CLIENT_ID")
    client_secret: SecretStr | None = Field(default=None, validation_alias="ZOHO_CLIENT_SECRET")
    refresh_token: SecretStr | None = Field(default=None, validation_alias="ZOHO_REFRESH_TOKEN")
    sdk_client_id: str | None = Field(default=None, validation_alias="ZOHO_SDK_CLIENT_ID")
    sdk_client_secret: SecretStr | None = Field(
        default=None, validation_alias="ZOHO_SDK_CLIENT_SECRET"
    )
    sdk_refresh_token: SecretStr | None = Field(
        default=None, validation_alias="ZOHO_SDK_REFRESH_TOKEN"
    )

    def check_one_credential_set(self) -> None:
        for name in ("client_id", "client_secret", "refresh_token"):
            main, alias = _reveal(getattr(self, name)), _reveal(getattr(self, "sdk_" + name))
            if main and alias and main != alias:
                var = "ZOHO_" + name.upper()
                raise ConfigError(
                    f"ZOHO_SDK_{name.upper()} and {var} differ: one OAuth client serves every "
                    f"tier (one token, one refresh); set only {var}",
                    details={"settings": [var, f"ZOHO_SDK_{name.upper()}"]},
                )


class IntegrationConfig(BaseModel):
    """The manager's configuration. Build it directly in code, or with `from_env()`."""

    model_config = ConfigDict(frozen=True)

    tier1_mcp: TierConfig = TierConfig(name="mcp", priority=1)
    tier2_sdk: TierConfig = TierConfig(name="sdk", timeout=60.0, priority=2)
    tier3_rest: TierConfig = TierConfig(name="rest", priority=3)
    circuit_breaker_threshold: int = Field(default=5, ge=1)
    circuit_breaker_timeout: float = Field(default=60.0, gt=0)
    success_threshold: int = Field(default=2, ge=1)
    enable_metrics: bool = True
    enable_failover: bool = True

    @property
    def tiers(self) -> dict[TierName, TierConfig]:
        return {t.name: t for t in (self.tier1_mcp, self.tier2_sdk, self.tier3_rest)}

    @property
    def enabled_tiers(self) -> list[TierName]:
        return [name for name, tier in self.tiers.items() if tier.enabled]

    @classmethod
    def from_env(cls, **overrides: Any) -> IntegrationConfig:
        """Read the environment and `.env`; keyword overrides use the variable names."""
        env = read_settings(_IntegrationEnv, **overrides)
        env.check_one_credential_set()
        tiers = {
            name: TierConfig(
                name=name,
                enabled=getattr(env, f"tier{i}_enabled"),
                timeout=getattr(env, f"tier{i}_timeout"),
                max_retries=getattr(env, f"tier{i}_max_retries"),
                priority=getattr(env, f"tier{i}_priority"),
            )
            for i, name in enumerate(TIER_ENV, start=1)
        }
        if not any(t.enabled for t in tiers.values()):
            raise ConfigError(
                "ENABLE_TIER1_MCP, ENABLE_TIER2_SDK and ENABLE_TIER3_REST are all false: "
                "enable at least one tier",
                details={"settings": [f"ENABLE_{v}" for v in TIER_ENV.values()]},
            )
        return cls(
            tier1_mcp=tiers["mcp"],
            tier2_sdk=tiers["sdk"],
            tier3_rest=tiers["rest"],
            circuit_breaker_threshold=env.threshold,
            circuit_breaker_timeout=env.timeout,
            success_threshold=env.success_threshold,
            enable_metrics=env.enable_metrics,
            enable_failover=env.enable_failover,
        )


def _reveal(value: str | SecretStr | None) -> str:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    return value or ""
