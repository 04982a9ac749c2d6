"""What every command shares: one-line errors, --debug, --json output, and consoles that
show text verbatim.

Much of what the CLI prints came from outside: agents' reasons and values, Zoho's records
and messages, key names. The consoles therefore interpret no markup and no emoji codes, and
show control characters as escapes (`\\x1b`), so `[green]APPROVED[/green]` or an ANSI
sequence in a proposal reads as the text it is. Styles are given with `style=` or as
`styled()` pieces, never as markup in a string.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import sys
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.text import Text

if TYPE_CHECKING:
    from sergas.manager import Caller

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def visible(text: str) -> str:
    """Control characters (other than newline and tab) as escapes: `\\x1b`, `\\x07`."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


class VerbatimConsole(Console):
    """A console for text from outside: no markup, no emoji codes, control characters
    escaped. Every str it renders (printed, in a table cell, a title) passes here."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(markup=False, emoji=False, **kwargs)

    def render_str(self, text: str, **kwargs: Any) -> Text:
        return super().render_str(visible(text), **kwargs)


def styled(*parts: str | tuple[str, str]) -> Text:
    """A line of plain and styled pieces, each shown verbatim: `styled(("error:", "red"),
    " ", message)`."""
    return Text.assemble(
        *((visible(p), "") if isinstance(p, str) else (visible(p[0]), p[1]) for p in parts)
    )


console = VerbatimConsole()
err_console = VerbatimConsole(stderr=True)


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
        # `python -m sergas` is `sergas` too: in usage lines and completion scripts.
        app(prog_name="sergas")
    except SystemExit:
        raise
    except KeyboardInterrupt:
        err_console.print("interrupted")
        raise SystemExit(130) from None
    except Exception as exc:
        if debug_enabled():
            raise
        line = styled(("error:", "red"), " ", error_text(exc))
        err_console.print(line, highlight=False, soft_wrap=True)
        err_console.print("(run with --debug for a traceback)", style="dim")
        raise SystemExit(1) from None
