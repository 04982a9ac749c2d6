"""Who this process is to Zoho and to the other processes of the org, and what Zoho tells it
about the org's credits.

`client_id()` names the process (`<host>:<pid>`, worked out again after a fork): every call
to Zoho carries it as `X-Sergas-Client` (added by the one auth layer: `sergas.auth.hook` for
httpx2 clients, `sergas.auth.sdk` for the official SDK), and the org's shared slots are held
under it, so "slots in use by process" means the same thing in Sergas and in Zoho's sandbox.

`observe_headers()` is called by that same auth layer with every answer's headers: a
`X-API-CREDITS-REMAINING` value goes to whichever limiter is sending the call (a context
variable set by the choke point, `sergas.tiers.core.calls`).
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar

__all__ = [
    "CLIENT_HEADER",
    "CREDITS_HEADER",
    "client_id",
    "credits_observer",
    "observe_headers",
]

CLIENT_HEADER = "X-Sergas-Client"
CREDITS_HEADER = "X-API-CREDITS-REMAINING"

_identity: tuple[int, str] | None = None
_observer: ContextVar[Callable[[int], None] | None] = ContextVar(
    "sergas_credits_observer", default=None
)


def client_id() -> str:
    """`<host>:<pid>` of this process."""
    global _identity
    pid = os.getpid()
    if _identity is None or _identity[0] != pid:
        _identity = (pid, f"{socket.gethostname()}:{pid}")
    return _identity[1]


@contextlib.contextmanager
def credits_observer(observe: Callable[[int], None]) -> Iterator[None]:
    """Within the block, `observe(remaining)` hears every X-API-CREDITS-REMAINING."""
    token = _observer.set(observe)
    try:
        yield
    finally:
        _observer.reset(token)


def observe_headers(headers: Mapping[str, str]) -> None:
    """Pass Zoho's remaining-credits header, if the answer has one, to the current observer."""
    observe = _observer.get()
    if observe is None:
        return
    raw = headers.get(CREDITS_HEADER) or headers.get(CREDITS_HEADER.lower())
    if raw is not None and raw.strip().lstrip("-").isdigit():
        observe(int(raw.strip()))
