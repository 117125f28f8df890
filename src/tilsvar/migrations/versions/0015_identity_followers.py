"""``identities.followers``: an author's reach as the platform last reported it (X sends
``followers_count`` with every tweet and DM), so the understanding pipeline can raise the priority of
messages from large accounts. Nullable: most platforms never say.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("identities") as batch:
        batch.add_column(sa.Column("followers", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("identities") as batch:
        batch.drop_column("followers")
