"""Conversations (one reply chain, DM thread or mail thread) and the messages in them.

A conversation keeps the timestamps the inbox and the KPIs need (first inbound, first response,
waiting since ...) so that neither has to scan messages; ``actions.ingest`` keeps them right.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column

from tilsvar.models.base import Base, IdType, JsonType, UTCDateTime, utcnow

STATUSES = ("new", "open", "pending", "snoozed", "resolved", "closed")
DELIVERY_STATES = ("received", "queued", "sent", "failed")
# Who is waiting right now (the inbox's *Unanswered* view, the dashboard's "waiting now"). Written out
# literally so SQLite can match a query's condition to the partial index below (a bound parameter in
# the query would not match it).
OPEN_WAITING_SQL = "waiting_since IS NOT NULL AND status NOT IN ('resolved', 'closed')"


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        UniqueConstraint("channel_id", "thread_key"),
        Index("ix_conversations_waiting", "waiting_since"),
        Index("ix_conversations_last_message", "last_message_at"),
        Index("ix_conversations_first_inbound", "first_inbound_at"),
        # The inbox reads each brand's conversations in waiting or activity order (inbox.py).
        Index("ix_conversations_brand_waiting", "brand_id", "waiting_since", "id"),
        Index("ix_conversations_brand_last_message", "brand_id", "last_message_at", "id"),
        Index("ix_conversations_brand_priority", "brand_id", "priority_rank", "waiting_since", "id"),
        # Routing counts the open conversations of the agents a decision looks at (actions.routing).
        Index("ix_conversations_assignee_status", "assignee_id", "status"),
        # "Waiting now" and the oldest wait per brand, counted from this (small) index alone.
        Index(
            "ix_conversations_open_waiting",
            "brand_id",
            "waiting_since",
            "channel_id",
            "team_id",
            sqlite_where=text(OPEN_WAITING_SQL),
            postgresql_where=text(OPEN_WAITING_SQL),
        ),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id", ondelete="CASCADE"), index=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    # The platform id of the root message (or of the missing parent replies are waiting for).
    thread_key: Mapped[str] = mapped_column(String(320))
    kind: Mapped[str] = mapped_column(String(16))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="new")
    subject: Mapped[str] = mapped_column(String(300), default="")
    preview: Mapped[str] = mapped_column(String(300), default="")
    message_count: Mapped[int] = mapped_column(default=0)
    first_message_at: Mapped[datetime] = mapped_column(UTCDateTime)
    first_message_inbound: Mapped[bool] = mapped_column(default=True)
    first_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_outbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Oldest customer message not yet answered; None when the brand has the last word.
    waiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # From the understanding pipeline (actions/analysis.py): the highest priority of its messages
    # (rank: low 0, normal 1, high 2, urgent 3), the latest inbound message's labels, and flags.
    priority: Mapped[str] = mapped_column(String(8), default="normal", server_default="normal")
    priority_rank: Mapped[int] = mapped_column(default=1, server_default="1")
    intent: Mapped[str | None] = mapped_column(String(16))
    sentiment: Mapped[str | None] = mapped_column(String(8))
    language: Mapped[str | None] = mapped_column(String(8))
    pii_exposed: Mapped[bool] = mapped_column(default=False, server_default=false())
    flagged: Mapped[bool] = mapped_column(default=False, server_default=false())


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("channel_id", "external_id"),
        UniqueConstraint("channel_id", "idempotency_key"),
        Index("ix_messages_conversation_created", "conversation_id", "created_at"),
        # A person's messages (erasure, repeat-offender context) and the FK check when an identity goes.
        Index("ix_messages_author_identity", "author_identity_id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    # The platform's id; None for an outbound message until the platform has accepted it.
    external_id: Mapped[str | None] = mapped_column(String(320))
    in_reply_to: Mapped[str | None] = mapped_column(String(320))
    direction: Mapped[str] = mapped_column(String(3))
    kind: Mapped[str] = mapped_column(String(16))
    author_identity_id: Mapped[int | None] = mapped_column(ForeignKey("identities.id", ondelete="SET NULL"))
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author_name: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Automatic replies and surveys are outbound but never count as answers (KPIS.md).
    is_automatic: Mapped[bool] = mapped_column(default=False)
    delivery_state: Mapped[str] = mapped_column(String(16), default="received")
    delivery_error: Mapped[str] = mapped_column(String(1000), default="")
    delivery_attempts: Mapped[int] = mapped_column(default=0)
    # What the platform last told us about this message after it was stored: "edited", "removed",
    # "hidden", "unhidden" (customer messages), "delivered", "read" (our replies); "" when nothing.
    platform_state: Mapped[str] = mapped_column(String(16), default="")
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(8))
    analysis: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    intent: Mapped[str | None] = mapped_column(String(16))
    sentiment: Mapped[str | None] = mapped_column(String(8))
    sentiment_score: Mapped[float | None] = mapped_column(Float)
    priority: Mapped[str | None] = mapped_column(String(8))
    # Personal data found: ``redacted_text`` is what people see unless they may and do reveal it.
    has_pii: Mapped[bool] = mapped_column(default=False, server_default=false())
    redacted_text: Mapped[str | None] = mapped_column(Text)
    # The original text, AES-GCM encrypted (tilsvar.privacy.sealing), when it holds personal data;
    # ``text`` is then the redacted text. Read the original with ``sealing.open_text``.
    text_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The brand policy's decision (allow / flag / hide), and where carrying it out stands:
    # "" nothing to do, flagged, hide_pending, hidden, hide_failed, unhide_pending, restored.
    moderation_action: Mapped[str] = mapped_column(String(8), default="", server_default="")
    moderation_state: Mapped[str] = mapped_column(String(16), default="", server_default="")
    moderation_reason: Mapped[str] = mapped_column(String(300), default="", server_default="")
    # A comment's platform context, the post it was written under (tilsvar.channels.context): post id,
    # text (personal data redacted), author, time, link; None for anything else.
    context: Mapped[dict[str, Any] | None] = mapped_column(JsonType)


class Tag(Base):
    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))


class ConversationTag(Base):
    __tablename__ = "conversation_tags"

    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)


class ContactTag(Base):
    """A tag on the customer (e.g. vip, press, partner): routing rules ask for it with
    ``customer_tags`` whatever conversation the customer writes in."""

    __tablename__ = "contact_tags"
    __table_args__ = (Index("ix_contact_tags_tag", "tag_id"),)

    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)
