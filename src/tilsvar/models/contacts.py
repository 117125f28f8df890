"""Customers: one contact, known on each platform by an identity (an author id there)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tilsvar.models.base import Base, IdType, UTCDateTime, utcnow
from tilsvar.models.sealed import SealedString


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Identity(Base):
    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("organization_id", "platform", "external_id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(32))
    # For a platform whose ids are personal contact data (e-mail): the blind index of the id, which
    # is itself in ``external_id_sealed`` (tilsvar.privacy.blind).
    external_id: Mapped[str] = mapped_column(String(320))
    external_id_sealed: Mapped[str | None] = mapped_column(SealedString, nullable=True, default=None)
    handle: Mapped[str] = mapped_column(String(320), default="")
    name: Mapped[str] = mapped_column(String(200), default="")
    # Reach as the platform last reported it (X followers); priority rises for large accounts.
    followers: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def platform_id(self) -> str:
        """The id on the platform (an e-mail identity's address, decrypted)."""
        return self.external_id_sealed if self.external_id_sealed is not None else self.external_id
