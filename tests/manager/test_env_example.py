""".env.example documents every variable Sergas reads, and parses as a .env file."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from sergas.manager.config import IntegrationConfig, _IntegrationEnv
from sergas.settings import Settings, load_settings

EXAMPLE = Path(__file__).parents[2] / ".env.example"


def variables(cls: type[BaseSettings]) -> set[str]:
    names: set[str] = set()
    for field in cls.model_fields.values():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {str(choice) for choice in alias.choices}
        elif isinstance(alias, str):
            names.add(alias)
    return names


def documented() -> set[str]:
    return set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", EXAMPLE.read_text(), re.MULTILINE))


def test_every_variable_is_documented() -> None:
    missing = (variables(Settings) | variables(_IntegrationEnv)) - documented()
    assert not missing, f"add to .env.example: {sorted(missing)}"


def test_the_defaults_it_shows_load(tmp_path: Path) -> None:
    """Uncommenting every default (and leaving the blank ones out) is a valid configuration."""
    lines = []
    for line in EXAMPLE.read_text().splitlines():
        match = re.match(r"^# ?([A-Z][A-Z0-9_]+)=(.+)$", line)
        if match and not match[1].startswith(("ZOHO_SDK_", "SERGAS_DATABASE_URL")):
            lines.append(f"{match[1]}={match[2]}")
    (tmp_path / ".env").write_text("\n".join(lines) + "\n")  # we run in tmp_path
    settings = load_settings()
    assert settings.zoho_region == "us"
    assert IntegrationConfig.from_env() == IntegrationConfig()
