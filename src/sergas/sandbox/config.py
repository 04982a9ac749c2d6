"""Sandbox settings and its fixed, documented credentials."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

# Fixed credentials, documented in docs/sandbox.md. They open nothing but the sandbox.
CLIENT_ID = "1000.SERGASSANDBOXCLIENT"
CLIENT_SECRET = "sergas-sandbox-secret"
REFRESH_TOKEN = "1000.sergas-sandbox-refresh-token"


@dataclass(frozen=True)
class Edition:
    name: str
    concurrency: int
    base_credits: int
    credits_per_user: int
    max_credits: int | None


# Zoho's editions: concurrent calls per org, and the 24-hour credit budget.
EDITIONS: dict[str, Edition] = {
    e.name: e
    for e in (
        Edition("free", 5, 5_000, 0, 5_000),
        Edition("standard", 10, 50_000, 250, 100_000),
        Edition("professional", 15, 50_000, 500, 3_000_000),
        Edition("enterprise", 20, 50_000, 1_000, 5_000_000),
        Edition("ultimate", 25, 50_000, 2_000, None),
    )
}
SUB_CONCURRENCY = 10  # Zoho's cap on "heavy" APIs (COQL, search, writes of > 10 records)
PAGE_TOKEN_LIMIT = 100_000  # records a page-token chain reaches in Zoho


@dataclass(frozen=True)
class SandboxConfig:
    seed: int = 42
    accounts: int = 10_000
    edition: str = "enterprise"
    users: int = 20
    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    token_ttl: int = 3600
    refresh_limit: int = 10  # access tokens per refresh token per refresh_window
    refresh_window: int = 600
    bulk_job_seconds: float = 1.0
    credits: int | None = None  # override the edition's 24-hour budget
    concurrency: int | None = None  # override the edition's cap
    enforce_limits: bool = True
    state_file: Path | None = None
    base_url: str = "http://127.0.0.1:8085"
    # Where the page-token chain stops (PAGINATION_LIMIT_EXCEEDED); tests of what a client
    # does past it set a small value instead of seeding 100,000 records.
    page_token_limit: int = PAGE_TOKEN_LIMIT
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.edition not in EDITIONS:
            raise ValueError(
                f"unknown edition {self.edition!r}; choose one of {', '.join(EDITIONS)}"
            )
        if self.accounts < 0:
            raise ValueError("accounts must be zero or more")
        if self.page_token_limit < 1:
            raise ValueError("page_token_limit must be at least 1")

    @property
    def edition_limits(self) -> Edition:
        return EDITIONS[self.edition]

    @property
    def credit_budget(self) -> int:
        if self.credits is not None:
            return self.credits
        e = self.edition_limits
        total = e.base_credits + e.credits_per_user * self.users
        return total if e.max_credits is None else min(total, e.max_credits)

    @property
    def concurrency_cap(self) -> int:
        return self.concurrency or self.edition_limits.concurrency

    def with_(self, **changes: Any) -> SandboxConfig:
        return replace(self, **changes)

    def to_json(self) -> str:
        """One line of JSON that `from_json` reads back (how a sandbox process gets it)."""
        values = asdict(self)
        values["state_file"] = None if self.state_file is None else str(self.state_file)
        return json.dumps(values)

    @classmethod
    def from_json(cls, text: str) -> SandboxConfig:
        """The config `to_json` wrote; ValueError or TypeError if it is not one."""
        values = json.loads(text)
        if not isinstance(values, dict):
            raise ValueError("a sandbox config is a JSON object")
        if values.get("state_file") is not None:
            values["state_file"] = Path(values["state_file"])
        return cls(**values)

    @classmethod
    def from_env(cls, **overrides: Any) -> SandboxConfig:
        """Read SERGAS_SANDBOX_* variables; explicit overrides win."""
        env = os.environ
        values: dict[str, Any] = {}
        casts: dict[str, Any] = {
            "seed": int,
            "accounts": int,
            "edition": str,
            "latency_ms": float,
            "latency_jitter_ms": float,
            "token_ttl": int,
            "bulk_job_seconds": float,
            "page_token_limit": int,
        }
        for name, cast in casts.items():
            raw = env.get(f"SERGAS_SANDBOX_{name.upper()}")
            if raw is not None:
                try:
                    values[name] = cast(raw)
                except ValueError:
                    raise ValueError(
                        f"SERGAS_SANDBOX_{name.upper()}={raw!r} is not a valid {cast.__name__}"
                    ) from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def client_env(base_url: str) -> dict[str, str]:
    """The settings a client needs to talk to a sandbox at `base_url`."""
    base = base_url.rstrip("/")
    return {
        "ZOHO_API_DOMAIN": base,
        "ZOHO_ACCOUNTS_URL": base,
        "ZOHO_FILE_UPLOAD_URL": base,
        "ZOHO_CLIENT_ID": CLIENT_ID,
        "ZOHO_CLIENT_SECRET": CLIENT_SECRET,
        "ZOHO_REFRESH_TOKEN": REFRESH_TOKEN,
        "ZOHO_MCP_URL": f"{base}/mcp",
    }
