""".env.example documents every variable Sergas reads and nothing else, shows the defaults the
code has, and parses as a .env file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from sergas.agents.settings import AgentSettings
from sergas.jobs.settings import JobsSettings
from sergas.manager.config import IntegrationConfig, _IntegrationEnv
from sergas.sandbox.config import SandboxConfig
from sergas.service.settings import ServiceSettings
from sergas.settings import Settings, load_settings
from sergas.sweep.settings import SweepSettings
from sergas.web.settings import WebSettings

EXAMPLE = Path(__file__).parents[2] / ".env.example"
SETTINGS: tuple[type[BaseSettings], ...] = (
    Settings,
    _IntegrationEnv,
    ServiceSettings,
    AgentSettings,
    SweepSettings,
    WebSettings,
    JobsSettings,
)
# Read by `sergas sandbox serve` through SandboxConfig.from_env (os.environ, no .env).
SANDBOX_PREFIX = "SERGAS_SANDBOX_"
# A hook for the sweep's resume tests, not a setting for users.
TEST_HOOKS = {"SERGAS_SWEEP_TEST_PAUSE"}


def variables(cls: type[BaseSettings]) -> set[str]:
    prefix = str(cls.model_config.get("env_prefix") or "")
    names: set[str] = set()
    for name, field in cls.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {str(choice) for choice in alias.choices}
        elif isinstance(alias, str):
            names.add(alias)
        else:
            names.add(prefix + name.upper())
    return names


def documented() -> set[str]:
    return set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", EXAMPLE.read_text(), re.MULTILINE))


def defaults() -> dict[str, str]:
    """The variables shown with a value, and that value."""
    found = re.findall(r"^# ?([A-Z][A-Z0-9_]+)=(.+)$", EXAMPLE.read_text(), re.MULTILINE)
    return dict(found)


def test_every_variable_is_documented() -> None:
    read = set().union(*(variables(cls) for cls in SETTINGS)) - TEST_HOOKS
    missing = read - documented()
    assert not missing, f"add to .env.example: {sorted(missing)}"


def test_every_documented_variable_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    read = set().union(*(variables(cls) for cls in SETTINGS))
    sandbox = {name for name in documented() if name.startswith(SANDBOX_PREFIX)}
    unknown = documented() - read - sandbox
    assert not unknown, f"nothing reads these: {sorted(unknown)}"
    for name in sorted(sandbox):  # a value it cannot take proves the sandbox reads the name
        with monkeypatch.context() as env:
            env.setenv(name, "not-a-value")
            with pytest.raises(ValueError, match=f"(?i){name.removeprefix(SANDBOX_PREFIX)}"):
                SandboxConfig.from_env()


def test_the_defaults_it_shows_are_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Uncommenting every value shown (the blank ones stay out) is a valid configuration that
    changes nothing: the values shown are the code's defaults."""
    shown = defaults()
    (tmp_path / ".env").write_text("".join(f"{k}={v}\n" for k, v in shown.items()))
    monkeypatch.chdir(tmp_path)
    for cls in SETTINGS:
        assert cls() == cls(_env_file=None), cls.__name__  # type: ignore[call-arg]
    assert load_settings().zoho_region == "us"
    assert IntegrationConfig.from_env() == IntegrationConfig()
    for name, value in shown.items():
        if name.startswith(SANDBOX_PREFIX):
            monkeypatch.setenv(name, value)
    assert SandboxConfig.from_env() == SandboxConfig()
