"""structlog setup: contextvars first, then redaction of anything token-shaped, then JSON (for
services) or console output (for the CLI), always on stderr so stdout stays for data.

A correlation id ties together everything one manager operation logs and sends:
`correlation_scope()` binds it (key "correlation_id") in structlog's contextvars, where every
log line picks it up and the tiers read it (`current_correlation_id()`) to send
X-Correlation-ID.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TextIO

import structlog

from sergas.errors import redact

if TYPE_CHECKING:
    from sergas.settings import Settings

__all__ = [
    "CORRELATION_ID",
    "configure_logging",
    "configure_logging_from",
    "correlation_scope",
    "current_correlation_id",
    "new_correlation_id",
    "redact_processor",
]

CORRELATION_ID = "correlation_id"
_correlation: ContextVar[str | None] = ContextVar("sergas_correlation_id", default=None)


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
            structlog.processors.format_exc_info,  # tracebacks become text, then get redacted
            redact_processor,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=_StreamFactory(stream),
        cache_logger_on_first_use=False,
    )


def configure_logging_from(settings: Settings, stream: TextIO | None = None) -> None:
    """configure_logging() with SERGAS_LOG_FORMAT and SERGAS_LOG_LEVEL."""
    configure_logging(settings.log_format, settings.log_level, stream)


def new_correlation_id() -> str:
    """A random (version 4) UUID as 32 hex digits, as `uuid.uuid4().hex` gives, built from
    the random bytes directly: this runs on every manager call, and `uuid.UUID` validation
    costs several times more than the randomness."""
    digits = os.urandom(16).hex()
    variant = "89ab"[int(digits[16], 16) & 3]
    return f"{digits[:12]}4{digits[13:16]}{variant}{digits[17:]}"


def current_correlation_id() -> str | None:
    """The correlation id `correlation_scope()` bound for the current task or thread, if any."""
    return _correlation.get()


@contextmanager
def correlation_scope(correlation_id: str | None = None) -> Iterator[str]:
    """Bind a correlation id for the block: the given one, else the one an outer scope bound
    (a service request's), else a new uuid4. Log lines and tiers read it from structlog's
    contextvars under "correlation_id"."""
    cid = correlation_id or _correlation.get() or new_correlation_id()
    # One ContextVar of our own to find an outer id, and bind/reset rather than
    # bound_contextvars(): this runs on every manager call, and copying the whole context to
    # look for a key costs more than the rest of the scope.
    token = _correlation.set(cid)
    bound = structlog.contextvars.bind_contextvars(**{CORRELATION_ID: cid})
    try:
        yield cid
    finally:
        structlog.contextvars.reset_contextvars(**bound)
        _correlation.reset(token)
