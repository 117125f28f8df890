"""Social listening: monitors (keyword queries a brand polls a source for, e.g. X recent search) and
the mentions they found, which live in their own stream until an agent turns one into a
conversation (proactive outreach) or dismisses it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tilsvar.models.base import Base, IdType, UTCDateTime, utcnow


class Monitor(Base):
    __tablename__ = "monitors"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id", ondelete="CASCADE"), index=True)
    # The connected account whose credentials search with (and that converted mentions are answered from).
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(32), default="x_recent_search")
    query: Mapped[str] = mapped_column(String(1024))
    active: Mapped[bool] = mapped_column(default=True)
    poll_seconds: Mapped[int] = mapped_column(default=300)
    since_id: Mapped[str] = mapped_column(String(64), default="")
    last_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Mention(Base):
    __tablename__ = "mentions"
    __table_args__ = (
        UniqueConstraint("brand_id", "source", "external_id"),
        Index("ix_mentions_brand_status_found", "brand_id", "status", "found_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id", ondelete="CASCADE"))
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(128))
    thread_id: Mapped[str] = mapped_column(String(128), default="")
    author_id: Mapped[str] = mapped_column(String(128), default="")
    author_handle: Mapped[str] = mapped_column(String(200), default="")
    author_name: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(String(500), default="")
    lang: Mapped[str] = mapped_column(String(16), default="")
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    found_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # "new" → "converted" (a conversation exists) or "dismissed".
    status: Mapped[str] = mapped_column(String(16), default="new")
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id", ondelete="SET NULL"))
    handled_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
