"""The service's tables (migration 0003_service): API keys, the approval queue, the tool-call audit.

- `api_keys`: one row per key. Only a salted SHA-256 of the key's secret is stored; the key
  itself is shown once, when created. `key_id` is the public part of the key (it is in the
  key's text), so a key is found by an indexed lookup and then checked in constant time.
- `approvals`: changes an agent proposed. `status`: pending → approved → applied | failed,
  or pending → rejected. A direct write by a client allowed to write is recorded here too,
  already decided (by that client), so every change made for an agent has one history.
- `tool_calls`: one row per MCP tool call: who, which tool, the arguments (secrets redacted),
  a summary of the result, how long it took.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Float, ForeignKey, Index, Integer, String, Table, Text

from sergas.db.models import UTCDateTime, metadata

__all__ = ["api_keys", "approvals", "tool_calls"]

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("key_id", String(32), nullable=False, unique=True),
    Column("name", String(255), nullable=False),
    Column("scope", String(16), nullable=False),  # "read" or "write"
    Column("salt", String(64), nullable=False),
    Column("key_hash", String(64), nullable=False),  # sha256(salt || secret), hex
    Column("created_at", UTCDateTime(), nullable=False),
    Column("last_used_at", UTCDateTime(), nullable=True),
    Column("revoked_at", UTCDateTime(), nullable=True),
)

approvals = Table(
    "approvals",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("client_key_id", String(32), nullable=True),  # None: a local stdio client
    Column("client_name", String(255), nullable=False),
    Column("module", String(64), nullable=False),
    Column("record_id", String(64), nullable=False),
    Column("changes", JSON(), nullable=False),  # field API name -> new value
    Column("current", JSON(), nullable=True),  # the same fields' values when proposed
    Column("reason", Text(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("decided_at", UTCDateTime(), nullable=True),
    Column("decided_by", String(255), nullable=True),
    Column("note", Text(), nullable=True),  # the reviewer's comment
    Column("outcome", JSON(), nullable=True),  # Zoho's answer: ok, code, message, details
    Index(None, "status", "created_at"),
)

tool_calls = Table(
    "tool_calls",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("client_key_id", String(32), nullable=True),
    Column("client_name", String(255), nullable=False),
    Column("transport", String(16), nullable=False),
    Column("tool", String(64), nullable=False),
    Column("arguments", JSON(), nullable=False),
    Column("outcome", String(16), nullable=False),  # ok, queued, denied, error
    Column("result", JSON(), nullable=True),
    Column("error_code", String(64), nullable=True),
    Column("duration_ms", Float(), nullable=False),
    Column("approval_id", ForeignKey("approvals.id", ondelete="SET NULL"), nullable=True),
    Index(None, "at"),
)
