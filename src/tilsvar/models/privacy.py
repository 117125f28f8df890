"""Privacy records: what was erased or deleted when (counts and internal ids, never the data), the
retention policies and legal holds that govern automatic deletion, and need-to-know reveal requests
for masked personal data (docs/privacy.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, false, true
from sqlalchemy.orm import Mapped, mapped_column

from tilsvar.models.base import Base, IdType, JsonType, UTCDateTime, utcnow


class PrivacyDeletion(Base):
    """One erasure (data-subject request) or retention run: when, by whom, how much, which of our own
    ids — never the customer's text, names or platform ids."""

    __tablename__ = "privacy_deletions"
    __table_args__ = (Index("ix_privacy_deletions_org_at", "organization_id", "at"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # erasure | retention
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("retention_policies.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(200), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    counts: Mapped[dict[str, int]] = mapped_column(JsonType, default=dict)
    ids: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)


class RetentionPolicy(Base):
    """Delete or anonymise conversations ``days`` after resolution, or contacts inactive that long;
    optionally only for one brand, channel or conversation kind."""

    __tablename__ = "retention_policies"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200), default="")
    target: Mapped[str] = mapped_column(String(16))  # conversations | contacts
    action: Mapped[str] = mapped_column(String(16), default="delete")  # delete | anonymise
    days: Mapped[int] = mapped_column()
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id", ondelete="CASCADE"))
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    conversation_kind: Mapped[str | None] = mapped_column(String(16))
    enabled: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LegalHold(Base):
    """A conversation or contact that no retention policy may touch while the hold is active."""

    __tablename__ = "legal_holds"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(500), default="")
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RevealRequest(Base):
    """A user asked to see a conversation's masked personal data: approved at once when they have
    handled the customer before, otherwise by a supervisor; valid until ``expires_at``."""

    __tablename__ = "reveal_requests"
    __table_args__ = (Index("ix_reveal_requests_conversation_user", "conversation_id", "user_id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | approved | denied
    needed_approval: Mapped[bool] = mapped_column(default=False, server_default=false())
    decided_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
