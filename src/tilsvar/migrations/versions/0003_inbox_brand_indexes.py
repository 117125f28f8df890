"""Indexes for the inbox: each brand's conversations in waiting order and in activity order

The inbox lists the conversations of the brands a user may see, sorted by waiting time or recent
activity, 50 at a time. With an index per brand in that order each page reads about 50 index entries
per brand instead of sorting every waiting conversation.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 23:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_conversations_brand_waiting", "conversations", ["brand_id", "waiting_since", "id"], unique=False
    )
    op.create_index(
        "ix_conversations_brand_last_message",
        "conversations",
        ["brand_id", "last_message_at", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_conversations_brand_last_message", table_name="conversations")
    op.drop_index("ix_conversations_brand_waiting", table_name="conversations")
