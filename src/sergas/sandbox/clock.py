"""The sandbox's clock: real time plus an offset that tests move forward.

Token expiry, page-token expiry, bulk-job progress and the rolling credit window all read
this clock, so `POST /__sandbox/clock {"advance_seconds": N}` moves them all at once.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime


class Clock:
    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        """Seconds since the epoch, virtual."""
        return time.time() + self._offset

    def now_dt(self) -> datetime:
        return datetime.fromtimestamp(self.now(), UTC)

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        with self._lock:
            self._offset += seconds
        return self.now()

    def reset(self) -> None:
        with self._lock:
            self._offset = 0.0


def iso(ts: float | datetime) -> str:
    """Zoho's datetime format: `yyyy-MM-ddTHH:mm:ss+00:00`, no fraction."""
    dt = ts if isinstance(ts, datetime) else datetime.fromtimestamp(ts, UTC)
    return dt.astimezone(UTC).replace(microsecond=0).isoformat()
