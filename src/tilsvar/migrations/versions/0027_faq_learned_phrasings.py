"""Phrasings learned from use: an agent's FAQ event remembers the conversation it was inserted into
(``faq_events.conversation_id``, set to NULL when the conversation is deleted), and a proposal says
whether it is a new article or a customer's question proposed as an alternative question of an
existing article (``faq_proposals.kind``: article | phrasing; docs/faq.md, "Phrasings learned from
use"). Existing rows are events without a conversation and article proposals.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06 16:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("faq_events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("conversation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_faq_events_conversation_id_conversations"),
            "conversations",
            ["conversation_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index(batch_op.f("ix_faq_events_conversation_id"), ["conversation_id"], unique=False)
    with op.batch_alter_table("faq_proposals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), nullable=False, server_default="article"))


def downgrade() -> None:
    with op.batch_alter_table("faq_proposals", schema=None) as batch_op:
        batch_op.drop_column("kind")
    with op.batch_alter_table("faq_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_faq_events_conversation_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_faq_events_conversation_id_conversations"), type_="foreignkey"
        )
        batch_op.drop_column("conversation_id")
