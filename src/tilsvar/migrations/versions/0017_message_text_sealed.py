"""``messages.text_sealed``: the AES-GCM ciphertext of a message's original text when it holds personal
data (``tilsvar.privacy.sealing``); ``text`` then holds the redacted text, so the inbox, search
index and facets never see the original. A plain ``ADD COLUMN`` (no table rebuild), so the search
triggers on ``messages`` stay as they are. And the addresses in ``email_messages`` (from, reply-to,
to) become binary: they are stored AES-GCM encrypted (``tilsvar.models.sealed``); existing plain
values stay readable until ``tilsvar keys reencrypt`` encrypts them. ``identities.external_id_sealed``
holds an e-mail identity's address encrypted, ``external_id`` then its blind index
(``tilsvar.privacy.blind``); existing e-mail identities are converted by ``tilsvar keys reencrypt``.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 05:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


ADDRESSES = ("from_address", "reply_to", "to_addresses")


def upgrade() -> None:
    op.add_column("messages", sa.Column("text_sealed", sa.LargeBinary(), nullable=True))
    op.add_column("identities", sa.Column("external_id_sealed", sa.LargeBinary(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        for column in ADDRESSES:
            op.execute(
                f"ALTER TABLE email_messages ALTER COLUMN {column} TYPE bytea USING convert_to({column}, 'UTF8')"
            )
    else:
        with op.batch_alter_table("email_messages") as batch_op:
            for column in ADDRESSES:
                batch_op.alter_column(column, type_=sa.LargeBinary(), existing_nullable=False)


def downgrade() -> None:
    # Encrypted addresses cannot be turned back into text here (PostgreSQL: they become empty).
    if op.get_bind().dialect.name == "postgresql":
        for column in ADDRESSES:
            op.execute(f"ALTER TABLE email_messages ALTER COLUMN {column} TYPE text USING ''")
    else:
        with op.batch_alter_table("email_messages") as batch_op:
            for column in ADDRESSES:
                batch_op.alter_column(column, type_=sa.Text(), existing_nullable=False)
    op.drop_column("identities", "external_id_sealed")
    op.drop_column("messages", "text_sealed")  # SQLite >= 3.35 drops a column without a rebuild
