"""Settings: names, defaults, regions, and errors that name the variable but never echo it."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from sergas.errors import ConfigError
from sergas.settings import REGIONS, get_settings, reset_settings


def test_defaults(isolated_settings: Path) -> None:
    s = get_settings()
    assert s.effective_database_url == f"sqlite+aiosqlite:///{isolated_settings / 'sergas.db'}"
    assert s.is_embedded_database
    assert (s.db_pool_size, s.db_max_overflow, s.db_pool_pre_ping) == (20, 10, True)
    assert s.token_url == "https://accounts.zoho.com/oauth/v2/token"
    assert s.api_domain == "https://www.zohoapis.com"
    assert s.zoho_user == "default"
    assert (s.log_format, s.log_level) == ("console", "INFO")


def test_settings_are_cached_until_reset(monkeypatch: pytest.MonkeyPatch) -> None:
    first = get_settings()
    monkeypatch.setenv("ZOHO_USER", "someone")
    assert get_settings() is first
    reset_settings()
    assert get_settings().zoho_user == "someone"


@pytest.mark.parametrize(
    ("region", "accounts", "api", "upload"),
    [
        (
            "eu",
            "https://accounts.zoho.eu",
            "https://www.zohoapis.eu",
            "https://content.zohoapis.eu",
        ),
        ("AU", "https://accounts.zoho.com.au", "https://www.zohoapis.com.au", None),
        (
            "ca",
            "https://accounts.zohocloud.ca",
            "https://www.zohoapis.ca",
            "https://upload.zohocloud.ca",
        ),
        ("sa", "https://accounts.zoho.sa", "https://www.zohoapis.sa", "https://files.zoho.sa"),
    ],
)
def test_regions_pick_zoho_urls(
    monkeypatch: pytest.MonkeyPatch, region: str, accounts: str, api: str, upload: str | None
) -> None:
    monkeypatch.setenv("ZOHO_REGION", region)
    s = get_settings()
    assert (s.accounts_url, s.api_domain) == (accounts, api)
    assert s.file_upload_url == (upload or REGIONS[region.lower()].upload)


def test_explicit_urls_win_over_the_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZOHO_REGION", "eu")
    monkeypatch.setenv("ZOHO_ACCOUNTS_URL", "http://127.0.0.1:8085/")
    s = get_settings()
    assert s.token_url == "http://127.0.0.1:8085/oauth/v2/token"
    assert s.api_domain == "https://www.zohoapis.eu"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SERGAS_DB_POOL_SIZE", "lots"),
        ("SERGAS_DB_POOL_SIZE", "0"),
        ("ZOHO_REGION", "mars"),
        ("ZOHO_ACCOUNTS_URL", "accounts.zoho.com"),
        ("SERGAS_DATABASE_URL", "mysql://db"),
        ("SERGAS_LOG_FORMAT", "xml"),
        ("SERGAS_TOKEN_REFRESH_TIMEOUT", "-1"),
    ],
)
def test_bad_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name) as info:
        get_settings()
    assert info.value.details["settings"] == [name]


def test_secrets_never_print(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZOHO_CLIENT_SECRET", "very-secret-value")
    monkeypatch.setenv("ZOHO_REFRESH_TOKEN", "1000.refresh-value")
    monkeypatch.setenv("SERGAS_TOKEN_KEY", "key-value")
    s = get_settings()
    for text in (repr(s), str(s), str(s.model_dump())):
        for secret in ("very-secret-value", "1000.refresh-value", "key-value"):
            assert secret not in text


def test_an_invalid_secret_is_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERGAS_DB_POOL_SIZE", "hunter2")
    with pytest.raises(ConfigError) as info:
        get_settings()
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize("missing", ["ZOHO_CLIENT_ID", "ZOHO_CLIENT_SECRET"])
def test_require_client_names_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    monkeypatch.setenv("ZOHO_CLIENT_ID", "1000.X")
    monkeypatch.setenv("ZOHO_CLIENT_SECRET", "s")
    monkeypatch.delenv(missing)
    with pytest.raises(ConfigError, match=f"^{missing} not set"):
        get_settings().require_client()


def test_dotenv_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("ZOHO_USER=from-dotenv\nSERGAS_LOG_LEVEL=debug\n")
    s = get_settings()  # the isolated_settings fixture runs each test in tmp_path
    assert (s.zoho_user, s.log_level) == ("from-dotenv", "DEBUG")


def test_the_data_dir_is_made_private(isolated_settings: Path) -> None:
    assert not isolated_settings.exists()
    assert get_settings().data_path == isolated_settings
    assert stat.S_IMODE(isolated_settings.stat().st_mode) == 0o700


def test_an_uncreatable_data_dir_names_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("SERGAS_DATA_DIR", str(blocker / "data"))
    reset_settings()
    with pytest.raises(ConfigError, match="SERGAS_DATA_DIR: cannot create the data directory"):
        _ = get_settings().data_path
