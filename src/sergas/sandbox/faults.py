"""Fault injection: latency, error rates, dropped connections, hangs, targeted failures.

Set by CLI flags, SERGAS_SANDBOX_* variables, or POST /__sandbox/faults with a JSON body:

    {"latency_ms": 50, "latency_jitter_ms": 10,
     "error_rates": {"500": 0.1, "503": 0.05, "429": 0.0},
     "drop_rate": 0.0, "hang_rate": 0.0, "hang_seconds": 30,
     "paths": ["/crm/"],                       # where rates apply (prefixes); default all
     "targeted": [{"path": "/crm/v8/Accounts", "method": "PUT", "status": 503, "count": 3}],
     "retry_after": 2}                         # an injected 429 carries Retry-After: 2

A targeted fault fails the next `count` calls whose path starts with `path` (and whose method
matches, and which carry the header `header`, when given) with `status` (an HTTP status, or
"drop" / "hang"). Zoho's SDK sends `X-ZOHO-SDK` on every call, so
`{"path": "/crm/", "header": "X-ZOHO-SDK", "status": 503, "count": 1000}` fails the SDK alone.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

Action = int | str  # an HTTP status, "drop" or "hang"


@dataclass
class Targeted:
    path: str
    action: Action
    count: int
    method: str | None = None
    header: str | None = None  # only calls carrying this header (name, any case)

    def applies(self, method: str, path: str, headers: frozenset[str]) -> bool:
        return (
            self.count > 0
            and path.startswith(self.path)
            and (self.method is None or self.method.upper() == method)
            and (self.header is None or self.header.lower() in headers)
        )


@dataclass
class Faults:
    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    error_rates: dict[int, float] = field(default_factory=dict)
    drop_rate: float = 0.0
    hang_rate: float = 0.0
    hang_seconds: float = 30.0
    paths: list[str] = field(default_factory=list)
    targeted: list[Targeted] = field(default_factory=list)
    retry_after: int | None = None  # seconds an injected 429 says to wait (Retry-After)
    injected: int = 0
    rng: random.Random = field(default_factory=lambda: random.Random(0), repr=False)

    def update(self, body: dict[str, Any]) -> None:
        """Apply a /__sandbox/faults body; unknown keys are a ValueError."""
        known = {
            "latency_ms",
            "latency_jitter_ms",
            "error_rates",
            "drop_rate",
            "hang_rate",
            "hang_seconds",
            "paths",
            "targeted",
            "retry_after",
            "seed",
        }
        unknown = set(body) - known
        if unknown:
            raise ValueError(f"unknown fault settings: {', '.join(sorted(unknown))}")
        for name in ("latency_ms", "latency_jitter_ms", "drop_rate", "hang_rate", "hang_seconds"):
            if name in body:
                value = float(body[name])
                if value < 0 or (name.endswith("_rate") and value > 1):
                    raise ValueError(f"{name} out of range: {value}")
                setattr(self, name, value)
        if "error_rates" in body:
            rates = {int(k): float(v) for k, v in dict(body["error_rates"]).items()}
            if any(not 0 <= v <= 1 for v in rates.values()) or sum(rates.values()) > 1:
                raise ValueError("error_rates must be probabilities adding up to at most 1")
            self.error_rates = rates
        if "paths" in body:
            self.paths = [str(p) for p in body["paths"]]
        if "targeted" in body:
            self.targeted = [self._targeted(t) for t in body["targeted"]]
        if "retry_after" in body:
            wait = body["retry_after"]
            if wait is not None and (isinstance(wait, bool) or int(wait) < 0):
                raise ValueError(f"retry_after must be whole seconds or null: {wait!r}")
            self.retry_after = None if wait is None else int(wait)
        if "seed" in body:
            self.rng.seed(int(body["seed"]))

    @staticmethod
    def _targeted(raw: dict[str, Any]) -> Targeted:
        action = raw.get("status", 500)
        if not (isinstance(action, int) or action in ("drop", "hang")):
            raise ValueError(
                f"targeted status must be an HTTP status, 'drop' or 'hang': {action!r}"
            )
        header = raw.get("header")
        return Targeted(
            str(raw["path"]),
            action,
            int(raw.get("count", 1)),
            raw.get("method"),
            None if header is None else str(header),
        )

    def latency(self) -> float:
        """Seconds to wait before answering."""
        if not self.latency_ms and not self.latency_jitter_ms:
            return 0.0
        jitter = self.rng.uniform(-self.latency_jitter_ms, self.latency_jitter_ms)
        return max(0.0, self.latency_ms + jitter) / 1000.0

    def pick(self, method: str, path: str, headers: frozenset[str] = frozenset()) -> Action | None:
        """The fault for this call, if any. `headers`: the call's header names, lower case."""
        for target in self.targeted:
            if target.applies(method, path, headers):
                target.count -= 1
                self.injected += 1
                return target.action
        if self.paths and not any(path.startswith(p) for p in self.paths):
            return None
        roll = self.rng.random()
        for action, rate in (("drop", self.drop_rate), ("hang", self.hang_rate)):
            if roll < rate:
                self.injected += 1
                return action
            roll -= rate
        for status, rate in self.error_rates.items():
            if roll < rate:
                self.injected += 1
                return status
            roll -= rate
        return None

    def as_dict(self) -> dict[str, Any]:
        return {
            "latency_ms": self.latency_ms,
            "latency_jitter_ms": self.latency_jitter_ms,
            "error_rates": {str(k): v for k, v in self.error_rates.items()},
            "drop_rate": self.drop_rate,
            "hang_rate": self.hang_rate,
            "hang_seconds": self.hang_seconds,
            "paths": self.paths,
            "targeted": [
                {
                    "path": t.path,
                    "status": t.action,
                    "count": t.count,
                    "method": t.method,
                    "header": t.header,
                }
                for t in self.targeted
            ],
            "retry_after": self.retry_after,
            "injected": self.injected,
        }
