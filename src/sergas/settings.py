"""Process settings, read from the environment and a `.env` file.

Every field is named after its environment variable (`SERGAS_*` for Sergas itself, `ZOHO_*` for
the Zoho connection). `get_settings()` caches one instance per process; `reset_settings()`
drops it (tests call it through an autouse fixture). An invalid value raises `ConfigError`
naming the variable, never echoing the value (it may be a secret).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import platformdirs
from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from sergas.errors import ConfigError
from sergas.files import private_dir

__all__ = [
    "REGIONS",
    "Region",
    "Settings",
    "ZohoEndpoints",
    "get_settings",
    "load_settings",
    "read_settings",
    "reset_settings",
]

Region = Literal["us", "eu", "in", "au", "jp", "cn", "ca", "sa"]


class ZohoEndpoints:
    """Zoho's hosts for one data centre (see docs: zoho-api.md §0)."""

    def __init__(self, accounts: str, api: str, upload: str) -> None:
        self.accounts = accounts
        self.api = api
        self.upload = upload


REGIONS: dict[str, ZohoEndpoints] = {
    "us": ZohoEndpoints(
        "https://accounts.zoho.com", "https://www.zohoapis.com", "https://content.zohoapis.com"
    ),
    "eu": ZohoEndpoints(
        "https://accounts.zoho.eu", "https://www.zohoapis.eu", "https://content.zohoapis.eu"
    ),
    "in": ZohoEndpoints(
        "https://accounts.zoho.in", "https://www.zohoapis.in", "https://content.zohoapis.in"
    ),
    "au": ZohoEndpoints(
        "https://accounts.zoho.com.au",
        "https://www.zohoapis.com.au",
        "https://content.zohoapis.com.au",
    ),
    "jp": ZohoEndpoints(
        "https://accounts.zoho.jp", "https://www.zohoapis.jp", "https://content.zohoapis.jp"
    ),
    "cn": ZohoEndpoints(
        "https://accounts.zoho.com.cn",
        "https://www.zohoapis.com.cn",
        "https://content.zohoapis.com.cn",
    ),
    "ca": ZohoEndpoints(
        "https://accounts.zohocloud.ca", "https://www.zohoapis.ca", "https://upload.zohocloud.ca"
    ),
    "sa": ZohoEndpoints(
        "https://accounts.zoho.sa", "https://www.zohoapis.sa", "https://files.zoho.sa"
    ),
}


