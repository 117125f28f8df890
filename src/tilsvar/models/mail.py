"""What e-mail needs beyond a message row: where each mailbox's sync stands (UIDVALIDITY and the last
UID seen), the mail headers replies thread by, and the attachments kept on disk."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tilsvar.models.base import Base, IdType, UTCDateTime, utcnow
from tilsvar.models.sealed import SealedString


class EmailMailbox(Base):
    """The sync position of one IMAP mailbox of an e-mail channel.

    UIDs are only meaningful together with the mailbox's UIDVALIDITY: when the server reports another
    UIDVALIDITY the whole mailbox is read again, and messages already stored (same Message-ID) are
    recognised and skipped."""

    __tablename__ = "email_mailboxes"
    __table_args__ = (UniqueConstraint("channel_id", "mailbox"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    mailbox: Mapped[str] = mapped_column(String(200))
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    last_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    failures: Mapped[int] = mapped_column(default=0)


class EmailMessage(Base):
    """The mail headers of a stored e-mail message (inbound, or a reply we sent)."""

    __tablename__ = "email_messages"

    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    header_message_id: Mapped[str] = mapped_column(String(998))
    references: Mapped[str] = mapped_column(Text, default="")  # space-separated message ids
    subject: Mapped[str] = mapped_column(String(998), default="")
    # Contact details: encrypted at rest (tilsvar.models.sealed; docs/privacy.md).
    from_address: Mapped[str] = mapped_column(SealedString, default="")
    reply_to: Mapped[str] = mapped_column(SealedString, default="")
    to_addresses: Mapped[str] = mapped_column(SealedString, default="")
    # Where the quoted earlier mail starts in the message text (for folding it away); None: no quote.
    quote_start: Mapped[int | None] = mapped_column()
    was_html: Mapped[bool] = mapped_column(default=False)


class MessageAttachment(Base):
    """A file that came with a message, stored under ``<data dir>/attachments`` by content hash."""

    __tablename__ = "message_attachments"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(127))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    # Relative to the data dir; "" when the file was not kept (larger than the channel's limit).
    storage_path: Mapped[str] = mapped_column(String(500), default="")
    inline: Mapped[bool] = mapped_column(default=False)
    content_id: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
