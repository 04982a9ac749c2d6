"""What every command shares: one-line errors, --debug, --json output."""

from __future__ import annotations

import getpass
import json
import os
import sys
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

if TYPE_CHECKING:
    from sergas.manager import Caller

console = Console()
err_console = Console(stderr=True)


def local_caller() -> Caller:
    """The person at the terminal, as the manager's caller: the local operator, who may
    read and write (their login names them in logs and the audit)."""
    from sergas.manager import Caller

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return Caller(f"{user} (local)", channel="cli")


def debug_enabled() -> bool:
    return os.environ.get("SERGAS_DEBUG") == "1"


def print_json(data: Any) -> None:
    """Machine-readable output: plain JSON on stdout, nothing else."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def run_app(app: typer.Typer) -> None:
    """Run the app; a failure prints as one line unless --debug was given.

    Usage errors are click's own (exit 2). Anything else raised by a command is reported
    here, once, without a traceback.
    """
    try:
        app()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        err_console.print("interrupted")
        raise SystemExit(130) from None
    except Exception as exc:
        if debug_enabled():
            raise
        own = type(exc).__module__.startswith("sergas")
        text = str(exc) if own else f"{type(exc).__name__}: {exc}"
        err_console.print(f"[red]error:[/red] {text}", highlight=False, soft_wrap=True)
        err_console.print("(run with --debug for a traceback)", style="dim")
        raise SystemExit(1) from None
