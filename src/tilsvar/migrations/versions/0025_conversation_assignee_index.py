"""An index on conversations by assignee and status: routing counts the open conversations of the
agents a decision looks at for every customer message (``actions.routing.LiveAgents``), and without
it that count scanned every conversation of the installation.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06 09:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_conversations_assignee_status", "conversations", ["assignee_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_conversations_assignee_status", table_name="conversations")
