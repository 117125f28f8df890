"""FAQ article vectors for the settled suggestion mode: one row per text of an article (its title or
an alternative question) and embedding model, computed by the ``faq.embed`` job when articles are
saved or imported and read by every API node (docs/faq.md, "Settled suggestions"). Only a new table.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06 11:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tilsvar.models.base

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "faq_embeddings",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("article_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", tilsvar.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["faq_articles.id"],
            name=op.f("fk_faq_embeddings_article_id_faq_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_faq_embeddings_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_faq_embeddings")),
        sa.UniqueConstraint(
            "article_id", "model", "digest", name=op.f("uq_faq_embeddings_article_id_model_digest")
        ),
    )
    op.create_index("ix_faq_embeddings_org", "faq_embeddings", ["organization_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_faq_embeddings_org", table_name="faq_embeddings")
    op.drop_table("faq_embeddings")
