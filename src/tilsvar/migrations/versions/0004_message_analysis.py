"""What the understanding pipeline found, as columns the inbox can filter and sort by

messages: intent, sentiment (+ score), priority, whether personal data was found and the redacted text
shown by default, and the moderation decision and its state on the platform. conversations: the
highest priority of their messages, the latest inbound message's intent/sentiment/language, whether a
customer exposed personal data in public, and whether any message was flagged or hidden. brands:
settings (moderation policy, competitor names, staff names).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 23:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("brands", schema=None) as batch_op:
        batch_op.add_column(sa.Column("settings", JSON, nullable=True))
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("intent", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("sentiment", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("sentiment_score", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("priority", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("has_pii", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("redacted_text", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("moderation_action", sa.String(length=8), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("moderation_state", sa.String(length=16), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("moderation_reason", sa.String(length=300), nullable=False, server_default="")
        )
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("priority", sa.String(length=8), nullable=False, server_default="normal")
        )
        batch_op.add_column(sa.Column("priority_rank", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("intent", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("sentiment", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("pii_exposed", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("flagged", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_index(
        "ix_conversations_brand_priority",
        "conversations",
        ["brand_id", "priority_rank", "waiting_since", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_conversations_brand_priority", table_name="conversations")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        for name in (
            "flagged",
            "pii_exposed",
            "language",
            "sentiment",
            "intent",
            "priority_rank",
            "priority",
        ):
            batch_op.drop_column(name)
    with op.batch_alter_table("messages", schema=None) as batch_op:
        for name in (
            "moderation_reason",
            "moderation_state",
            "moderation_action",
            "redacted_text",
            "has_pii",
            "priority",
            "sentiment_score",
            "sentiment",
            "intent",
        ):
            batch_op.drop_column(name)
    with op.batch_alter_table("brands", schema=None) as batch_op:
        batch_op.drop_column("settings")
