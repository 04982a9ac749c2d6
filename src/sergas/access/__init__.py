"""What both front doors (the HTTP service and the MCP server) share about their callers,
below both of them:

- who is calling: `Principal`, scopes, API keys (`keys.ApiKeyStore`, salted hashes);
- what they may send: the typed criteria and field shapes (`schemas`);
- what they did: the approval queue (`approvals.ApprovalStore`), how its changes reach Zoho
  (`applying`: checked against Zoho's values now, sent once, recovered after a crash), and
  the tool-call audit (`audit.AuditLog`).

Their tables are in `sergas.db.tables`, with every other table.
"""

from sergas.access.approvals import Approval, ApprovalStore
from sergas.access.audit import AuditLog, AuditNote
from sergas.access.keys import ApiKeyInfo, ApiKeyStore
from sergas.access.principal import Principal, Scope

__all__ = [
    "ApiKeyInfo",
    "ApiKeyStore",
    "Approval",
    "ApprovalStore",
    "AuditLog",
    "AuditNote",
    "Principal",
    "Scope",
]
