"""An index on ``messages.author_identity_id``: erasure finds a person's messages by it, the
understanding pipeline counts an author's earlier offences by it, and deleting an identity (erasure,
retention) checks its foreign key by it — without it each is a scan of every message. Only a new
index (the messages table and its search triggers stay as they are).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-23 00:20:00
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_messages_author_identity", "messages", ["author_identity_id"])


def downgrade() -> None:
    op.drop_index("ix_messages_author_identity", table_name="messages")
