"""``messages.text_sealed``: the AES-GCM ciphertext of a message's original text when it holds personal
data (``tilsvar.privacy.sealing``); ``text`` then holds the redacted text, so the inbox, search
index and facets never see the original. A plain ``ADD COLUMN`` (no table rebuild), so the search
triggers on ``messages`` stay as they are.

Revision ID: 0017
Revises: 0014
Create Date: 2026-12-06 05:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("messages", sa.Column("text_sealed", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    op.drop_column("messages", "text_sealed")  # SQLite >= 3.35 drops a column without a rebuild
