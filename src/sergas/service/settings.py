"""Settings of the HTTP service (`SERGAS_SERVICE_*`).

The Zoho connection, the database and logging come from `sergas.settings`; these are only
what the service adds. The MCP server's own are in `sergas.agents.settings`.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from sergas.settings import read_settings

__all__ = ["ServiceSettings", "load_service_settings"]


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
    # Larger request bodies are answered 413 before they are read (8 MiB: 10,000 bulk
    # records of a few fields fit).
    max_body_bytes: int = Field(8 * 1024 * 1024, ge=1)
    # /readyz runs the tiers' health checks (real Zoho calls) at most this often.
    readiness_cache_seconds: float = Field(30.0, ge=0)


def load_service_settings(**overrides: object) -> ServiceSettings:
    return read_settings(ServiceSettings, **overrides)
