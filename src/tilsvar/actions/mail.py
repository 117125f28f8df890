"""E-mail channel writes: connect a mailbox, store a synced batch of mail (messages through the one
ingest path, their headers and attachments, the mailbox's new sync position, in one transaction),
schedule the next sync, and record sync failures.

Attachments are written to ``<data dir>/attachments/<channel>/<sha256[:2]>/<sha256>`` before the
transaction commits; the name is the content hash, so a batch that rolls back and is synced again
writes the same file, and at worst an unreferenced file stays behind.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tilsvar.actions.common import ActionError, audit
from tilsvar.actions.ingest import do_ingest_messages, do_store_rejected_input
from tilsvar.actions.org import do_create_channel
from tilsvar.channels.email import MailAttachment, ParsedMail, parse_imap_url, parse_smtp_url
from tilsvar.events import ChannelStatusChanged, record_events
from tilsvar.jobs.queue import enqueue, wakeup
from tilsvar.models import (
    Brand,
    Channel,
    Conversation,
    EmailMailbox,
    EmailMessage,
    Job,
    Message,
    MessageAttachment,
    User,
    utcnow,
)
from tilsvar.settings import get_settings

log = logging.getLogger(__name__)
SYNC_JOB = "email.sync"
DEFAULT_POLL_SECONDS = 60.0
DEFAULT_MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024
RECONNECT_CHECK_SECONDS = 900.0


def do_connect_email_channel(
    session: Session,
    *,
    brand: Brand,
    account: str,
    imap_url: str,
    smtp_url: str,
    password: str,
    smtp_password: str | None = None,
    name: str | None = None,
    mode: str = "live",
    mailboxes: Sequence[str] = ("INBOX",),
    actor_user: User | None = None,
) -> Channel:
    """Connect a mailbox: check the URLs, store the password(s) encrypted, and schedule the first sync."""
    if "@" not in account:
        raise ActionError("an e-mail channel's account is its address, like support@example.org")
    try:
        parse_imap_url(imap_url)
        parse_smtp_url(smtp_url)
    except ValueError as error:
        raise ActionError(str(error)) from error
    if mode == "live" and not password:
        raise ActionError("an e-mail channel needs a password (--password-file)")
    credentials: dict[str, Any] = {"password": password}
    if smtp_password:
        credentials["smtp_password"] = smtp_password
    channel = do_create_channel(
        session,
        brand=brand,
        platform="email",
        account=account,
        name=name,
        mode=mode,
        credentials=credentials,
        config={"imap_url": imap_url, "smtp_url": smtp_url, "mailboxes": list(mailboxes)},
        actor_user=actor_user,
    )
    if mode == "live":
        do_schedule_email_sync(session, channel_id=channel.id)
    return channel


def do_schedule_email_sync(session: Session, *, channel_id: int, delay_seconds: float = 0.0) -> None:
    """Make sure a sync of the channel runs within ``delay_seconds``: move a queued sync forward, or
    queue one. A sync that is running now does not count (it may have read the mailbox already)."""
    run_at = utcnow() + timedelta(seconds=max(delay_seconds, 0.0))
    for job in session.scalars(
        select(Job).where(Job.kind == SYNC_JOB, Job.status == "queued").with_for_update()
    ):
        if int(job.payload.get("channel_id", -1)) == channel_id:
            if job.run_at > run_at:
                job.run_at = run_at
                if delay_seconds <= 0:
                    from tilsvar.db import on_commit

                    on_commit(session, wakeup.set)
            return
    enqueue(
        session,
        queue="inbound",
        kind=SYNC_JOB,
        payload={"channel_id": channel_id},
        run_at=run_at,
        max_attempts=3,
    )


def scheduled_syncs(session: Session) -> set[int]:
    """Channels with a sync queued or running."""
    return {
        int(payload.get("channel_id", -1))
        for payload in session.scalars(
            select(Job.payload).where(Job.kind == SYNC_JOB, Job.status.in_(("queued", "running")))
        )
    }


@dataclass(slots=True)
class MailSyncResult:
    stored: int = 0
    duplicates: int = 0
    skipped: list[str] = field(default_factory=list)
    rejected: int = 0
    already_synced: int = 0


def do_store_mail_batch(
    session: Session,
    *,
    channel_id: int,
    mailbox: str,
    uidvalidity: int,
    highest_uid: int,
    reset: bool,
    mails: Sequence[tuple[int, ParsedMail]],
    failures: Sequence[tuple[int, str, bytes]] = (),
) -> MailSyncResult:
    """Store one fetched batch of a mailbox and advance its sync position, in one transaction.

    Mail at or below the stored last UID (another sync got there first) is left alone; mail that
    is machine-made or our own is kept only as a rejected raw event with the reason; everything
    else goes through ``do_ingest_messages``, which drops Message-IDs already stored (a re-sync
    after a UIDVALIDITY change stores nothing twice)."""
    channel = session.get_one(Channel, channel_id)
    state = session.scalar(
        select(EmailMailbox)
        .where(EmailMailbox.channel_id == channel_id, EmailMailbox.mailbox == mailbox)
        .with_for_update()
    )
    if state is None:
        state = EmailMailbox(channel_id=channel_id, mailbox=mailbox, last_uid=0, last_error="", failures=0)
        session.add(state)
        session.flush()
    result = MailSyncResult()
    position = 0 if (reset or state.uidvalidity != uidvalidity) else state.last_uid
    if state.uidvalidity is not None and state.uidvalidity != uidvalidity:
        audit(
            session,
            action="email.uidvalidity_changed",
            actor="worker",
            organization_id=_organization_id(session, channel),
            target_type="channel",
            target_id=channel_id,
            details={"mailbox": mailbox, "old": state.uidvalidity, "new": uidvalidity},
        )
    fresh = [(uid, mail) for uid, mail in mails if uid > position]
    result.already_synced = len(mails) - len(fresh)
    customer = [(uid, mail) for uid, mail in fresh if not mail.skip_reason]
    skipped = [(uid, mail) for uid, mail in fresh if mail.skip_reason]
    rejected_items = [
        (f"{channel_id}:{mail.message_id}"[:400], _header_bytes(mail), f"skipped: {mail.skip_reason}")
        for _, mail in skipped
    ]
    rejected_items += [
        (f"{channel_id}:{mailbox}:{uidvalidity}:{uid}"[:400], raw[:65536], f"cannot parse: {error}")
        for uid, error, raw in failures
        if uid > position
    ]
    do_store_rejected_input(session, source="email", items=rejected_items, channel_id=channel_id)
    result.skipped = [mail.skip_reason for _, mail in skipped]
    result.rejected = len(failures)
    if customer:
        ingested = do_ingest_messages(
            session, messages=[mail.message for _, mail in customer], actor=f"email:{mailbox}"
        )
        result.stored = len(ingested.stored)
        result.duplicates = len(ingested.duplicates)
        limit = int(channel.config.get("max_attachment_bytes") or DEFAULT_MAX_ATTACHMENT_BYTES)
        for index, message_id in zip(ingested.stored_indexes, ingested.stored, strict=True):
            _store_details(
                session, channel=channel, message_id=message_id, mail=customer[index][1], limit=limit
            )
    state.uidvalidity = uidvalidity
    state.last_uid = max(highest_uid, position)
    state.last_synced_at = utcnow()
    state.last_error = ""
    state.failures = 0
    return result


def _organization_id(session: Session, channel: Channel) -> int | None:
    return session.scalar(select(Brand.organization_id).where(Brand.id == channel.brand_id))


def _header_bytes(mail: ParsedMail) -> bytes:
    return "".join(f"{key}: {value}\r\n" for key, value in mail.headers.items()).encode()


def _store_details(
    session: Session, *, channel: Channel, message_id: int, mail: ParsedMail, limit: int
) -> None:
    session.add(
        EmailMessage(
            message_id=message_id,
            header_message_id=mail.message_id,
            references=" ".join(mail.references),
            subject=mail.subject[:998],
            from_address=mail.from_address[:320],
            reply_to=mail.reply_to[:320],
            to_addresses=", ".join(mail.to_addresses),
            quote_start=mail.quote_start,
            was_html=mail.was_html,
        )
    )
    for attachment in mail.attachments:
        stored_path = ""
        if len(attachment.data) <= limit:
            stored_path = store_attachment_file(channel_id=channel.id, attachment=attachment)
        session.add(
            MessageAttachment(
                message_id=message_id,
                filename=attachment.filename,
                content_type=attachment.content_type,
                size=len(attachment.data),
                sha256=attachment.sha256,
                storage_path=stored_path,
                inline=attachment.inline,
                content_id=attachment.content_id,
            )
        )


def attachments_dir() -> Path:
    return get_settings().data_dir / "attachments"


def store_attachment_file(*, channel_id: int, attachment: MailAttachment) -> str:
    """Write the attachment under its content hash (once); return its path relative to the data dir.
    The file name on disk is only the hash: nothing the sender chose ever becomes part of a path."""
    digest = attachment.sha256
    relative = Path("attachments") / str(channel_id) / digest[:2] / digest
    target = get_settings().data_dir / relative
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(attachment.data)
            os.chmod(temporary, 0o640)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    return relative.as_posix()


def do_record_email_sync_error(
    session: Session, *, channel_id: int, error: str, retry_in_seconds: float | None = None
) -> float:
    """A sync could not reach the server: remember why and try again later, backing off up to an
    hour. Returns the delay chosen."""
    channel = session.get_one(Channel, channel_id)
    mailbox = str((channel.config.get("mailboxes") or ["INBOX"])[0])
    state = session.scalar(
        select(EmailMailbox).where(EmailMailbox.channel_id == channel_id, EmailMailbox.mailbox == mailbox)
    )
    if state is None:
        state = EmailMailbox(channel_id=channel_id, mailbox=mailbox, last_uid=0, failures=0, last_error="")
        session.add(state)
    state.failures = (state.failures or 0) + 1
    state.last_error = error[:2000]
    delay = retry_in_seconds
    if delay is None:
        delay = min(poll_seconds(channel.config) * 2 ** min(state.failures, 6), 3600.0)
    do_schedule_email_sync(session, channel_id=channel_id, delay_seconds=delay)
    return delay


def poll_seconds(config: dict[str, Any]) -> float:
    return float(config.get("poll_seconds") or DEFAULT_POLL_SECONDS)


def do_restore_channel(session: Session, *, channel_id: int, reason: str) -> None:
    """The platform accepts the channel's credentials again: clear "needs reconnect"."""
    channel = session.get_one(Channel, channel_id)
    if channel.status == "active":
        return
    channel.status = "active"
    channel.status_reason = ""
    organization_id = _organization_id(session, channel)
    record_events(
        session,
        [
            ChannelStatusChanged(
                organization_id=organization_id,
                brand_id=channel.brand_id,
                channel_id=channel.id,
                status="active",
                reason=reason[:500],
            )
        ],
    )
    audit(
        session,
        action="channel.restored",
        actor="worker",
        organization_id=organization_id,
        target_type="channel",
        target_id=channel.id,
        details={"reason": reason[:500]},
    )


def reply_context(
    session: Session,
    *,
    channel: Channel,
    conversation: Conversation,
    message: Message,
    in_reply_to: str | None,
) -> dict[str, Any]:
    """What an e-mail reply needs beyond the common fields: the subject, the References chain of the
    mail answered (plus that mail), where the customer asked replies to go, and whether the reply is
    automatic (``Auto-Submitted``). Empty for other platforms."""
    if channel.platform != "email":
        return {}
    context: dict[str, Any] = {"subject": conversation.subject, "is_automatic": message.is_automatic}
    if not in_reply_to:
        return context
    row = session.execute(
        select(EmailMessage.references, EmailMessage.subject, EmailMessage.reply_to)
        .join(Message, Message.id == EmailMessage.message_id)
        .where(Message.channel_id == channel.id, Message.external_id == in_reply_to)
    ).first()
    if row is None:
        context["references"] = [in_reply_to]
        return context
    references, subject, reply_to = row
    chain = [ref for ref in references.split() if ref]
    if in_reply_to not in chain:
        chain.append(in_reply_to)
    context["references"] = chain
    context["subject"] = subject or conversation.subject
    if reply_to:
        context["reply_to"] = reply_to
    return context
