"""Zoho OAuth tokens: durable, encrypted, shared by every process, refreshed once per expiry.

`TokenManager` hands out access tokens; `SqlTokenStore` keeps them (PostgreSQL or SQLite);
`ZohoAuth` plugs them into an httpx2 client; `SDKTokenStore` into Zoho's official SDK.
"""

from sergas.auth.accounts import AccountsClient, TokenGrant
from sergas.auth.clock import Clock, ManualClock, SystemClock
from sergas.auth.factory import open_token_manager, token_manager
from sergas.auth.hook import ZohoAuth
from sergas.auth.manager import AccessToken, TokenManager, TokenStatus
from sergas.auth.sql_store import SqlTokenStore
from sergas.auth.store import AuditEntry, Outcome, StoredToken, TokenKey, TokenStore

__all__ = [
    "AccessToken",
    "AccountsClient",
    "AuditEntry",
    "Clock",
    "ManualClock",
    "Outcome",
    "SqlTokenStore",
    "StoredToken",
    "SystemClock",
    "TokenGrant",
    "TokenKey",
    "TokenManager",
    "TokenStatus",
    "TokenStore",
    "ZohoAuth",
    "open_token_manager",
    "token_manager",
]
