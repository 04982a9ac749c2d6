"""What every command shares: one-line errors, --debug, --json output."""

from __future__ import annotations

import getpass
import json
import os
import sys
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.text import Text

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


def error_text(exc: BaseException) -> str:
    """One line for a failure: a Sergas error with Zoho's code and details (the field or
    parameter, what it expects, the allowed values; `sergas.errors.explain`), anything else
    with its type. Shown verbatim: print it as a `rich.text.Text`, never as markup."""
    from sergas.errors import SergasError, explain

    if isinstance(exc, SergasError):
        return explain(exc)
    own = type(exc).__module__.startswith("sergas")
    return str(exc) if own else f"{type(exc).__name__}: {exc}"


def run_app(app: typer.Typer) -> None:
    """Run the app; a failure prints as one line unless --debug was given.

    Usage errors are click's own (exit 2). Anything else raised by a command is reported
    here, once, without a traceback: Zoho's code and details included, its text verbatim.
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
        line = Text.assemble(("error:", "red"), " ", error_text(exc))  # never read as markup
        err_console.print(line, highlight=False, soft_wrap=True)
        err_console.print("(run with --debug for a traceback)", style="dim")
        raise SystemExit(1) from None
