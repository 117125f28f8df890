"""Channel health and polling: ``channel_state`` (last webhook handshake, the usual gap between
deliveries and the quiet alert, YouTube's poll position and daily quota ledger) and an index on
``raw_events (channel_id, received_at)`` so "last event received" and the recent gaps per channel
are read from the index. Only a new table and a new index (the search triggers stay).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-24 01:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import tilsvar.models.base

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_state",
        sa.Column("channel_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("last_handshake_at", tilsvar.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("usual_gap_seconds", sa.Float(), nullable=True),
        sa.Column("quiet_alerted_at", tilsvar.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "poll_state",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("quota_day", sa.String(length=10), nullable=False),
        sa.Column("quota_used", sa.Integer(), nullable=False),
        sa.Column("last_poll_at", tilsvar.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("next_poll_at", tilsvar.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("updated_at", tilsvar.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name=op.f("fk_channel_state_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("channel_id", name=op.f("pk_channel_state")),
    )
    op.create_index("ix_raw_events_channel_received", "raw_events", ["channel_id", "received_at"])


def downgrade() -> None:
    op.drop_index("ix_raw_events_channel_received", table_name="raw_events")
    op.drop_table("channel_state")
