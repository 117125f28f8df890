"""The web UI's language (tilsvar.web.i18n): an organisation-wide default on ``organizations.locale``
("" = the browser's language). ``users.locale`` existed but nothing read or set it; every user had the
placeholder "en", which now would pin them to English, so it becomes "" (= the organisation's default)
until the user chooses a language on the account page.

Revision ID: 0021
Revises: 0019
Create Date: 2026-12-06 05:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "organizations", sa.Column("locale", sa.String(length=16), nullable=False, server_default="")
    )
    op.execute("UPDATE users SET locale = '' WHERE locale = 'en'")


def downgrade() -> None:
    op.execute("UPDATE users SET locale = 'en' WHERE locale = ''")
    with op.batch_alter_table("organizations") as batch:
        batch.drop_column("locale")
