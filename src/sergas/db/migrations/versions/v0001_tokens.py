"""Token storage: zoho_tokens and token_refresh_audit.

Revision ID: 0001_tokens
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sergas.db.tables import UTCDateTime

revision: str = "0001_tokens"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "zoho_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("accounts_url", sa.String(255), nullable=False),
        sa.Column("client_id", sa.String(255), nullable=False),
        sa.Column("user_name", sa.String(255), nullable=False),
        sa.Column("refresh_token", sa.LargeBinary(), nullable=False),
        sa.Column("refresh_token_fp", sa.String(64), nullable=False),
        sa.Column("access_token", sa.LargeBinary(), nullable=True),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("api_domain", sa.String(255), nullable=True),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_zoho_tokens"),
        sa.UniqueConstraint(
            "accounts_url",
            "client_id",
            "user_name",
            name="uq_zoho_tokens_accounts_url_client_id_user_name",
        ),
    )
    op.create_table(
        "token_refresh_audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("accounts_url", sa.String(255), nullable=False),
        sa.Column("client_id", sa.String(255), nullable=False),
        sa.Column("user_name", sa.String(255), nullable=False),
        sa.Column("refresh_token_fp", sa.String(64), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(255), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(
            ["token_id"],
            ["zoho_tokens.id"],
            name="fk_token_refresh_audit_token_id_zoho_tokens",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_token_refresh_audit"),
    )
    op.create_index(
        "ix_token_refresh_audit_refresh_token_fp_at",
        "token_refresh_audit",
        ["refresh_token_fp", "at"],
    )


def downgrade() -> None:
    op.drop_index("ix_token_refresh_audit_refresh_token_fp_at", table_name="token_refresh_audit")
    op.drop_table("token_refresh_audit")
    op.drop_table("zoho_tokens")
