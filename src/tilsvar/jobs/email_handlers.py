"""The job that reads new mail from an e-mail channel's IMAP mailboxes (``email.sync``).

Each run connects, fetches what is new in every configured mailbox in batches (each batch stored by
one action, in one transaction, with the mailbox's new UIDVALIDITY and last UID), and schedules the
next run: this repeating job is the polling fallback, and the IDLE watcher (``email_watch``) moves the
next run forward when the server says new mail arrived. Unreachable servers are retried with backoff
by the job itself, so polling never dies; a refused password marks the channel "needs reconnect" and
is re-checked every 15 minutes (when it works again, the channel is restored).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from tilsvar.actions.mail import (
    RECONNECT_CHECK_SECONDS,
    do_record_email_sync_error,
    do_restore_channel,
    do_schedule_email_sync,
    do_store_mail_batch,
    poll_seconds,
)
from tilsvar.actions.org import channel_credentials
from tilsvar.actions.webhooks import do_mark_channel_needs_reconnect
from tilsvar.channels.email import (
    MailAuthError,
    MailConnectionError,
    ParsedMail,
    imap,
    parse_imap_url,
    parse_mail,
)
from tilsvar.db import Database
from tilsvar.jobs.queue import ClaimedJob
from tilsvar.jobs.worker import handler
from tilsvar.models import Channel, EmailMailbox, utcnow

log = logging.getLogger(__name__)
BATCH_SIZE = 50
DEFAULT_INITIAL_SYNC_DAYS = 30


@handler("email.sync")
def sync_email(database: Database, job: ClaimedJob) -> None:
    channel_id = int(job.payload["channel_id"])
    with database.reader() as session:
        channel = session.get(Channel, channel_id)
        if channel is None or channel.platform != "email" or channel.mode != "live":
            return  # removed, or the demo's simulated mailbox: nothing to poll
        config = dict(channel.config or {})
        account, status = channel.account, channel.status
        password = str(channel_credentials(channel).get("password") or "")
        positions = {
            row.mailbox: (row.uidvalidity, row.last_uid)
            for row in session.scalars(select(EmailMailbox).where(EmailMailbox.channel_id == channel_id))
        }
    mailboxes = [str(name) for name in config.get("mailboxes") or ["INBOX"]]
    try:
        client = imap.connect(parse_imap_url(str(config.get("imap_url") or "")), password)
    except MailAuthError as error:
        with database.session() as session:
            do_mark_channel_needs_reconnect(session, channel_id=channel_id, reason=str(error))
            do_schedule_email_sync(session, channel_id=channel_id, delay_seconds=RECONNECT_CHECK_SECONDS)
        return
    except (MailConnectionError, ValueError) as error:
        with database.session() as session:
            delay = do_record_email_sync_error(session, channel_id=channel_id, error=str(error))
        log.warning("e-mail channel %s: %s (next try in %.0f s)", channel_id, error, delay)
        return
    try:
        if status == "needs_reconnect":
            with database.session() as session:
                do_restore_channel(
                    session, channel_id=channel_id, reason="the IMAP server accepts the login again"
                )
        since_days = int(config.get("initial_sync_days") or DEFAULT_INITIAL_SYNC_DAYS)
        for mailbox in mailboxes:
            uidvalidity, last_uid = positions.get(mailbox, (None, 0))
            while True:
                batch = imap.fetch_new(
                    client,
                    mailbox=mailbox,
                    uidvalidity=uidvalidity,
                    last_uid=last_uid,
                    limit=BATCH_SIZE,
                    since=(utcnow() - timedelta(days=since_days)).date() if since_days > 0 else None,
                )
                parsed: list[tuple[int, ParsedMail]] = []
                failures: list[tuple[int, str, bytes]] = []
                for mail in batch.mails:
                    try:
                        parsed.append(
                            (mail.uid, parse_mail(mail.raw, account=account, received_at=mail.internal_date))
                        )
                    except Exception as error:  # one broken mail must not stop the mailbox
                        failures.append((mail.uid, f"{type(error).__name__}: {error}", mail.raw))
                with database.session() as session:
                    do_store_mail_batch(
                        session,
                        channel_id=channel_id,
                        mailbox=mailbox,
                        uidvalidity=batch.uidvalidity,
                        highest_uid=batch.highest_uid,
                        reset=batch.reset,
                        mails=parsed,
                        failures=failures,
                    )
                uidvalidity, last_uid = batch.uidvalidity, batch.highest_uid
                if batch.complete:
                    break
    except MailConnectionError as error:
        with database.session() as session:
            do_record_email_sync_error(session, channel_id=channel_id, error=str(error))
        return
    finally:
        imap.close(client)
    with database.session() as session:
        do_schedule_email_sync(session, channel_id=channel_id, delay_seconds=poll_seconds(config))
