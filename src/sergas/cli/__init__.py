"""The `sergas` command line: one typer app, one sub-app per area.

Exit codes: 0 success; 1 a Sergas error (printed as one line); 2 bad usage (typer's own);
130 interrupted. `--debug` shows tracebacks.
"""

from __future__ import annotations

import os

import typer

from sergas.cli import accounts as accounts_cli
from sergas.cli import apikeys as apikeys_cli
from sergas.cli import approvals as approvals_cli
from sergas.cli import auth as auth_cli
from sergas.cli import db as db_cli
from sergas.cli import jobs as jobs_cli
from sergas.cli import mcp as mcp_cli
from sergas.cli import sandbox as sandbox_cli
from sergas.cli import serve as serve_cli
from sergas.cli import sweep as sweep_cli
from sergas.cli import tiers as tiers_cli
from sergas.cli import tokens as tokens_cli
from sergas.cli._common import run_app

app = typer.Typer(
    name="sergas",
    help="Sergas: a gateway between account-management automation and Zoho CRM.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,  # --install-completion, --show-completion
)
app.add_typer(sandbox_cli.app, name="sandbox")
app.add_typer(db_cli.app, name="db")
app.add_typer(auth_cli.app, name="auth")
app.add_typer(tokens_cli.app, name="tokens")
app.add_typer(tiers_cli.app, name="tiers")
app.add_typer(sweep_cli.app, name="sweep")
app.command(name="serve")(serve_cli.serve)
app.command(name="mcp")(mcp_cli.mcp)
app.add_typer(apikeys_cli.app, name="apikeys")
app.add_typer(approvals_cli.app, name="approvals")
app.add_typer(accounts_cli.app, name="accounts")
app.command(name="worker")(jobs_cli.worker)
app.add_typer(jobs_cli.app, name="jobs")


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
