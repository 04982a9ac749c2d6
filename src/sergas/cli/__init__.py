"""The `sergas` command line: one typer app, one sub-app per area.

Each area's module is imported when its command runs (`_Commands`), not at start: a command
pays only for what it uses (a `sergas accounts get` loads neither the queue nor the MCP
server), and typer builds only that command's parameters.

Exit codes: 0 success; 1 a Sergas error (printed as one line); 2 bad usage (typer's own);
130 interrupted. `--debug` shows tracebacks.
"""

from __future__ import annotations

import importlib
import os

import typer
from typer import _click
from typer.core import TyperGroup
from typer.main import get_command_from_info, get_group_from_info
from typer.models import CommandInfo, TyperInfo

from sergas.cli._common import run_app

# Name -> (module in sergas.cli, attribute): a Typer sub-app, or a function for a single
# command. In this order in `sergas --help` (single commands first, as typer lists them).
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("serve", "serve"),
    "mcp": ("mcp", "mcp"),
    "worker": ("jobs", "worker"),
    "sandbox": ("sandbox", "app"),
    "db": ("db", "app"),
    "auth": ("auth", "app"),
    "tokens": ("tokens", "app"),
    "tiers": ("tiers", "app"),
    "sweep": ("sweep", "app"),
    "apikeys": ("apikeys", "app"),
    "approvals": ("approvals", "app"),
    "accounts": ("accounts", "app"),
    "jobs": ("jobs", "app"),
}


class _Commands(TyperGroup):
    """The root group: each sub-command built from its module on first use, as
    `app.add_typer()` / `app.command()` would have built it at start."""

    def list_commands(self, ctx: _click.Context) -> list[str]:
        return [*COMMANDS, *(name for name in self.commands if name not in COMMANDS)]

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            self.commands[cmd_name] = _build(cmd_name)
        return self.commands.get(cmd_name)

    def resolve_command(
        self, ctx: _click.Context, args: list[str]
    ) -> tuple[str | None, _click.Command | None, list[str]]:
        if args and args[0] not in COMMANDS:  # a typo: typer suggests from every command
            for name in COMMANDS:
                self.get_command(ctx, name)
        return super().resolve_command(ctx, args)


def _build(name: str) -> _click.Command:
    module, attribute = COMMANDS[name]
    found = getattr(importlib.import_module(f"sergas.cli.{module}"), attribute)
    if isinstance(found, typer.Typer):
        return get_group_from_info(
            TyperInfo(found, name=name),
            pretty_exceptions_short=app.pretty_exceptions_short,
            rich_markup_mode=app.rich_markup_mode,
            suggest_commands=app.suggest_commands,
        )
    return get_command_from_info(
        CommandInfo(name=name, callback=found),
        pretty_exceptions_short=app.pretty_exceptions_short,
        rich_markup_mode=app.rich_markup_mode,
    )


app = typer.Typer(
    name="sergas",
    help="Sergas: a gateway between account-management automation and Zoho CRM.",
    cls=_Commands,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,  # --install-completion, --show-completion
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"sergas {version('sergas')}")
        raise typer.Exit()


@app.callback()
def _global(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks on errors."),
    _: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    if debug:
        os.environ["SERGAS_DEBUG"] = "1"


def main() -> None:
    run_app(app)
