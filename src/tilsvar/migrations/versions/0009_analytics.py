"""Analytics: per-conversation KPI facts, next-response facts, hourly rollups per hour × brand × channel
× team × agent × language × intent × sentiment, the event-log cursor that keeps them current, wall-screen
kiosk links and weekly-report schedules (docs/analytics.md).

Only new tables. The facts and rollups are empty after the upgrade; the first run of the KPI engine
(the worker, or `tilsvar report --rebuild`) fills them from the existing conversations.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tilsvar.models.base

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analytics_cursors",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("position", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("updated_at", tilsvar.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_analytics_cursors")),
    )
    op.create_table(
        "kpi_hourly",
        sa.Column("hour", tilsvar.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "brand_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column(
            "channel_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column(
            "team_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column(
            "agent_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("intent", sa.String(length=16), nullable=False),
        sa.Column("sentiment", sa.String(length=8), nullable=False),
        sa.Column("conversations", sa.Integer(), nullable=False),
        sa.Column("inquiries", sa.Integer(), nullable=False),
        sa.Column("answered", sa.Integer(), nullable=False),
        sa.Column("frt_sum_minutes", sa.Float(), nullable=False),
        sa.Column("resolved", sa.Integer(), nullable=False),
        sa.Column("resolution_sum_minutes", sa.Float(), nullable=False),
        sa.Column("messages_in", sa.Integer(), nullable=False),
        sa.Column("messages_out", sa.Integer(), nullable=False),
        sa.Column("pii_messages", sa.Integer(), nullable=False),
        sa.Column("pii_conversations", sa.Integer(), nullable=False),
        sa.Column("hidden_messages", sa.Integer(), nullable=False),
        sa.Column("flagged_messages", sa.Integer(), nullable=False),
        sa.Column("csat_sent", sa.Integer(), nullable=False),
        sa.Column("csat_happy", sa.Integer(), nullable=False),
        sa.Column("csat_neutral", sa.Integer(), nullable=False),
        sa.Column("csat_sad", sa.Integer(), nullable=False),
        sa.Column("sla_measured", sa.Integer(), nullable=False),
        sa.Column("sla_breached", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "hour",
            "brand_id",
            "channel_id",
            "team_id",
            "agent_id",
            "language",
            "intent",
            "sentiment",
            name=op.f("pk_kpi_hourly"),
        ),
    )
    op.create_table(
        "report_schedules",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("brand_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("time_of_day", sa.String(length=5), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column(
            "recipients",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "formats",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("next_run_at", tilsvar.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_sent_at", tilsvar.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=1000), nullable=False),
        sa.Column("created_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", tilsvar.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "settings",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["brand_id"], ["brands.id"], name=op.f("fk_report_schedules_brand_id_brands"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_report_schedules_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_report_schedules_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_schedules")),
    )
    op.create_index("ix_report_schedules_due", "report_schedules", ["enabled", "next_run_at"], unique=False)
    op.create_table(
        "wall_screens",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("brand_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column(
            "boards",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", tilsvar.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", tilsvar.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_seen_at", tilsvar.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["brand_id"], ["brands.id"], name=op.f("fk_wall_screens_brand_id_brands"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_wall_screens_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_wall_screens_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wall_screens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_wall_screens_token_hash")),
    )
    op.create_table(
        "kpi_conversation_facts",
        sa.Column("conversation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("brand_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("channel_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("team_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("agent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("intent", sa.String(length=16), nullable=False),
        sa.Column("sentiment", sa.String(length=8), nullable=False),
        sa.Column("hour", tilsvar.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("is_inquiry", sa.Boolean(), nullable=False),
        sa.Column("first_inbound_at", tilsvar.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("first_response_at", tilsvar.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("frt_minutes", sa.Float(), nullable=True),
        sa.Column("resolved_at", tilsvar.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolution_minutes", sa.Float(), nullable=True),
        sa.Column("messages_in", sa.Integer(), nullable=False),
        sa.Column("messages_out", sa.Integer(), nullable=False),
        sa.Column("pii_messages", sa.Integer(), nullable=False),
        sa.Column("hidden_messages", sa.Integer(), nullable=False),
        sa.Column("flagged_messages", sa.Integer(), nullable=False),
        sa.Column("csat_sent", sa.Boolean(), nullable=False),
        sa.Column("csat", sa.String(length=8), nullable=False),
        sa.Column("sla_breached", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_kpi_conversation_facts_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("conversation_id", name=op.f("pk_kpi_conversation_facts")),
    )
    op.create_index(
        "ix_kpi_conversation_facts_brand_hour", "kpi_conversation_facts", ["brand_id", "hour"], unique=False
    )
    op.create_index(
        "ix_kpi_conversation_facts_hour_brand", "kpi_conversation_facts", ["hour", "brand_id"], unique=False
    )
    op.create_table(
        "kpi_response_facts",
        sa.Column("conversation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("minutes", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_kpi_response_facts_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("conversation_id", "seq", name=op.f("pk_kpi_response_facts")),
    )


def downgrade() -> None:
    op.drop_table("kpi_response_facts")
    op.drop_index("ix_kpi_conversation_facts_hour_brand", table_name="kpi_conversation_facts")
    op.drop_index("ix_kpi_conversation_facts_brand_hour", table_name="kpi_conversation_facts")
    op.drop_table("kpi_conversation_facts")
    op.drop_table("wall_screens")
    op.drop_index("ix_report_schedules_due", table_name="report_schedules")
    op.drop_table("report_schedules")
    op.drop_table("kpi_hourly")
    op.drop_table("analytics_cursors")
