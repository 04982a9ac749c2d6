"""structlog setup: contextvars first, then redaction of anything token-shaped, then JSON (for
services) or console output (for the CLI), always on stderr so stdout stays for data."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

from sergas.errors import redact

__all__ = ["configure_logging", "redact_processor"]


class _StreamFactory:
    """PrintLoggers on `stream`, or on whatever sys.stderr is at the time of each log call
    (test runners and CLI harnesses swap it)."""

    def __init__(self, stream: TextIO | None) -> None:
        self.stream = stream

    def __call__(self, *_args: Any) -> structlog.PrintLogger:
        return structlog.PrintLogger(self.stream or sys.stderr)


def redact_processor(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> Any:
    """Replace token-shaped values, and values of keys named like secrets."""
    return redact(dict(event))


def configure_logging(
    fmt: str = "console", level: str = "INFO", stream: TextIO | None = None
) -> None:
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_processor,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=_StreamFactory(stream),
        cache_logger_on_first_use=False,
    )
