"""Settings of the HTTP service (`SERGAS_SERVICE_*`) and the MCP server (`SERGAS_MCP_*`).

The Zoho connection, the database and logging come from `sergas.settings`; these are only
what the two servers add.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from sergas.errors import ConfigError

__all__ = ["AgentSettings", "ServiceSettings", "load_agent_settings", "load_service_settings"]


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SERGAS_SERVICE_", env_file=".env", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    # How long a checked API key is trusted before the database is asked again (revocation
    # takes effect within this time).
    api_key_cache_seconds: float = Field(5.0, ge=0)
    # In-flight requests get this long to finish after SIGTERM/SIGINT.
    graceful_timeout: float = Field(30.0, ge=0)
    max_bulk_records: int = Field(10_000, ge=1)
    # /readyz runs the tiers' health checks (real Zoho calls) at most this often.
    readiness_cache_seconds: float = Field(30.0, ge=0)


class AgentSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SERGAS_MCP_", env_file=".env", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(8765, ge=0, le=65535)
    # The stdio server's identity; without it, stdio runs as a read-only local client.
    api_key: SecretStr | None = None
    api_key_cache_seconds: float = Field(5.0, ge=0)
    max_results: int = Field(200, ge=1, le=2000)


def load_service_settings(**overrides: object) -> ServiceSettings:
    try:
        return ServiceSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise _config_error(exc, "SERGAS_SERVICE_") from None


def load_agent_settings(**overrides: object) -> AgentSettings:
    try:
        return AgentSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise _config_error(exc, "SERGAS_MCP_") from None


def _config_error(exc: ValidationError, prefix: str) -> ConfigError:
    names = [
        prefix + str(e["loc"][0]).upper() if e["loc"] else "settings"
        for e in exc.errors(include_input=False, include_url=False)
    ]
    problems = [
        f"{n}: {e['msg']}"
        for n, e in zip(names, exc.errors(include_input=False, include_url=False), strict=True)
    ]
    return ConfigError("invalid setting " + "; ".join(problems), details={"settings": names})
