"""Zoho's API limits: a rolling 24-hour credit budget and concurrent-call caps per org.

Concurrency is also counted per client, so tests of several processes can see what each
one had in flight. A client is named by the `X-Sergas-Client` header when a call carries
it, else by its access token (`token:` and the first 12 hex digits of the token's SHA-256).
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections import deque
from dataclasses import asdict, dataclass

from sergas.sandbox.clock import Clock
from sergas.sandbox.config import SUB_CONCURRENCY, SandboxConfig
from sergas.sandbox.errors import TooManyRequests

WINDOW = 24 * 3600.0

# Credits per call (docs/sandbox.md lists the sources). Most calls cost 1.
BULK_READ_CREDITS = 50
BULK_WRITE_CREDITS = 500
CVID_CREDITS = 3
CONVERT_CREDITS = 5
HEAVY_WRITE = 10  # writes of more records than this count against the sub-concurrency cap

CLIENT_HEADER = "X-Sergas-Client"


def write_credits(records: int) -> int:
    """Insert, update, upsert and delete: 1 credit per 10 records."""
    return max(1, math.ceil(records / 10))


def client_name(header: str | None, token: str) -> str:
    """Who a call is counted under in the per-client stats (see the module docstring)."""
    return header or _token_name(token)


@functools.lru_cache(maxsize=64)
def _token_name(token: str) -> str:
    return "token:" + hashlib.sha256(token.encode()).hexdigest()[:12]


@dataclass
class ClientStats:
    calls: int = 0
    in_flight: int = 0
    peak_concurrency: int = 0
    rejected_429: int = 0


class Limits:
    def __init__(self, config: SandboxConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self._spent: deque[tuple[float, int]] = deque()
        self._used = 0
        self.total_used = 0
        self.in_flight = 0
        self.heavy_in_flight = 0
        self.peak_concurrency = 0
        self.peak_heavy_concurrency = 0
        self.rejected_429 = 0
        self.clients: dict[str, ClientStats] = {}

    # -- credits ---------------------------------------------------------------------------

    @property
    def budget(self) -> int:
        return self.config.credit_budget

    def used(self) -> int:
        cutoff = self.clock.now() - WINDOW
        while self._spent and self._spent[0][0] <= cutoff:
            self._used -= self._spent.popleft()[1]
        return self._used

    def remaining(self) -> int:
        return max(0, self.budget - self.used())

    def charge(self, credits: int) -> None:
        if credits <= 0:
            return
        if self.config.enforce_limits and self.used() + credits > self.budget:
            self.rejected_429 += 1
            raise TooManyRequests(
                "You have exceeded the maximum API credits allowed for the day.",
                {"limit": self.budget, "remaining": self.remaining()},
            )
        self._spent.append((self.clock.now(), credits))
        self._used += credits
        self.total_used += credits

    def credits_header(self) -> str | None:
        """X-API-CREDITS-REMAINING is sent once half of the day's credits are used."""
        used = self.used()
        return str(self.budget - used) if used * 2 >= self.budget else None

    # -- concurrency -----------------------------------------------------------------------

    def client(self, name: str) -> ClientStats:
        found = self.clients.get(name)
        if found is None:
            found = self.clients[name] = ClientStats()
        return found

    def enter(self, client: str) -> None:
        """Take one of the org's concurrent-call slots for `client`, or raise 429."""
        stats = self.client(client)
        stats.calls += 1
        if self.config.enforce_limits and self.in_flight >= self.config.concurrency_cap:
            self.rejected_429 += 1
            stats.rejected_429 += 1
            raise TooManyRequests(
                "Concurrency limit exceeded for the org.",
                {"limit": self.config.concurrency_cap, "limit_type": "concurrency"},
            )
        self.in_flight += 1
        self.peak_concurrency = max(self.peak_concurrency, self.in_flight)
        stats.in_flight += 1
        stats.peak_concurrency = max(stats.peak_concurrency, stats.in_flight)

    def leave(self, client: str) -> None:
        self.in_flight -= 1
        self.clients[client].in_flight -= 1

    def enter_heavy(self, client: str) -> None:
        """Take a sub-concurrency slot (heavy APIs), or raise 429."""
        if self.config.enforce_limits and self.heavy_in_flight >= SUB_CONCURRENCY:
            self.rejected_429 += 1
            self.client(client).rejected_429 += 1
            raise TooManyRequests(
                "Sub-concurrency limit exceeded for this API.",
                {"limit": SUB_CONCURRENCY, "limit_type": "sub-concurrency"},
            )
        self.heavy_in_flight += 1
        self.peak_heavy_concurrency = max(self.peak_heavy_concurrency, self.heavy_in_flight)

    def leave_heavy(self) -> None:
        self.heavy_in_flight -= 1

    def client_stats(self) -> dict[str, dict[str, int]]:
        return {name: asdict(stats) for name, stats in sorted(self.clients.items())}
