"""Logging: Sergas's loggers, and the output its own entry points set up.

Sergas logs through structlog, with `get_logger(name)`. Who decides what is shown depends on
who runs it:

- Sergas's own entry points (the CLI, the HTTP service, the MCP server, the sweep) call
  `configure_logging()`: contextvars first, then redaction of anything token-shaped, then
  JSON (for services) or console output (for the CLI), always on stderr so stdout stays for
  data, at SERGAS_LOG_LEVEL;
- in someone else's program (Sergas used as a library) nothing is configured unless the
  program asks (by calling `configure_logging_from(settings)`, or by configuring structlog
  itself): Sergas's lines then go to the standard library's `logging`, under the loggers
  `sergas.*`, rendered as one redacted line each, and the program's logging configuration
  decides what is shown (with none, Python shows warnings and errors on stderr).

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
import structlog.stdlib

from sergas.errors import redact

if TYPE_CHECKING:
    from sergas.settings import Settings

__all__ = [
    "CORRELATION_ID",
    "configure_logging",
    "configure_logging_from",
    "correlation_scope",
    "current_correlation_id",
    "get_logger",
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


class _Logger:
    """A logger by name that picks its output at each call (see the module docstring):
    structlog's configuration once someone made one, else the standard library's logger of
    the same name. Chosen per call, so configuring after import takes effect at once."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __getattr__(self, method: str) -> Any:
        if structlog.is_configured():
            return getattr(structlog.get_logger(self.name), method)
        return getattr(_library_logger(self.name), method)

    def __repr__(self) -> str:
        return f"<sergas logger {self.name!r}>"


def get_logger(name: str) -> Any:
    """The logger every Sergas module uses (`log = get_logger("sergas.manager")`)."""
    return _Logger(name)


def _as_line(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> str:
    """One line of text for a standard library handler: the event, then key=value pairs
    (an exception's text, already redacted, on the lines after)."""
    message = str(event.pop("event", ""))
    trace = event.pop("exception", None)
    event.pop("level", None)
    pairs = " ".join(f"{k}={v!r}" for k, v in event.items())
    line = f"{message} {pairs}" if pairs else message
    return f"{line}\n{trace}" if trace else line


_LIBRARY_PROCESSORS: list[structlog.typing.Processor] = [
    structlog.stdlib.filter_by_level,  # nothing is formatted for a level nobody shows
    structlog.contextvars.merge_contextvars,
    structlog.processors.format_exc_info,
    redact_processor,
    _as_line,
]
_library_loggers: dict[str, Any] = {}


def _library_logger(name: str) -> Any:
    found = _library_loggers.get(name)
    if found is None:
        found = _library_loggers[name] = structlog.wrap_logger(
            logging.getLogger(name),
            processors=_LIBRARY_PROCESSORS,
            wrapper_class=structlog.stdlib.BoundLogger,
            context_class=dict,
            cache_logger_on_first_use=True,
        )
    return found


def configure_logging(
    fmt: str = "console", level: str = "INFO", stream: TextIO | None = None
) -> None:
    """Sergas's own output (for its entry points, or a program that asks for it): see the
    module docstring."""
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
