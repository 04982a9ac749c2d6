"""Interactive or background: the one way to say what kind of work a call to Zoho is for.

    from sergas.org import background

    with background("sweep"):          # every call to Zoho made inside, in any task it starts
        await run_sweep(...)

Background work (the sweep, exports, queued jobs) is refused with `CreditReserveError` once
the org's remaining daily credits reach SERGAS_CREDIT_RESERVE, and with `CoordinationError`
when the org's shared limits (Redis) are configured but unreachable; interactive work (the
default: CLI reads, the HTTP service, agents) still passes. A context variable carries it, so
tasks started inside the block (asyncio copies the context) and SDK worker threads inherit it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

__all__ = ["background", "current_work", "interactive"]

_work: ContextVar[str | None] = ContextVar("sergas_background_work", default=None)


@contextlib.contextmanager
def background(reason: str) -> Iterator[None]:
    """Mark the calls made within as background work; `reason` names it in errors and logs."""
    token = _work.set(reason)
    try:
        yield
    finally:
        _work.reset(token)


@contextlib.contextmanager
def interactive() -> Iterator[None]:
    """Undo an enclosing `background()` (e.g. a job step that answers a person now)."""
    token = _work.set(None)
    try:
        yield
    finally:
        _work.reset(token)


def current_work() -> str | None:
    """The reason given to the enclosing `background()`, or None for interactive work."""
    return _work.get()
