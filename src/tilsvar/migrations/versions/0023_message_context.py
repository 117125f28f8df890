"""The platform context of a comment (the post it was written under: its id, text, author, time and
link) kept on the message, for the conversation view (docs/ui.md). Until now only the conversation's
subject held the first 200 characters of the post's text, and the post id was dropped.

Revision ID: 0023
Revises: 0021
Create Date: 2026-12-06 07:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0023"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "messages",
        sa.Column(
            "context",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
    )


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("context")