class Settings(BaseSettings):
    """Sergas's settings. Secrets are `SecretStr`: they print as `**********`."""

    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", validate_by_name=True, validate_by_alias=True
    )

    # Storage
    data_dir: Path | None = Field(None, validation_alias="SERGAS_DATA_DIR")
    database_url: str | None = Field(None, validation_alias="SERGAS_DATABASE_URL")
    token_key: SecretStr | None = Field(None, validation_alias="SERGAS_TOKEN_KEY")
    db_pool_size: int = Field(20, ge=1, validation_alias="SERGAS_DB_POOL_SIZE")
    db_max_overflow: int = Field(10, ge=0, validation_alias="SERGAS_DB_MAX_OVERFLOW")
    db_pool_pre_ping: bool = Field(True, validation_alias="SERGAS_DB_POOL_PRE_PING")
    db_pool_recycle: int = Field(1800, ge=-1, validation_alias="SERGAS_DB_POOL_RECYCLE")

    # Zoho
    # One OAuth client serves every tier (one token, one refresh). The older separate SDK set
    # (ZOHO_SDK_*) is accepted as an alias; sergas.manager.config rejects the two disagreeing.
    zoho_client_id: str | None = Field(
        None, validation_alias=AliasChoices("ZOHO_CLIENT_ID", "ZOHO_SDK_CLIENT_ID")
    )
    zoho_client_secret: SecretStr | None = Field(
        None, validation_alias=AliasChoices("ZOHO_CLIENT_SECRET", "ZOHO_SDK_CLIENT_SECRET")
    )
    zoho_refresh_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("ZOHO_REFRESH_TOKEN", "ZOHO_SDK_REFRESH_TOKEN")
    )
    zoho_region: Region = Field("us", validation_alias="ZOHO_REGION")
    zoho_accounts_url: str | None = Field(None, validation_alias="ZOHO_ACCOUNTS_URL")
    zoho_api_domain: str | None = Field(None, validation_alias="ZOHO_API_DOMAIN")
    zoho_file_upload_url: str | None = Field(None, validation_alias="ZOHO_FILE_UPLOAD_URL")
    zoho_mcp_url: str | None = Field(None, validation_alias="ZOHO_MCP_URL")
    # The MCP endpoint's tool names where they differ from the canonical ones, as JSON:
    # {"get_record": "ZohoCRM_getRecord", ...} (see sergas.tiers.mcp.TOOLS)
    zoho_mcp_tools: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict, validation_alias="ZOHO_MCP_TOOLS"
    )
    zoho_user: str = Field("default", min_length=1, validation_alias="ZOHO_USER")

    # Tiers: HTTP, retries (sergas.tiers.retry) and the bulk strategy thresholds
    zoho_concurrency: int = Field(10, ge=1, validation_alias="ZOHO_CONCURRENCY")
    http_timeout: float = Field(30.0, gt=0, validation_alias="SERGAS_HTTP_TIMEOUT")
    retry_attempts: int = Field(4, ge=1, validation_alias="SERGAS_RETRY_ATTEMPTS")
    retry_wait_initial: float = Field(0.5, ge=0, validation_alias="SERGAS_RETRY_WAIT_INITIAL")
    retry_wait_max: float = Field(10.0, ge=0, validation_alias="SERGAS_RETRY_WAIT_MAX")
    retry_timeout: float = Field(120.0, gt=0, validation_alias="SERGAS_RETRY_TIMEOUT")
    bulk_read_threshold: int = Field(50_000, ge=0, validation_alias="SERGAS_BULK_READ_THRESHOLD")
    bulk_write_threshold: int = Field(10_000, ge=0, validation_alias="SERGAS_BULK_WRITE_THRESHOLD")
    bulk_poll_initial: float = Field(1.0, gt=0, validation_alias="SERGAS_BULK_POLL_INITIAL")
    bulk_poll_max: float = Field(30.0, gt=0, validation_alias="SERGAS_BULK_POLL_MAX")
    bulk_timeout: float = Field(3600.0, gt=0, validation_alias="SERGAS_BULK_TIMEOUT")
    sdk_threads: int = Field(8, ge=1, le=64, validation_alias="SERGAS_SDK_THREADS")

    # The org's limits held across processes and hosts (sergas.org)
    redis_url: str | None = Field(None, validation_alias="SERGAS_REDIS_URL")
    credit_budget: int = Field(50_000, ge=1, validation_alias="SERGAS_CREDIT_BUDGET")
    credit_reserve: int = Field(0, ge=0, validation_alias="SERGAS_CREDIT_RESERVE")
    slot_timeout: float = Field(120.0, gt=0, validation_alias="SERGAS_SLOT_TIMEOUT")
    slot_lease: float = Field(10.0, gt=0, le=300, validation_alias="SERGAS_SLOT_LEASE")

    # The embedded sandbox, used when no Zoho credentials are set (sergas.runtime): accounts
    # seeded into a new one. Named for the sweep, which introduced it; `sergas accounts`
    # shares the same CRM.
    embedded_accounts: int = Field(
        10_000, ge=1, validation_alias="SERGAS_SWEEP_EMBEDDED_ACCOUNTS"
    )

    # Behaviour
    token_refresh_timeout: float = Field(
        10.0, gt=0, validation_alias="SERGAS_TOKEN_REFRESH_TIMEOUT"
    )
    log_format: Literal["json", "console"] = Field("console", validation_alias="SERGAS_LOG_FORMAT")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        "INFO", validation_alias="SERGAS_LOG_LEVEL"
    )

    @field_validator("zoho_region", "log_format", mode="before")
    @classmethod
    def _lower(cls, v: Any) -> Any:
        return v.strip().lower() if isinstance(v, str) else v

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, v: Any) -> Any:
        return v.strip().upper() if isinstance(v, str) else v

    @field_validator("zoho_accounts_url", "zoho_api_domain", "zoho_file_upload_url", "zoho_mcp_url")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        v = v.strip().rstrip("/")
        if not v.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return v

    @field_validator("zoho_mcp_tools", mode="before")
    @classmethod
    def _json_map(cls, v: Any) -> Any:
        # Parsed here rather than by the env source, so bad JSON is a ConfigError naming it.
        if isinstance(v, str):
            return json.loads(v) if v.strip() else {}
        return v

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        if not v.strip().startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return v.strip()

    @field_validator("database_url")
    @classmethod
    def _db_url(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        if not v.startswith(("sqlite", "postgresql", "postgres")):
            raise ValueError("must be a sqlite:// or postgresql:// URL")
        return v.strip()

    # Derived values

    @property
    def data_path(self) -> Path:
        """Where the embedded database, the key file, the embedded sandbox's CRM and the
        briefs live; created on first use, readable by its owner only (0700). A folder that
        already exists keeps its mode."""
        path = self.data_dir or Path(platformdirs.user_data_dir("sergas"))
        try:
            return private_dir(path.expanduser())
        except OSError as exc:
            raise ConfigError(
                f"SERGAS_DATA_DIR: cannot create the data directory {path}: "
                f"{exc.strerror or type(exc).__name__}",
                details={"settings": ["SERGAS_DATA_DIR"]},
            ) from None

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_path / 'sergas.db'}"

    @property
    def is_embedded_database(self) -> bool:
        return self.database_url is None

    @property
    def accounts_url(self) -> str:
        return self.zoho_accounts_url or REGIONS[self.zoho_region].accounts

    @property
    def token_url(self) -> str:
        return self.accounts_url + "/oauth/v2/token"

    @property
    def api_domain(self) -> str:
        return self.zoho_api_domain or REGIONS[self.zoho_region].api

    @property
    def file_upload_url(self) -> str:
        return self.zoho_file_upload_url or REGIONS[self.zoho_region].upload

    def require_client(self) -> tuple[str, SecretStr]:
        """The OAuth client credentials, or a ConfigError naming what is missing."""
        missing = [
            name
            for name, value in (
                ("ZOHO_CLIENT_ID", self.zoho_client_id),
                ("ZOHO_CLIENT_SECRET", self.zoho_client_secret),
            )
            if value is None or not _reveal(value)
        ]
        if missing:
            raise ConfigError(
                f"{' and '.join(missing)} not set: the Zoho OAuth client credentials are "
                "required (environment or .env)",
                details={"settings": missing},
            )
        assert self.zoho_client_id is not None
        assert self.zoho_client_secret is not None
        return self.zoho_client_id, self.zoho_client_secret


