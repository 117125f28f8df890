"""Hear new mail at once: a worker-side watcher that keeps one IMAP IDLE connection per live e-mail
channel and, when the server reports new mail, moves that channel's next ``email.sync`` job to now.

It writes nothing itself except through ``do_schedule_email_sync``; the sync job does the reading and
storing. Every minute it also makes sure each live e-mail channel has a sync queued (so a sync job
that died is replaced) and starts or stops watchers as channels come and go. Without IDLE on the
server, or when this watcher is not running, the repeating sync job polls on its own.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import select

from tilsvar.actions.mail import do_schedule_email_sync, scheduled_syncs
from tilsvar.actions.org import channel_credentials
from tilsvar.channels.email import MailAuthError, MailConnectionError, imap, parse_imap_url
from tilsvar.db import Database
from tilsvar.models import Channel

log = logging.getLogger(__name__)
SUPERVISE_SECONDS = 60.0
IDLE_SECONDS = 600.0  # servers may drop IDLE after 30 minutes (RFC 2177): renew well before


class ChannelWatcher(threading.Thread):
    """IDLE on the first mailbox of one channel; request a sync whenever mail arrives."""

    def __init__(self, database: Database, *, channel_id: int) -> None:
        super().__init__(name=f"tilsvar-imap-idle-{channel_id}", daemon=True)
        self.database = database
        self.channel_id = channel_id
        self.halt = threading.Event()  # set to stop watching
        self.finished = threading.Event()  # set when the thread has nothing (more) to do
        self.idle_seconds = IDLE_SECONDS

    def run(self) -> None:
        failures = 0
        try:
            while not self.halt.is_set():
                try:
                    self._watch()
                    failures = 0
                except MailAuthError:
                    return  # the sync job marks the channel; watch again once it is restored
                except (MailConnectionError, ValueError) as error:
                    failures += 1
                    log.info("IMAP IDLE for channel %s: %s", self.channel_id, error)
                    self.halt.wait(min(5.0 * 2**failures, 300.0))
        finally:
            self.finished.set()

    def _watch(self) -> None:
        with self.database.reader() as session:
            channel = session.get(Channel, self.channel_id)
            if channel is None or channel.status != "active":
                self.halt.set()
                return
            config = dict(channel.config or {})
            password = str(channel_credentials(channel).get("password") or "")
        mailbox = str((config.get("mailboxes") or ["INBOX"])[0])
        client = imap.connect(parse_imap_url(str(config.get("imap_url") or "")), password)
        try:
            try:
                client.select_folder(mailbox, readonly=True)
            except Exception as error:
                raise MailConnectionError(f"{mailbox}: {error}") from error
            if not imap.supports_idle(client):
                self.halt.set()  # the repeating sync job polls this server
                return
            while not self.halt.is_set():
                if imap.idle_until_mail(client, stop=self.halt, max_seconds=self.idle_seconds):
                    with self.database.session() as session:
                        do_schedule_email_sync(session, channel_id=self.channel_id)
        finally:
            imap.close(client)


class MailWatcher(threading.Thread):
    """Starts a ``ChannelWatcher`` per live, active e-mail channel with ``idle`` not turned off."""

    def __init__(self, database: Database, stop: threading.Event) -> None:
        super().__init__(name="tilsvar-mail-watcher", daemon=True)
        self.database = database
        self.stop = stop
        self.watchers: dict[int, ChannelWatcher] = {}

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.supervise()
            except Exception:
                log.exception("mail watcher failed; trying again")
            self.stop.wait(SUPERVISE_SECONDS)
        for watcher in self.watchers.values():
            watcher.halt.set()
        for watcher in self.watchers.values():
            watcher.join(timeout=10)

    def supervise(self) -> None:
        with self.database.reader() as session:
            channels = list(
                session.execute(
                    select(Channel.id, Channel.status, Channel.config).where(
                        Channel.platform == "email", Channel.mode == "live"
                    )
                )
            )
            scheduled = scheduled_syncs(session)
        missing = [channel_id for channel_id, _, _ in channels if channel_id not in scheduled]
        if missing:
            with self.database.session() as session:
                for channel_id in missing:
                    do_schedule_email_sync(session, channel_id=channel_id)
        for channel_id, status, config in channels:
            watcher = self.watchers.get(channel_id)
            wanted = status == "active" and (config or {}).get("idle", True)
            if wanted and (watcher is None or watcher.finished.is_set()):
                watcher = ChannelWatcher(self.database, channel_id=channel_id)
                self.watchers[channel_id] = watcher
                watcher.start()
            elif not wanted and watcher is not None:
                watcher.halt.set()


def start_mail_watcher(database: Database, stop: threading.Event) -> MailWatcher:
    watcher = MailWatcher(database, stop)
    watcher.start()
    return watcher
