"""Account and audit security: hash-chained audit rows, TOTP two-factor, lockout, scoped API tokens,
the session list and sign-in attempts

audit_log: prev_hash and row_hash (tilsvar.audit_chain); existing rows are chained during the upgrade
with the canonical form written out below as it was when this migration was made. users: encrypted
TOTP secret, when two-factor was enabled, hashed recovery codes, failed sign-ins and lockout.
organizations: require_two_factor. api_tokens: scopes (existing tokens keep every scope, so they
keep working as before). web_sessions: client address, last seen, second factor pending.
sign_in_attempts: every password attempt, for throttling and new-place alerts.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 12:00:00
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC

import sqlalchemy as sa
from alembic import op

from tilsvar.models.base import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
GENESIS = "0" * 64
ALL_SCOPES = ["read", "reply", "moderate", "ingest", "report", "admin"]


def upgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("row_hash", sa.String(length=64), nullable=False, server_default=""))
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("require_two_factor", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("totp_secret_encrypted", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("totp_enabled_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("recovery_code_hashes", JSON, nullable=True))
        batch_op.add_column(sa.Column("failed_sign_ins", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("locked_until", UTCDateTime(), nullable=True))
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scopes", JSON, nullable=True))
    tokens = sa.table("api_tokens", sa.column("scopes", JSON))
    op.execute(tokens.update().values(scopes=ALL_SCOPES))
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.alter_column("scopes", existing_type=JSON, nullable=False)
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ip", sa.String(length=64), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("last_seen_at", UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("second_factor_pending", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "sign_in_attempts",
        sa.Column("id", ID, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=400), nullable=False),
        sa.Column("user_id", ID, nullable=True),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_sign_in_attempts_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_attempts")),
    )
    op.create_index("ix_sign_in_attempts_email_at", "sign_in_attempts", ["email", "at"], unique=False)
    op.create_index("ix_sign_in_attempts_ip_at", "sign_in_attempts", ["ip", "at"], unique=False)
    _chain_existing_audit_rows()


def _chain_existing_audit_rows() -> None:
    audit = sa.table(
        "audit_log",
        sa.column("id", ID),
        sa.column("at", UTCDateTime()),
        sa.column("organization_id", ID),
        sa.column("actor_user_id", ID),
        sa.column("actor", sa.String()),
        sa.column("action", sa.String()),
        sa.column("target_type", sa.String()),
        sa.column("target_id", sa.String()),
        sa.column("details", JSON),
        sa.column("prev_hash", sa.String()),
        sa.column("row_hash", sa.String()),
    )
    connection = op.get_bind()
    previous = GENESIS
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(audit).where(audit.c.id > last_id).order_by(audit.c.id).limit(1000)
        ).all()
        if not rows:
            break
        for row in rows:
            content = json.dumps(
                {
                    "at": row.at.astimezone(UTC).isoformat(timespec="microseconds"),
                    "organization_id": row.organization_id,
                    "actor_user_id": row.actor_user_id,
                    "actor": row.actor,
                    "action": row.action,
                    "target_type": row.target_type,
                    "target_id": row.target_id,
                    "details": row.details or {},
                },
                sort_keys=True,
                separators=(",", ":"),
                ensure_ascii=False,
            ).encode()
            digest = hashlib.sha256(previous.encode() + b"\n" + content).hexdigest()
            connection.execute(
                audit.update().where(audit.c.id == row.id).values(prev_hash=previous, row_hash=digest)
            )
            previous = digest
            last_id = row.id


def downgrade() -> None:
    op.drop_index("ix_sign_in_attempts_ip_at", table_name="sign_in_attempts")
    op.drop_index("ix_sign_in_attempts_email_at", table_name="sign_in_attempts")
    op.drop_table("sign_in_attempts")
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_column("second_factor_pending")
        batch_op.drop_column("last_seen_at")
        batch_op.drop_column("ip")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("scopes")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("locked_until")
        batch_op.drop_column("failed_sign_ins")
        batch_op.drop_column("recovery_code_hashes")
        batch_op.drop_column("totp_enabled_at")
        batch_op.drop_column("totp_secret_encrypted")
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_column("require_two_factor")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_column("row_hash")
        batch_op.drop_column("prev_hash")
