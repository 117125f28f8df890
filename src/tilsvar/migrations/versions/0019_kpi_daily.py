"""Analytics at scale: the coarse daily KPI rollup (``kpi_daily``: day × brand × channel × team, totals
plus one row per agent, language, intent and sentiment, with the cell's first- and next-response times
as sorted packed values for exact percentiles), an index the daily rollup's maintenance reads facts
by, and a partial index of the conversations waiting right now.

The new table is empty after the upgrade; the KPI engine's next run (the worker, or
`tilsvar report --rebuild`) fills it from the existing facts.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 05:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tilsvar.models.base

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

POSITION = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
OPEN_WAITING_SQL = "waiting_since IS NOT NULL AND status NOT IN ('resolved', 'closed')"
COUNTS = (
    "conversations",
    "inquiries",
    "answered",
    "resolved",
    "messages_in",
    "messages_out",
    "pii_messages",
    "pii_conversations",
    "hidden_messages",
    "flagged_messages",
    "csat_sent",
    "csat_happy",
    "csat_neutral",
    "csat_sad",
    "sla_measured",
    "sla_breached",
)


def upgrade() -> None:
    op.create_table(
        "kpi_daily",
        sa.Column("day", tilsvar.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("brand_id", POSITION, autoincrement=False, nullable=False),
        sa.Column("channel_id", POSITION, autoincrement=False, nullable=False),
        sa.Column("team_id", POSITION, autoincrement=False, nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=24), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS[:3]),
        sa.Column("frt_sum_minutes", sa.Float(), nullable=False),
        sa.Column("resolved", sa.Integer(), nullable=False),
        sa.Column("resolution_sum_minutes", sa.Float(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS[4:]),
        sa.Column("frt_sum_us", sa.BigInteger(), nullable=False),
        sa.Column("resolution_sum_us", sa.BigInteger(), nullable=False),
        sa.Column("oldest_unanswered_at", tilsvar.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("frt_values", sa.LargeBinary(), nullable=False),
        sa.Column("next_values", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "brand_id", "channel_id", "team_id", "dimension", "value", name=op.f("pk_kpi_daily")
        ),
    )
    op.create_index("ix_kpi_daily_brand_day", "kpi_daily", ["brand_id", "day"])
    op.create_index(
        "ix_kpi_conversation_facts_channel_hour", "kpi_conversation_facts", ["channel_id", "hour"]
    )
    op.create_index(
        "ix_conversations_open_waiting",
        "conversations",
        ["brand_id", "waiting_since", "channel_id", "team_id"],
        sqlite_where=sa.text(OPEN_WAITING_SQL),
        postgresql_where=sa.text(OPEN_WAITING_SQL),
    )


def downgrade() -> None:
    op.drop_index("ix_conversations_open_waiting", table_name="conversations")
    op.drop_index("ix_kpi_conversation_facts_channel_hour", table_name="kpi_conversation_facts")
    op.drop_index("ix_kpi_daily_brand_day", table_name="kpi_daily")
    op.drop_table("kpi_daily")
