"""Settings of the MCP server (`SERGAS_MCP_*`).

The Zoho connection, the database and logging come from `sergas.settings`; these are only
what the MCP server adds.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from sergas.settings import read_settings

__all__ = ["AgentSettings", "load_agent_settings"]


class AgentSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SERGAS_MCP_", env_file=".env", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(8765, ge=0, le=65535)
    # The stdio server's identity; without it, stdio runs as a read-only local client.
    api_key: SecretStr | None = None
    api_key_cache_seconds: float = Field(5.0, ge=0)
    max_results: int = Field(200, ge=1, le=2000)


def load_agent_settings(**overrides: object) -> AgentSettings:
    return read_settings(AgentSettings, **overrides)
