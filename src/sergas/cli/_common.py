"""What every command shares: one-line errors, --debug, --json output."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import typer
from rich.console import Console

console = Console()
err_console = Console(stderr=True)


def debug_enabled() -> bool:
    return os.environ.get("SERGAS_DEBUG") == "1"


def print_json(data: Any) -> None:
    """Machine-readable output: plain JSON on stdout, nothing else."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def run_app(app: typer.Typer) -> None:
    """Run the app; a failure prints as one line unless --debug was given."""
    try:
        rc = app(standalone_mode=False)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        err_console.print("interrupted")
        raise SystemExit(130) from None
    except Exception as exc:  # noqa: BLE001 - the one place a command's failure is reported
        import click

        if isinstance(exc, click.exceptions.Abort):
            raise SystemExit(130) from None
        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            raise SystemExit(exc.exit_code) from None
        if debug_enabled():
            raise
        err_console.print(f"[red]error:[/red] {type(exc).__name__}: {exc}", highlight=False)
        err_console.print("(run with --debug for a traceback)", style="dim")
        raise SystemExit(1) from None
    raise SystemExit(rc if isinstance(rc, int) else 0)
