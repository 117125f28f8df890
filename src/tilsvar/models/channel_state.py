"""What Tilsvar keeps about a channel's connection beyond its config: when the platform last
verified the webhook (handshake), the webhook's usual quietness and whether a "went quiet" alert is
out, and for polled platforms (YouTube) the poll position, the day's quota ledger and the next poll."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tilsvar.models.base import Base, JsonType, UTCDateTime, utcnow


class ChannelState(Base):
    __tablename__ = "channel_state"

    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True)
    last_handshake_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The usual gap between deliveries (recent history) and when the quiet alert was raised, if it is.
    usual_gap_seconds: Mapped[float | None] = mapped_column(Float)
    quiet_alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Polled platforms: where the poll stands, the quota day (Pacific date) and units used that day.
    poll_state: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    quota_day: Mapped[str] = mapped_column(String(10), default="")
    quota_used: Mapped[int] = mapped_column(default=0)
    last_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