def _reveal(value: str | SecretStr) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


_settings: Settings | None = None


def get_settings() -> Settings:
    """The process's settings, read once. Invalid values raise ConfigError."""
    global _settings
    if _settings is None:
        _settings = load_settings()
    return _settings


def load_settings(**overrides: Any) -> Settings:
    """Read settings now (no cache); keyword overrides win over the environment."""
    return read_settings(Settings, **overrides)


def reset_settings() -> None:
    """Forget the cached settings; the next get_settings() reads the environment again."""
    global _settings
    _settings = None


S = TypeVar("S", bound=BaseSettings)


def read_settings(cls: type[S], **overrides: Any) -> S:
    """`cls` read from the environment and `.env`, keyword overrides winning: the one way
    every group of Sergas settings is loaded. A bad value raises ConfigError naming its
    variable (`details["settings"]`), never echoing the value: it may be a secret."""
    try:
        return cls(**overrides)
    except ValidationError as exc:
        raise _config_error(exc, cls) from None


def _config_error(exc: ValidationError, cls: type[BaseSettings]) -> ConfigError:
    names, problems = [], []
    for err in exc.errors(include_input=False, include_url=False):
        name = _variable(cls, err["loc"])
        names.append(name)
        problems.append(f"{name}: {err['msg']}")
    return ConfigError("invalid setting " + "; ".join(problems), details={"settings": names})


def _variable(cls: type[BaseSettings], loc: tuple[int | str, ...]) -> str:
    """The environment variable behind an error's location: a field's alias, or the class's
    prefix and the field name (a check of the whole group names the prefix)."""
    prefix = str(cls.model_config.get("env_prefix") or "")
    if not loc:
        return f"{prefix}*" if prefix else "settings"
    key = str(loc[0])
    field = cls.model_fields.get(key)
    alias = field.validation_alias if field is not None else None
    if isinstance(alias, AliasChoices):
        alias = alias.choices[0]
    if isinstance(alias, str):
        return alias
    return key if key.isupper() else prefix + key.upper()
