"""The service's tables, now defined with every other table in `sergas.db.tables`."""

from sergas.db.tables import api_keys, approvals, tool_calls

__all__ = ["api_keys", "approvals", "tool_calls"]
