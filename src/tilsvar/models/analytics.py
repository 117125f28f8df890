"""The analytics read model: per-conversation KPI facts, hourly rollups, the event cursor that keeps
them current, wall-screen kiosk links and weekly-report schedules.

Facts and rollups are derived data (``tilsvar.reports.rollups`` maintains them from the domain-event
log and can rebuild them from scratch); nothing else writes them. Dimension columns use 0 / "" for
"none" so that they can be part of the rollup's primary key on both backends.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from tilsvar.models.base import Base, IdType, JsonType, UTCDateTime, utcnow

# 64-bit on PostgreSQL, plain INTEGER on SQLite (not an autoincrement id, just a wide number).
Position = BigInteger().with_variant(Integer(), "sqlite")


class KpiConversationFact(Base):
    """One row per conversation: its dimensions and what it contributes to every KPI (docs/kpis.md).

    ``hour`` is the UTC hour the conversation counts in: that of its first inbound message for an
    inquiry, of its first message otherwise. Exact percentiles read ``frt_minutes`` from here."""

    __tablename__ = "kpi_conversation_facts"
    __table_args__ = (
        Index("ix_kpi_conversation_facts_hour_brand", "hour", "brand_id"),
        Index("ix_kpi_conversation_facts_brand_hour", "brand_id", "hour"),
        # The daily rollup re-reads one (channel, day) at a time.
        Index("ix_kpi_conversation_facts_channel_hour", "channel_id", "hour"),
    )

    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    organization_id: Mapped[int] = mapped_column(Position)
    brand_id: Mapped[int] = mapped_column(Position)
    channel_id: Mapped[int] = mapped_column(Position)
    team_id: Mapped[int] = mapped_column(Position, default=0)
    agent_id: Mapped[int] = mapped_column(Position, default=0)
    language: Mapped[str] = mapped_column(String(8), default="")
    intent: Mapped[str] = mapped_column(String(16), default="")
    sentiment: Mapped[str] = mapped_column(String(8), default="")
    hour: Mapped[datetime] = mapped_column(UTCDateTime)
    is_inquiry: Mapped[bool] = mapped_column(default=False)
    first_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    frt_minutes: Mapped[float | None] = mapped_column(Float)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_minutes: Mapped[float | None] = mapped_column(Float)
    messages_in: Mapped[int] = mapped_column(default=0)
    messages_out: Mapped[int] = mapped_column(default=0)
    pii_messages: Mapped[int] = mapped_column(default=0)
    hidden_messages: Mapped[int] = mapped_column(default=0)
    flagged_messages: Mapped[int] = mapped_column(default=0)
    # From the workflow's tables: the conversation's latest CSAT survey (sent, and its rating, "" when
    # unanswered) and its SLA (None when no SLA policy measured it; True when breached or missed).
    csat_sent: Mapped[bool] = mapped_column(default=False)
    csat: Mapped[str] = mapped_column(String(8), default="")
    sla_breached: Mapped[bool | None] = mapped_column()


class KpiResponseFact(Base):
    """Next response times: one row per customer message that followed a reply and was answered."""

    __tablename__ = "kpi_response_facts"

    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    minutes: Mapped[float] = mapped_column(Float)


class KpiMeasures:
    """The summed measures both rollups keep per cell (hourly and daily)."""

    conversations: Mapped[int] = mapped_column(default=0)
    inquiries: Mapped[int] = mapped_column(default=0)
    answered: Mapped[int] = mapped_column(default=0)
    frt_sum_minutes: Mapped[float] = mapped_column(Float, default=0.0)
    resolved: Mapped[int] = mapped_column(default=0)
    resolution_sum_minutes: Mapped[float] = mapped_column(Float, default=0.0)
    messages_in: Mapped[int] = mapped_column(default=0)
    messages_out: Mapped[int] = mapped_column(default=0)
    pii_messages: Mapped[int] = mapped_column(default=0)
    pii_conversations: Mapped[int] = mapped_column(default=0)
    hidden_messages: Mapped[int] = mapped_column(default=0)
    flagged_messages: Mapped[int] = mapped_column(default=0)
    csat_sent: Mapped[int] = mapped_column(default=0)
    csat_happy: Mapped[int] = mapped_column(default=0)
    csat_neutral: Mapped[int] = mapped_column(default=0)
    csat_sad: Mapped[int] = mapped_column(default=0)
    sla_measured: Mapped[int] = mapped_column(default=0)
    sla_breached: Mapped[int] = mapped_column(default=0)


class KpiHourly(KpiMeasures, Base):
    """Sums of the facts per hour × brand × channel × team × agent (of first reply) × language × intent
    × sentiment. Every row is recomputed from the facts of its (hour, brand), never incremented."""

    __tablename__ = "kpi_hourly"

    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    brand_id: Mapped[int] = mapped_column(Position, primary_key=True, autoincrement=False)
    channel_id: Mapped[int] = mapped_column(Position, primary_key=True, autoincrement=False)
    team_id: Mapped[int] = mapped_column(Position, primary_key=True, autoincrement=False)
    agent_id: Mapped[int] = mapped_column(Position, primary_key=True, autoincrement=False)
    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    intent: Mapped[str] = mapped_column(String(16), primary_key=True)
    sentiment: Mapped[str] = mapped_column(String(8), primary_key=True)


class KpiDaily(KpiMeasures, Base):
    """The coarse rollup that totals, period comparisons and breakdowns read: per UTC day × brand ×
    channel × team, one row with ``dimension`` "" (the totals) and one row per value of each label
    dimension (``agent``, ``language``, ``intent``, ``sentiment``; agent ids as text), so a week is a
    few hundred rows whatever the traffic.

    The totals row also keeps, for exact percentiles, every first-response time and every next-response
    time of the cell's inquiries as sorted packed float64 values (``reports.rollups.pack``) and the
    oldest unanswered inquiry. Rows change by exact differences when a fact changes (time sums are
    kept in whole microseconds) and always equal a recomputation from the facts."""

    __tablename__ = "kpi_daily"
    __table_args__ = (Index("ix_kpi_daily_brand_day", "brand_id", "day"),)

    day: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    brand_id: Mapped[int] = mapped_column(Position, primary_key=True, autoincrement=False)
    channel_id: Mapped[int] = mapped_column(Position, primary_key=True, autoincrement=False)
    team_id: Mapped[int] = mapped_column(Position, primary_key=True, autoincrement=False)
    dimension: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(24), primary_key=True)
    # The time sums exactly, in microseconds (the minutes columns above are derived from them).
    frt_sum_us: Mapped[int] = mapped_column(BigInteger, default=0)
    resolution_sum_us: Mapped[int] = mapped_column(BigInteger, default=0)
    oldest_unanswered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    frt_values: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    next_values: Mapped[bytes] = mapped_column(LargeBinary, default=b"")


class AnalyticsCursor(Base):
    """How far a consumer of the domain-event log has read (``rollups``: the KPI engine)."""

    __tablename__ = "analytics_cursors"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(Position, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WallScreen(Base):
    """A read-only kiosk link for an office screen; only the SHA-256 of its token is stored."""

    __tablename__ = "wall_screens"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    boards: Mapped[list[str]] = mapped_column(JsonType, default=list)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ReportSchedule(Base):
    """A weekly report sent by e-mail: for one brand or the whole organisation, on a weekday and time
    in a time zone, to a list of recipients."""

    __tablename__ = "report_schedules"
    __table_args__ = (Index("ix_report_schedules_due", "enabled", "next_run_at"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    weekday: Mapped[int] = mapped_column(default=0)  # 0 Monday ... 6 Sunday
    time_of_day: Mapped[str] = mapped_column(String(5), default="08:00")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    recipients: Mapped[list[str]] = mapped_column(JsonType, default=list)
    formats: Mapped[list[str]] = mapped_column(JsonType, default=list)
    enabled: Mapped[bool] = mapped_column(default=True)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(String(1000), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    settings: Mapped[dict[str, Any] | None] = mapped_column(JsonType, default=dict)
