"""Every table Sergas keeps, on the one `metadata` the migrations are checked against.

SQLAlchemy Core tables throughout: every store in Sergas reads and writes with Core
statements on an `AsyncEngine` connection, none through an ORM session. They live here, in
the database layer with the migrations, so that Alembic (`db/migrations/env.py`) and the
drift test see all of them, and the stores above (tokens, sweep, access) import down.

Tokens (migration 0001_tokens), stored encrypted (see sergas.crypto), never as text:

- `zoho_tokens`: one row per (accounts URL, client id, user): the refresh token and the
  current access token. `refresh_token_fp` is a truncated SHA-256 of the refresh token: it
  says which refresh token an audit row belongs to (Zoho's 10-per-10-minutes limit is per
  refresh token) without revealing it.
- `token_refresh_audit`: one row per refresh attempt (or refusal): when, who, why, how.

The health sweep (0002_sweep):

- `sweep_runs`: one row per real (not dry) run; `state` is "writing" until every batch is
  done and the run's scores became the last scores, then "done" (or "abandoned").
- `sweep_batches`: the checkpoint. One row per batch of changed accounts: the exact
  records to write, `state` pending → writing → done, and every record's outcome.
- `sweep_scores`: every scored account of a run (what the summary and the briefs are built
  from, so a resumed run need not read the CRM again). Kept for the latest run only.
- `sweep_last_scores`: per scope (which CRM) and account, the score of the last finished
  run: the baseline for "changes since the previous sweep".

Score history and the dashboard's sign-in (0005_dashboard):

- `sweep_history`: every finished run's score and status per account (four narrow columns,
  so a year of daily runs over 10,000 accounts stays small); the newest
  SERGAS_SWEEP_HISTORY_RUNS runs per scope are kept. What `sergas sweep diff`, the account
  page's score over time and the trend of each status read.
- `web_sessions`: one row per signed-in browser. Only a SHA-256 of the cookie's random token
  is stored, with the public id of the API key it was signed in with (never the key).

Access, for the HTTP service and the MCP server (0003_service):

- `api_keys`: one row per key. Only a salted SHA-256 of the key's secret is stored; the key
  itself is shown once, when created. `key_id` is the public part of the key (it is in the
  key's text), so a key is found by an indexed lookup and then checked in constant time.
- `approvals`: changes an agent proposed. `status`: pending → approved → applying → applied
  | failed, or pending → rejected (`sergas.access.approvals`). A direct write by a client
  allowed to write is recorded here too, already decided (by that client), so every change
  made for an agent has one history. `applying_*` (0004_approvals_applying) say who is
  sending the change to Zoho, from which process, since when: what recovery reads.
  `action` (0007_approval_actions): update, create or note; a create has no `record_id`
  until it is applied.
- `tool_calls`: one row per MCP tool call: who, which tool, the arguments (secrets redacted),
  a summary of the result, how long it took.

Jobs (0006_jobs; the queue's own `procrastinate_*` tables and functions, PostgreSQL only, come
from the installed Procrastinate and are not on this metadata):

- `sweep_leases`: one row per scope while a sweep of that CRM holds it: who (a job, or a
  `sergas sweep` process), until when (renewed while it works), which run. A second sweep of
  the same CRM is refused until the holder releases it or it expires.
- `job_attempts`: one row per attempt of a queued job: which worker ran it, when, how it
  ended, and its result (a sweep's summary) or error.
- `sweep_runs.job_id`, `sweep_batches.job_id`: the job that ran the run, and the shard job
  that writes a batch.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

__all__ = [
    "UTCDateTime",
    "api_keys",
    "approvals",
    "include_name",
    "job_attempts",
    "metadata",
    "sweep_batches",
    "sweep_history",
    "sweep_last_scores",
    "sweep_leases",
    "sweep_runs",
    "sweep_scores",
    "token_refresh_audit",
    "tool_calls",
    "web_sessions",
    "zoho_tokens",
]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


QUEUE_TABLE_PREFIX = "procrastinate_"  # the job queue's own tables (sergas.jobs)


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic's filter: the queue's tables are the queue's, not on this metadata."""
    return not (type_ == "table" and name is not None and name.startswith(QUEUE_TABLE_PREFIX))


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, on PostgreSQL (timestamptz) and SQLite (naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; Sergas stores timezone-aware UTC only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# -- tokens ----------------------------------------------------------------------------

zoho_tokens = Table(
    "zoho_tokens",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("accounts_url", String(255), nullable=False),
    Column("client_id", String(255), nullable=False),
    Column("user_name", String(255), nullable=False),
    Column("refresh_token", LargeBinary(), nullable=False),
    Column("refresh_token_fp", String(64), nullable=False),
    Column("access_token", LargeBinary(), nullable=True),
    Column("expires_at", UTCDateTime(), nullable=True),
    Column("api_domain", String(255), nullable=True),
    Column("generation", Integer(), nullable=False, default=0),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("accounts_url", "client_id", "user_name"),
)

token_refresh_audit = Table(
    "token_refresh_audit",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("token_id", ForeignKey("zoho_tokens.id", ondelete="SET NULL"), nullable=True),
    Column("accounts_url", String(255), nullable=False),
    Column("client_id", String(255), nullable=False),
    Column("user_name", String(255), nullable=False),
    Column("refresh_token_fp", String(64), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("host", String(255), nullable=False),
    Column("pid", Integer(), nullable=False),
    Column("reason", String(255), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("latency_ms", Float(), nullable=True),
    Column("error_code", String(64), nullable=True),
    Index(None, "refresh_token_fp", "at"),
)

# -- the health sweep ------------------------------------------------------------------

sweep_runs = Table(
    "sweep_runs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("scope", String(255), nullable=False),
    Column("state", String(16), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("checked_at", UTCDateTime(), nullable=False),  # the Last_Health_Check written
    Column("finished_at", UTCDateTime(), nullable=True),
    Column("accounts_scanned", Integer(), nullable=False),
    Column("accounts_scored", Integer(), nullable=False),
    Column("accounts_changed", Integer(), nullable=False),
    Column("batches", Integer(), nullable=False),
    Column("summary", JSON(), nullable=True),
    Column("job_id", BigInteger(), nullable=True),  # the queued job running it (0006_jobs)
    Index(None, "scope", "state"),
)

sweep_batches = Table(
    "sweep_batches",
    metadata,
    Column("run_id", ForeignKey("sweep_runs.id", ondelete="CASCADE"), primary_key=True),
    Column("batch_no", Integer(), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("records", JSON(), nullable=False),  # the update payload, one dict per account
    Column("outcomes", JSON(), nullable=True),  # one per record, in payload order
    Column("attempts", Integer(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("job_id", BigInteger(), nullable=True),  # the shard job writing it (0006_jobs)
)

sweep_scores = Table(
    "sweep_scores",
    metadata,
    Column("run_id", ForeignKey("sweep_runs.id", ondelete="CASCADE"), primary_key=True),
    Column("account_id", String(64), primary_key=True),
    Column("account_name", String(255), nullable=False),
    Column("owner_id", String(64), nullable=False),
    Column("owner_name", String(255), nullable=False),
    Column("owner_email", String(255), nullable=True),
    Column("score", Integer(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("previous_score", Integer(), nullable=True),
    Column("previous_status", String(16), nullable=True),
    Column("reasons", JSON(), nullable=False),
    Column("changed", Boolean(), nullable=False),  # differs from what the CRM held
    Index(None, "run_id", "owner_id"),  # one owner's accounts (the dashboard's owner page)
)

sweep_last_scores = Table(
    "sweep_last_scores",
    metadata,
    Column("scope", String(255), primary_key=True),
    Column("account_id", String(64), primary_key=True),
    Column("score", Integer(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("run_id", String(32), nullable=False),
    Column("scored_at", UTCDateTime(), nullable=False),
)

sweep_history = Table(
    "sweep_history",
    metadata,
    Column("run_id", ForeignKey("sweep_runs.id", ondelete="CASCADE"), primary_key=True),
    Column("account_id", String(64), primary_key=True),
    Column("score", Integer(), nullable=False),
    Column("status", String(16), nullable=False),
    Index(None, "account_id"),
)

# -- access: API keys, approvals, the tool-call audit ------------------------------------

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
    Column("record_id", String(64), nullable=True),  # None: a create not applied yet
    Column("changes", JSON(), nullable=False),  # field API name -> new value
    Column("current", JSON(), nullable=True),  # the same fields' values when proposed
    Column("reason", Text(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("decided_at", UTCDateTime(), nullable=True),
    Column("decided_by", String(255), nullable=True),
    Column("note", Text(), nullable=True),  # the reviewer's comment
    Column("outcome", JSON(), nullable=True),  # Zoho's answer: ok, code, message, details
    Column("applying_at", UTCDateTime(), nullable=True),
    Column("applying_by", String(255), nullable=True),  # the reviewer, or a job
    Column("applying_process", String(255), nullable=True),  # host:pid:nonce
    Column("action", String(16), nullable=False, server_default="update"),  # update|create|note
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

# -- the dashboard's sign-in -------------------------------------------------------------

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id", String(64), primary_key=True),  # sha256(the cookie's token), hex
    Column("key_id", String(32), nullable=False),  # the API key signed in with (public id)
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Index(None, "expires_at"),
)

# -- jobs ----------------------------------------------------------------------------------

sweep_leases = Table(
    "sweep_leases",
    metadata,
    Column("scope", String(255), primary_key=True),
    Column("holder", String(255), nullable=False),  # "job 12 (attempt 2) on host:pid", …
    Column("job_id", BigInteger(), nullable=True),  # the job holding it; None: `sergas sweep`
    Column("run_id", String(32), nullable=True),  # the run it is writing, once planned
    Column("acquired_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
)

job_attempts = Table(
    "job_attempts",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("job_id", BigInteger(), nullable=False),
    Column("attempt", Integer(), nullable=False),  # 1 for the first
    Column("task", String(64), nullable=False),
    Column("worker", String(255), nullable=False),  # host:pid
    Column("started_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime(), nullable=True),
    Column("outcome", String(16), nullable=True),  # succeeded, failed, interrupted, cancelled
    Column("result", JSON(), nullable=True),
    Column("error", Text(), nullable=True),
    Index(None, "job_id"),
)
