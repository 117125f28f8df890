"""Account-safety records: every sign-in attempt, kept for throttling by account and by network
address and for telling a user about sign-ins from new places."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from tilsvar.models.base import Base, IdType, UTCDateTime, utcnow


class SignInAttempt(Base):
    """One password sign-in attempt (successful or not), by e-mail and client address."""

    __tablename__ = "sign_in_attempts"
    __table_args__ = (
        Index("ix_sign_in_attempts_email_at", "email", "at"),
        Index("ix_sign_in_attempts_ip_at", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    email: Mapped[str] = mapped_column(String(320))
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(400), default="")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    success: Mapped[bool] = mapped_column(default=False)
