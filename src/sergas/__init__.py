"""Sergas: a gateway between account-management automation and Zoho CRM.

The public API, importable from `sergas` directly. Names load on first use, so
`import sergas` (and the CLI) stays quick; see each module for the details:

- `open_runtime`, `open_sync_manager`, `Runtime` (sergas.runtime): the gateway opened from
  settings (target, database, tokens, tiers, manager) and closed once;
- `ZohoIntegrationManager`, `SyncZohoIntegrationManager`, `IntegrationConfig`,
  `RoutingContext`, `Caller` (sergas.manager): one call, for a caller whose permissions
  are checked, routed over three tiers with failover;
- `TokenManager`, `token_manager` (sergas.auth): durable, encrypted, single-flight tokens;
- `F`, `CoqlQuery` (sergas.query): criteria and COQL with Zoho's escaping;
- `Settings`, `get_settings` (sergas.settings);
- `SergasError` and its subclasses (sergas.errors).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_WHERE = {
    "AuthError": "sergas.errors",
    "BulkOperationError": "sergas.errors",
    "BulkResult": "sergas.tiers.base",
    "Caller": "sergas.manager",
    "CircuitOpenError": "sergas.errors",
    "ConfigError": "sergas.errors",
    "CoqlQuery": "sergas.query",
    "DatabaseError": "sergas.errors",
    "F": "sergas.query",
    "IntegrationConfig": "sergas.manager",
    "InvalidDataError": "sergas.errors",
    "NotFoundError": "sergas.errors",
    "RateLimitError": "sergas.errors",
    "RecordResult": "sergas.tiers.base",
    "RoutingContext": "sergas.manager",
    "Runtime": "sergas.runtime",
    "SergasError": "sergas.errors",
    "Settings": "sergas.settings",
    "SyncZohoIntegrationManager": "sergas.manager",
    "TokenManager": "sergas.auth",
    "ZohoIntegrationManager": "sergas.manager",
    "get_settings": "sergas.settings",
    "open_runtime": "sergas.runtime",
    "open_sync_manager": "sergas.runtime",
    "token_manager": "sergas.auth",
}

__all__ = [
    "AuthError",
    "BulkOperationError",
    "BulkResult",
    "Caller",
    "CircuitOpenError",
    "ConfigError",
    "CoqlQuery",
    "DatabaseError",
    "F",
    "IntegrationConfig",
    "InvalidDataError",
    "NotFoundError",
    "RateLimitError",
    "RecordResult",
    "RoutingContext",
    "Runtime",
    "SergasError",
    "Settings",
    "SyncZohoIntegrationManager",
    "TokenManager",
    "ZohoIntegrationManager",
    "__version__",
    "get_settings",
    "open_runtime",
    "open_sync_manager",
    "token_manager",
]

if TYPE_CHECKING:
    from sergas.auth import TokenManager, token_manager
    from sergas.errors import (
        AuthError,
        BulkOperationError,
        CircuitOpenError,
        ConfigError,
        DatabaseError,
        InvalidDataError,
        NotFoundError,
        RateLimitError,
        SergasError,
    )
    from sergas.manager import (
        Caller,
        IntegrationConfig,
        RoutingContext,
        SyncZohoIntegrationManager,
        ZohoIntegrationManager,
    )
    from sergas.query import CoqlQuery, F
    from sergas.runtime import Runtime, open_runtime, open_sync_manager
    from sergas.settings import Settings, get_settings
    from sergas.tiers.base import BulkResult, RecordResult


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'sergas' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
