"""Privacy: retention policies, legal holds, need-to-know reveal requests and the record of what
was erased or deleted when (docs/privacy.md). Only new tables.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-23 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import tilsvar.models.base

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")


def _when(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, tilsvar.models.base.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "retention_policies",
        sa.Column("id", ID, nullable=False),
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("target", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("brand_id", ID, nullable=True),
        sa.Column("channel_id", ID, nullable=True),
        sa.Column("conversation_kind", sa.String(length=16), nullable=True),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        _when("created_at"),
        _when("last_run_at", True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_retention_policies_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["brand_id"],
            ["brands.id"],
            name=op.f("fk_retention_policies_brand_id_brands"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name=op.f("fk_retention_policies_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_policies")),
    )
    op.create_table(
        "privacy_deletions",
        sa.Column("id", ID, nullable=False),
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("policy_id", ID, nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        _when("at"),
        sa.Column("counts", JSON, nullable=False),
        sa.Column("ids", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_privacy_deletions_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["retention_policies.id"],
            name=op.f("fk_privacy_deletions_policy_id_retention_policies"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_deletions")),
    )
    op.create_index("ix_privacy_deletions_org_at", "privacy_deletions", ["organization_id", "at"])
    op.create_table(
        "legal_holds",
        sa.Column("id", ID, nullable=False),
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("conversation_id", ID, nullable=True),
        sa.Column("contact_id", ID, nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_by_user_id", ID, nullable=True),
        _when("created_at"),
        _when("released_at", True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_legal_holds_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_legal_holds_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_legal_holds_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_legal_holds_created_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_holds")),
    )
    op.create_index(op.f("ix_legal_holds_conversation_id"), "legal_holds", ["conversation_id"])
    op.create_index(op.f("ix_legal_holds_contact_id"), "legal_holds", ["contact_id"])
    op.create_table(
        "reveal_requests",
        sa.Column("id", ID, nullable=False),
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("conversation_id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("needed_approval", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("decided_by_user_id", ID, nullable=True),
        _when("decided_at", True),
        _when("expires_at", True),
        _when("created_at"),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_reveal_requests_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_reveal_requests_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_reveal_requests_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_user_id"],
            ["users.id"],
            name=op.f("fk_reveal_requests_decided_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reveal_requests")),
    )
    op.create_index("ix_reveal_requests_conversation_user", "reveal_requests", ["conversation_id", "user_id"])


def downgrade() -> None:
    op.drop_table("reveal_requests")
    op.drop_table("legal_holds")
    op.drop_table("privacy_deletions")
    op.drop_table("retention_policies")
