"""Settings of the dashboard (`SERGAS_WEB_*`), served by `sergas serve` at `/`."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from sergas.settings import read_settings

__all__ = ["WebSettings", "load_web_settings"]


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SERGAS_WEB_", env_file=".env", extra="ignore")

    # A browser's sign-in lasts this long, then the API key is asked for again.
    session_hours: float = Field(12.0, gt=0, le=24 * 30)
    # An account page's contacts, deals and tasks are read from Zoho at most this often per
    # account (each read costs Zoho credits); 0 reads them on every view.
    related_cache_seconds: float = Field(60.0, ge=0)
    # How long an account page waits for Zoho before showing what the sweep stored.
    related_timeout_seconds: float = Field(5.0, gt=0)
    # How long the list of recent runs and the count of pending proposals are reused before
    # the database is asked again: a new sweep shows up on the pages within this time.
    refresh_seconds: float = Field(2.0, ge=0)
    # Where a record opens in Zoho's web client, e.g. https://crm.zoho.eu/crm/org123456
    # (with your org id). Unset: derived from the API domain, without the org id.
    zoho_web_url: str | None = None


def load_web_settings(**overrides: object) -> WebSettings:
    return read_settings(WebSettings, **overrides)
