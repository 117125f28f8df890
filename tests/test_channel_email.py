"""E-mail channel against real servers: a throwaway Dovecot IMAP server (Debian's dovecot-imapd, run
unprivileged on a free loopback port with its own config, passwd-file and maildirs in a temporary
folder; mail is delivered by IMAP APPEND) and an in-process aiosmtpd SMTP server that captures what we
send. Covers sync, UIDVALIDITY changes, IDLE, threading, HTML, attachments, machine mail, replies,
retries and authentication failures. Parsing helpers have plain unit tests at the end."""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from imapclient import IMAPClient
from sqlalchemy import select
from typer.testing import CliRunner

from tilsvar import cli
from tilsvar.actions.mail import do_connect_email_channel
from tilsvar.actions.org import channel_credentials
from tilsvar.channels.base import OutboundReply
from tilsvar.channels.email import build_reply, html_to_text, parse_mail, quote_start, safe_filename
from tilsvar.db import Database
from tilsvar.jobs.email_watch import ChannelWatcher
from tilsvar.models import (
    AuditEntry,
    Brand,
    Channel,
    Conversation,
    EmailMailbox,
    Job,
    Message,
    MessageAttachment,
    RawEvent,
    utcnow,
)
from tilsvar.models import (
    EmailMessage as EmailRow,
)
from tilsvar.settings import Settings
from webhook_support import channel as load_channel
from webhook_support import messages

from conftest import Seeded
from helpers import auth

DOVECOT = Path("/usr/sbin/dovecot")
ACCOUNT = "support@nordicrail.example"
CUSTOMER = "ola@kunde.example"

needs_dovecot = pytest.mark.skipif(
    not DOVECOT.exists(), reason="Debian dovecot-imapd is not installed (scripts/ensure-dovecot.sh)"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- a throwaway Dovecot ------------------------------------------------------------------------


@dataclass
class Dovecot:
    root: Path
    port: int
    passwd: Path

    def add_user(self, user: str, password: str) -> None:
        # One passwd-file per user (Dovecot expands %u in the path): no cache to go stale.
        (self.passwd / user).write_text(f"{user}:{{PLAIN}}{password}::::::\n")
        if os.geteuid() == 0:
            owner = self.passwd.stat()
            os.chown(self.passwd / user, owner.st_uid, owner.st_gid)

    def client(self, user: str, password: str) -> IMAPClient:
        imap = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=10)
        imap.login(user, password)
        return imap


def _dovecot_config(root: Path, port: int, user: str, group: str) -> str:
    return f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd/%u
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/passwd/%u
}}
mail_location = maildir:{root}/mail/%u
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0600
  }}
  unix_listener stats-writer {{
    mode = 0600
  }}
}}
"""


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    """Dovecot as an unprivileged user (``nobody`` when the tests run as root, since Dovecot's login
    processes refuse to run as root), plaintext login on loopback only, maildirs in a temp folder."""
    if not DOVECOT.exists():
        pytest.skip("Debian dovecot-imapd is not installed (scripts/ensure-dovecot.sh)")
    root = Path(tempfile.mkdtemp(prefix="tilsvar-dovecot-"))
    port = _free_port()
    as_root = os.geteuid() == 0
    if as_root:
        account = pwd.getpwnam("nobody")
        user, uid, gid = "nobody", account.pw_uid, account.pw_gid
    else:
        user, uid, gid = pwd.getpwuid(os.geteuid()).pw_name, os.geteuid(), os.getegid()
    import grp

    group = grp.getgrgid(gid).gr_name
    for folder in ("run", "state", "mail", "passwd"):
        (root / folder).mkdir()
    (root / "dovecot.conf").write_text(_dovecot_config(root, port, user, group))
    if as_root:
        for path in [root, *root.rglob("*")]:
            os.chown(path, uid, gid)
    process = subprocess.Popen(
        [str(DOVECOT), "-F", "-c", str(root / "dovecot.conf")],
        user=uid if as_root else None,
        group=gid if as_root else None,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                error = process.stderr.read().decode() if process.stderr else ""
                log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
                process.kill()
                shutil.rmtree(root, ignore_errors=True)
                pytest.fail(f"Dovecot did not start: {error} {log}")
            time.sleep(0.1)
    yield Dovecot(root=root, port=port, passwd=root / "passwd")
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stderr:
        process.stderr.close()
    shutil.rmtree(root, ignore_errors=True)


# --- an in-process SMTP server ------------------------------------------------------------------


@dataclass
class SmtpServer:
    port: int
    received: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    rcpt_answer: str | None = None  # e.g. "450 mailbox busy" to refuse recipients
    password: str = "smtp-pass"

    def messages(self) -> list[EmailMessage]:
        parsed = []
        for _, _, data in self.received:
            message = BytesParser(policy=default_policy).parsebytes(data)
            assert isinstance(message, EmailMessage)
            parsed.append(message)
        return parsed


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(
        self, _server: Any, _session: Any, envelope: Any, address: str, _options: Any
    ) -> str:
        if self.server.rcpt_answer:
            return self.server.rcpt_answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        self.server.received.append((envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    server = SmtpServer(port=_free_port())

    def authenticate(_server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any) -> AuthResult:
        ok = data.login == b"box" and data.password == server.password.encode()
        return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd answers 535

    controller = Controller(
        _Handler(server),
        hostname="127.0.0.1",
        port=server.port,
        authenticator=authenticate,
        auth_require_tls=False,
    )
    controller.start()
    yield server
    controller.stop()


# --- helpers ------------------------------------------------------------------------------------


@dataclass
class Mailbox:
    dovecot: Dovecot
    user: str
    password: str
    channel_id: int

    def append(self, mail: EmailMessage | bytes, folder: str = "INBOX") -> None:
        raw = mail if isinstance(mail, bytes) else mail.as_bytes()
        with self.imap() as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            client.append(folder, raw)

    def imap(self) -> IMAPClient:
        return self.dovecot.client(self.user, self.password)


def _connect_mailbox(
    database: Database,
    seeded: Seeded,
    dovecot: Dovecot,
    *,
    smtp_port: int = 25,
    folders: tuple[str, ...] = ("INBOX",),
    password: str | None = None,
) -> Mailbox:
    user = f"box{secrets.token_hex(4)}"
    real_password = f"pw-{secrets.token_hex(6)}"
    dovecot.add_user(user, real_password)
    with database.session() as session:
        channel = do_connect_email_channel(
            session,
            brand=session.get_one(Brand, seeded.rail.id),
            account=ACCOUNT,
            imap_url=f"imap://{user}@127.0.0.1:{dovecot.port}",
            smtp_url=f"smtp://box@127.0.0.1:{smtp_port}",
            password=password or real_password,
            smtp_password="smtp-pass",
            mailboxes=folders,
        )
        return Mailbox(dovecot=dovecot, user=user, password=real_password, channel_id=channel.id)


def mail(
    text: str,
    *,
    subject: str = "Refusion af billet",
    sender: str = f"Ola Nordmann <{CUSTOMER}>",
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: list[str] | None = None,
    headers: dict[str, str] | None = None,
    html: str | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ACCOUNT
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = message_id or make_msgid(domain="kunde.example")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = " ".join(references)
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def stored(database: Database, channel_id: int) -> dict[str, Message]:
    return {str(row.external_id): row for row in messages(database, channel_id)}


def skipped_reasons(database: Database, channel_id: int) -> list[str]:
    with database.reader() as session:
        return [
            row.error
            for row in session.scalars(
                select(RawEvent).where(RawEvent.source == "email", RawEvent.channel_id == channel_id)
            )
        ]


RunJobs = Callable[[], int]


# --- IMAP sync ----------------------------------------------------------------------------------


@needs_dovecot
def test_sync_stores_new_mail_once_with_its_headers_and_position(
    database: Database, seeded: Seeded, dovecot: Dovecot, run_jobs: RunJobs
) -> None:
    box = _connect_mailbox(database, seeded, dovecot)
    first = mail("Hej, mit tog var aflyst. Kan jeg få pengene tilbage?", message_id="<first@kunde.example>")
    box.append(first)
    run_jobs()

    rows = stored(database, box.channel_id)
    assert set(rows) == {"<first@kunde.example>"}
    message = rows["<first@kunde.example>"]
    assert message.kind == "email"
    assert message.text.startswith("Hej, mit tog var aflyst")
    with database.reader() as session:
        conversation = session.get_one(Conversation, message.conversation_id)
        assert conversation.subject == "Refusion af billet"
        header = session.get_one(EmailRow, message.id)
        assert header.from_address == CUSTOMER
        state = session.scalars(select(EmailMailbox).where(EmailMailbox.channel_id == box.channel_id)).one()
        assert state.last_uid == 1
        assert state.uidvalidity is not None
        # The next sync is scheduled (the polling fallback), not due yet.
        job = session.scalars(select(Job).where(Job.kind == "email.sync", Job.status == "queued")).one()
        assert job.run_at > utcnow()
    # The mail was read with BODY.PEEK: it is still unread for people who use the mailbox too.
    with box.imap() as client:
        client.select_folder("INBOX")
        assert b"\\Seen" not in client.get_flags([1])[1]

    # A second sync stores only what is new.
    box.append(mail("Og hvad med min returbillet?", message_id="<second@kunde.example>"))
    with database.session() as session:
        session.execute(
            Job.__table__.update().where(Job.kind == "email.sync").values(run_at=utcnow())  # type: ignore[attr-defined]
        )
    run_jobs()
    assert set(stored(database, box.channel_id)) == {"<first@kunde.example>", "<second@kunde.example>"}


@needs_dovecot
def test_a_reply_chain_is_one_conversation_even_with_a_mail_missing(
    database: Database, seeded: Seeded, dovecot: Dovecot, run_jobs: RunJobs
) -> None:
    box = _connect_mailbox(database, seeded, dovecot)
    root = "<root@kunde.example>"
    box.append(mail("Mit tog var forsinket.", message_id=root))
    box.append(
        mail(
            "Se venligst min mail igen.",
            subject="Re: Refusion af billet",
            message_id="<second@kunde.example>",
            in_reply_to=root,
            references=[root],
        )
    )
    # The third names a middle mail this mailbox never saw; References still leads to the root.
    box.append(
        mail(
            "Stadig intet svar?\n\nOn Tue, 3 Nov 2026 Ola wrote:\n> Se venligst min mail igen.\n",
            subject="Re: Refusion af billet",
            message_id="<third@kunde.example>",
            in_reply_to="<never-seen@kunde.example>",
            references=[root, "<never-seen@kunde.example>"],
        )
    )
    box.append(mail("Et helt andet spørgsmål", subject="Cykel i toget", message_id="<other@kunde.example>"))
    run_jobs()

    rows = stored(database, box.channel_id)
    thread = {rows[key].conversation_id for key in ("<root@kunde.example>", "<second@kunde.example>")}
    thread.add(rows["<third@kunde.example>"].conversation_id)
    assert len(thread) == 1
    assert rows["<other@kunde.example>"].conversation_id not in thread
    with database.reader() as session:
        third = session.get_one(EmailRow, rows["<third@kunde.example>"].id)
        # Quoted text is kept, and where it starts is recorded so the UI can fold it.
        text = rows["<third@kunde.example>"].text
        assert third.quote_start is not None
        assert text[third.quote_start :].startswith("On Tue, 3 Nov 2026 Ola wrote:")
        assert "> Se venligst" in text


@needs_dovecot
def test_html_mail_becomes_safe_text_and_attachments_are_stored(
    database: Database, seeded: Seeded, dovecot: Dovecot, run_jobs: RunJobs, settings: Settings
) -> None:
    box = _connect_mailbox(database, seeded, dovecot)
    html_only = EmailMessage()
    html_only["From"] = CUSTOMER
    html_only["To"] = ACCOUNT
    html_only["Subject"] = "Billet"
    html_only["Message-ID"] = "<html@kunde.example>"
    html_only.set_content(
        "<html><head><style>p{color:red}</style><script>alert('x')</script></head><body>"
        "<p>Hej <b>Nordic Rail</b>,</p><p onclick=\"steal()\">Min billet: <a href='javascript:evil()'>"
        "her</a></p><ul><li>Odense</li><li>Aarhus</li></ul><img src=x onerror=alert(1)></body></html>",
        subtype="html",
    )
    box.append(html_only)
    pdf = b"%PDF-1.4 fake ticket \x00\x01\x02"
    with_file = mail("Billetten er vedhæftet.", message_id="<file@kunde.example>")
    with_file.add_attachment(pdf, maintype="application", subtype="pdf", filename="../../etc/Billet 1.pdf")
    box.append(with_file)
    run_jobs()

    rows = stored(database, box.channel_id)
    text = rows["<html@kunde.example>"].text
    assert "Hej Nordic Rail" in text
    assert "Odense" in text
    assert "Aarhus" in text
    for unsafe in ("alert", "script", "steal", "javascript", "color:red", "<"):
        assert unsafe not in text
    with database.reader() as session:
        assert session.get_one(EmailRow, rows["<html@kunde.example>"].id).was_html
        attachment = session.scalars(
            select(MessageAttachment).where(MessageAttachment.message_id == rows["<file@kunde.example>"].id)
        ).one()
    assert attachment.filename == "Billet 1.pdf"
    assert attachment.content_type == "application/pdf"
    assert attachment.size == len(pdf)
    path = settings.data_dir / attachment.storage_path
    assert path.read_bytes() == pdf
    assert path.resolve().is_relative_to((settings.data_dir / "attachments").resolve())
    assert path.name == attachment.sha256


@needs_dovecot
def test_auto_replies_bounces_list_mail_and_our_own_mail_are_never_customer_messages(
    database: Database, seeded: Seeded, dovecot: Dovecot, run_jobs: RunJobs
) -> None:
    box = _connect_mailbox(database, seeded, dovecot)
    box.append(
        mail("Jeg er på ferie.", message_id="<ooo@kunde.example>", headers={"Auto-Submitted": "auto-replied"})
    )
    box.append(mail("Nyhedsbrev", message_id="<bulk@kunde.example>", headers={"Precedence": "bulk"}))
    box.append(mail("Liste", message_id="<list@kunde.example>", headers={"List-Id": "<news.kunde.example>"}))
    bounce = (
        b"From: MAILER-DAEMON@mx.kunde.example\r\nTo: " + ACCOUNT.encode() + b"\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <bounce@mx.kunde.example>\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n'
        b"--b1\r\nContent-Type: text/plain\r\n\r\nThis is the mail system at mx.kunde.example.\r\n"
        b"--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.kunde.example\r\n"
        b"\r\nFinal-Recipient: rfc822; x@kunde.example\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        b"--b1--\r\n"
    )
    box.append(bounce)
    box.append(mail("Vores eget svar", sender=ACCOUNT, message_id="<tilsvar.abc@nordicrail.example>"))
    box.append(
        mail("Explicitly not automatic", message_id="<human@kunde.example>", headers={"Auto-Submitted": "no"})
    )
    run_jobs()

    assert set(stored(database, box.channel_id)) == {"<human@kunde.example>"}
    reasons = " | ".join(skipped_reasons(database, box.channel_id))
    for expected in (
        "Auto-Submitted: auto-replied",
        "Precedence: bulk",
        "List-Id",
        "bounce",
        "our own reply",
    ):
        assert expected in reasons
    with database.reader() as session:
        state = session.scalars(select(EmailMailbox).where(EmailMailbox.channel_id == box.channel_id)).one()
        assert state.last_uid == 6  # skipped mail is not read again


@needs_dovecot
def test_a_changed_uidvalidity_resyncs_without_duplicates(
    database: Database, seeded: Seeded, dovecot: Dovecot, run_jobs: RunJobs
) -> None:
    box = _connect_mailbox(database, seeded, dovecot, folders=("Support",))
    one = mail("Første", message_id="<one@kunde.example>")
    two = mail("Anden", message_id="<two@kunde.example>")
    box.append(one, folder="Support")
    box.append(two, folder="Support")
    run_jobs()
    with database.reader() as session:
        before = session.scalars(select(EmailMailbox).where(EmailMailbox.channel_id == box.channel_id)).one()
    assert set(stored(database, box.channel_id)) == {"<one@kunde.example>", "<two@kunde.example>"}

    # The folder is recreated (as after a server migration): new UIDVALIDITY, UIDs start again at 1.
    with box.imap() as client:
        client.delete_folder("Support")
        client.create_folder("Support")
    box.append(two, folder="Support")
    box.append(mail("Tredje", message_id="<three@kunde.example>"), folder="Support")
    box.append(one, folder="Support")
    with database.session() as session:
        session.execute(
            Job.__table__.update().where(Job.kind == "email.sync").values(run_at=utcnow())  # type: ignore[attr-defined]
        )
    run_jobs()

    rows = messages(database, box.channel_id)
    assert sorted(str(row.external_id) for row in rows) == [
        "<one@kunde.example>",
        "<three@kunde.example>",
        "<two@kunde.example>",
    ]
    with database.reader() as session:
        after = session.scalars(select(EmailMailbox).where(EmailMailbox.channel_id == box.channel_id)).one()
        audits = list(
            session.scalars(select(AuditEntry).where(AuditEntry.action == "email.uidvalidity_changed"))
        )
    assert after.uidvalidity != before.uidvalidity
    assert after.last_uid == 3
    assert len(audits) == 1


@needs_dovecot
def test_idle_wakes_the_sync_when_mail_arrives(
    database: Database, seeded: Seeded, dovecot: Dovecot, run_jobs: RunJobs
) -> None:
    box = _connect_mailbox(database, seeded, dovecot)
    run_jobs()  # first sync: empty; the next poll is a minute away

    watcher = ChannelWatcher(database, channel_id=box.channel_id)
    watcher.start()
    try:
        time.sleep(0.5)  # let it log in and enter IDLE
        box.append(mail("Er der wifi i toget?", message_id="<idle@kunde.example>"))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with database.reader() as session:
                due = session.scalars(
                    select(Job).where(
                        Job.kind == "email.sync", Job.status == "queued", Job.run_at <= utcnow()
                    )
                ).first()
            if due is not None:
                break
            time.sleep(0.1)
        else:
            pytest.fail("IDLE did not wake the sync")
    finally:
        watcher.halt.set()
        watcher.join(timeout=10)
    assert not watcher.is_alive()
    run_jobs()
    assert "<idle@kunde.example>" in stored(database, box.channel_id)


@needs_dovecot
def test_a_wrong_imap_password_marks_the_channel_for_reconnection(
    database: Database, seeded: Seeded, dovecot: Dovecot, run_jobs: RunJobs
) -> None:
    box = _connect_mailbox(database, seeded, dovecot, password="wrong-password")
    run_jobs()
    channel = load_channel(database, box.channel_id)
    assert channel.status == "needs_reconnect"
    assert "refused the login" in channel.status_reason
    with database.reader() as session:
        job = session.scalars(select(Job).where(Job.kind == "email.sync", Job.status == "queued")).one()
    assert (job.run_at - utcnow()).total_seconds() > 600  # checked again later, not hammered


@needs_dovecot
def test_an_unreachable_server_is_retried_later_without_killing_the_poll(
    database: Database, seeded: Seeded, run_jobs: RunJobs, dovecot: Dovecot
) -> None:
    with database.session() as session:
        channel = do_connect_email_channel(
            session,
            brand=session.get_one(Brand, seeded.rail.id),
            account="other@nordicrail.example",
            imap_url=f"imap://nobody@127.0.0.1:{_free_port()}",
            smtp_url="smtp://nobody@127.0.0.1:25",
            password="x",
        )
        channel_id = channel.id
    run_jobs()
    with database.reader() as session:
        state = session.scalars(select(EmailMailbox).where(EmailMailbox.channel_id == channel_id)).one()
        jobs = list(session.scalars(select(Job).where(Job.kind == "email.sync")))
    assert "cannot reach" in state.last_error
    assert state.failures == 1
    assert [job.status for job in jobs].count("queued") == 1
    assert not any(job.status == "dead" for job in jobs)
    assert load_channel(database, channel_id).status == "active"


# --- replies over SMTP --------------------------------------------------------------------------


def _customer_conversation(database: Database, box: Mailbox, run_jobs: RunJobs) -> int:
    root = "<root-r@kunde.example>"
    box.append(mail("Hvornår kommer refusionen?", message_id=root))
    box.append(
        mail(
            "Jeg venter stadig.",
            subject="Re: Refusion af billet",
            message_id="<again@kunde.example>",
            in_reply_to=root,
            references=[root],
            headers={"Reply-To": "Ola Privat <ola.privat@kunde.example>"},
        )
    )
    run_jobs()
    return stored(database, box.channel_id)[root].conversation_id


@needs_dovecot
def test_a_reply_goes_out_by_smtp_threaded_and_filed_in_sent(
    database: Database,
    seeded: Seeded,
    dovecot: Dovecot,
    smtp_server: SmtpServer,
    client: TestClient,
    run_jobs: RunJobs,
) -> None:
    box = _connect_mailbox(database, seeded, dovecot, smtp_port=smtp_server.port)
    conversation_id = _customer_conversation(database, box, run_jobs)
    response = client.post(
        f"/api/v1/conversations/{conversation_id}/replies",
        json={"text": "Refusionen er sendt i dag.\n\nVenlig hilsen\nNordic Rail"},
        headers=auth(seeded.admin_token),
    )
    assert response.status_code == 202, response.text
    run_jobs()

    assert len(smtp_server.received) == 1
    sender, recipients, _ = smtp_server.received[0]
    assert sender == ACCOUNT
    assert recipients == ["ola.privat@kunde.example"]  # the customer's Reply-To
    sent = smtp_server.messages()[0]
    assert sent["Subject"] == "Re: Refusion af billet"
    assert sent["In-Reply-To"] == "<again@kunde.example>"
    assert sent["References"] == "<root-r@kunde.example> <again@kunde.example>"
    assert sent["Auto-Submitted"] is None  # a person wrote it
    assert sent.get_content().strip().startswith("Refusionen er sendt i dag.")
    reply = next(row for row in messages(database, box.channel_id) if row.direction == "out")
    assert reply.delivery_state == "sent"
    assert reply.external_id == sent["Message-ID"]
    assert str(reply.external_id).startswith("<tilsvar.")
    with box.imap() as imap:
        imap.select_folder("Sent", readonly=True)
        assert imap.search(["HEADER", "Message-ID", str(reply.external_id)])

    # The customer answers our reply: it threads into the same conversation, and our own copy in the
    # inbox (some servers deliver one) is skipped.
    box.append(
        mail(
            "Tak!",
            subject="Re: Refusion af billet",
            message_id="<thanks@kunde.example>",
            in_reply_to=str(reply.external_id),
            references=["<root-r@kunde.example>", "<again@kunde.example>", str(reply.external_id)],
        )
    )
    box.append(sent)
    with database.session() as session:
        session.execute(
            Job.__table__.update().where(Job.kind == "email.sync").values(run_at=utcnow())  # type: ignore[attr-defined]
        )
    run_jobs()
    rows = stored(database, box.channel_id)
    assert rows["<thanks@kunde.example>"].conversation_id == conversation_id
    assert len([row for row in rows.values() if row.direction == "out"]) == 1


def test_an_automatic_reply_carries_auto_submitted() -> None:
    reply = OutboundReply(
        platform="email",
        account=ACCOUNT,
        kind="email",
        text="Vi har modtaget din mail.",
        thread_key="<a@b>",
        in_reply_to="<a@b>",
        recipient_id=CUSTOMER,
        last_inbound_at=None,
        idempotency_key="k1",
        credentials={},
        config={},
        extra={"subject": "Hjælp", "is_automatic": True},
    )
    built = build_reply(reply, message_id="<tilsvar.k1@nordicrail.example>")
    assert built["Auto-Submitted"] == "auto-replied"
    assert built["Subject"] == "Re: Hjælp"
    assert built["In-Reply-To"] == "<a@b>"
    assert built["References"] == "<a@b>"


@needs_dovecot
def test_a_retry_after_a_crash_does_not_send_the_reply_twice(
    database: Database,
    seeded: Seeded,
    dovecot: Dovecot,
    smtp_server: SmtpServer,
    client: TestClient,
    run_jobs: RunJobs,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    box = _connect_mailbox(database, seeded, dovecot, smtp_port=smtp_server.port)
    conversation_id = _customer_conversation(database, box, run_jobs)
    client.post(
        f"/api/v1/conversations/{conversation_id}/replies",
        json={"text": "Vi kigger på det."},
        headers=auth(seeded.admin_token),
    )
    # The worker "dies" after the SMTP server accepted the mail but before the delivery was recorded.
    from tilsvar.actions.replies import do_record_delivery as original
    from tilsvar.jobs import handlers

    calls = {"n": 0}

    def crash_once(session: Any, **kwargs: Any) -> bool:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("worker died")
        return original(session, **kwargs)

    monkeypatch.setattr(handlers, "do_record_delivery", crash_once)
    run_jobs()  # attempt 1 sends and crashes; attempt 2 finds the reply in Sent and records it

    assert calls["n"] == 2
    assert len(smtp_server.received) == 1
    reply = next(row for row in messages(database, box.channel_id) if row.direction == "out")
    assert reply.delivery_state == "sent"
    assert reply.external_id == smtp_server.messages()[0]["Message-ID"]


@needs_dovecot
@pytest.mark.parametrize(
    ("answer", "attempts", "state"),
    [("450 4.2.1 Mailbox busy, try later", 8, "failed"), ("550 5.1.1 No such user here", 1, "failed")],
)
def test_smtp_4xx_is_retried_and_5xx_fails_at_once_with_the_reason(
    database: Database,
    seeded: Seeded,
    dovecot: Dovecot,
    smtp_server: SmtpServer,
    client: TestClient,
    run_jobs: RunJobs,
    answer: str,
    attempts: int,
    state: str,
) -> None:
    box = _connect_mailbox(database, seeded, dovecot, smtp_port=smtp_server.port)
    conversation_id = _customer_conversation(database, box, run_jobs)
    smtp_server.rcpt_answer = answer
    client.post(
        f"/api/v1/conversations/{conversation_id}/replies",
        json={"text": "Svar"},
        headers=auth(seeded.admin_token),
    )
    run_jobs()
    reply = next(row for row in messages(database, box.channel_id) if row.direction == "out")
    assert reply.delivery_state == state
    assert reply.delivery_attempts == attempts
    assert answer.split(" ", 1)[1] in reply.delivery_error
    assert smtp_server.received == []
    assert load_channel(database, box.channel_id).status == "active"


@needs_dovecot
def test_a_refused_smtp_login_fails_the_reply_and_marks_the_channel_for_reconnection(
    database: Database,
    seeded: Seeded,
    dovecot: Dovecot,
    smtp_server: SmtpServer,
    client: TestClient,
    run_jobs: RunJobs,
) -> None:
    box = _connect_mailbox(database, seeded, dovecot, smtp_port=smtp_server.port)
    conversation_id = _customer_conversation(database, box, run_jobs)
    smtp_server.password = "rotated"
    client.post(
        f"/api/v1/conversations/{conversation_id}/replies",
        json={"text": "Svar"},
        headers=auth(seeded.admin_token),
    )
    run_jobs()
    reply = next(row for row in messages(database, box.channel_id) if row.direction == "out")
    assert reply.delivery_state == "failed"
    assert reply.delivery_attempts == 1
    assert "refused the login" in reply.delivery_error
    channel = load_channel(database, box.channel_id)
    assert channel.status == "needs_reconnect"
    assert smtp_server.received == []


# --- connecting ---------------------------------------------------------------------------------


def test_channels_add_email_reads_the_password_from_a_file_and_schedules_a_sync(
    database: Database, seeded: Seeded, tmp_path: Path
) -> None:
    (tmp_path / "password").write_text("imap-s3cret\n")
    result = CliRunner().invoke(
        cli.app,
        [
            "channels", "add", "--platform", "email", "--account", "Kundeservice@NordicRail.example",
            "--brand", "rail", "--imap-url", "imaps://kundeservice@mail.nordicrail.example",
            "--password-file", str(tmp_path / "password"),
            "--smtp-url", "smtp+starttls://kundeservice@mail.nordicrail.example:587",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "s3cret" not in result.output
    with database.reader() as session:
        added = session.scalars(select(Channel).where(Channel.platform == "email")).one()
        assert added.account_key == "kundeservice@nordicrail.example"
        assert added.config["imap_url"] == "imaps://kundeservice@mail.nordicrail.example"
        assert added.config["smtp_url"] == "smtp+starttls://kundeservice@mail.nordicrail.example:587"
        assert added.credentials_encrypted is not None
        assert b"s3cret" not in added.credentials_encrypted
        assert channel_credentials(added) == {"password": "imap-s3cret"}
        job = session.scalars(select(Job).where(Job.kind == "email.sync")).one()
        assert job.payload == {"channel_id": added.id}

    refused = CliRunner().invoke(
        cli.app,
        [
            "channels", "add", "--platform", "email", "--account", "x@nordicrail.example", "--brand", "rail",
            "--imap-url", "imaps://u:pw@host", "--password-file", str(tmp_path / "password"),
            "--smtp-url", "smtp://u@host",
        ],
    )  # fmt: skip
    assert refused.exit_code != 0
    assert "password in a file" in refused.output


# --- parsing, without servers -------------------------------------------------------------------


def test_quote_detection_marks_attributions_separators_and_trailing_quotes() -> None:
    text = "Tak for svaret.\n\nDen 3. nov. 2026 kl. 10.00 skrev Nordic Rail <a@b>:\n> Hej Ola\n"
    start = quote_start(text)
    assert start is not None
    assert text[start:].startswith("Den 3. nov.")
    outlook = "Ok\n\n-----Original Message-----\nFrom: x\n"
    assert outlook[quote_start(outlook) or 0 :].startswith("-----Original")
    trailing = "Svar her\n> citat 1\n>\n> citat 2\n"
    assert trailing[quote_start(trailing) or 0 :].startswith("> citat 1")
    assert quote_start("Ingen citater her.\nKun tekst.") is None


def test_safe_filenames_never_escape_or_hide() -> None:
    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename("C:\\Users\\x\\billet.pdf") == "billet.pdf"
    assert safe_filename(".htaccess") == "htaccess"
    assert safe_filename("\x00\x1f") == "attachment"
    assert safe_filename("a" * 300 + ".pdf").endswith(".pdf")
    assert len(safe_filename("a" * 300 + ".pdf")) <= 120


def test_html_to_text_drops_active_content() -> None:
    text = html_to_text("<p>Hej<script>alert(1)</script></p><iframe src=x></iframe><p>Farvel</p>")
    assert "alert" not in text
    assert "Hej" in text
    assert "Farvel" in text


def test_a_mail_without_message_id_gets_a_stable_id() -> None:
    raw = b"From: a@kunde.example\r\nTo: support@nordicrail.example\r\nSubject: x\r\n\r\nhej\r\n"
    first = parse_mail(raw, account=ACCOUNT)
    again = parse_mail(raw, account=ACCOUNT)
    assert first.message_id == again.message_id
    assert first.message.external_id.startswith("<sha256.")
    assert first.skip_reason == ""


@needs_dovecot
def test_a_file_attached_in_the_reply_box_goes_out_as_a_mime_attachment(
    database: Database,
    seeded: Seeded,
    dovecot: Dovecot,
    smtp_server: SmtpServer,
    client: TestClient,
    run_jobs: RunJobs,
) -> None:
    box = _connect_mailbox(database, seeded, dovecot, smtp_port=smtp_server.port)
    conversation_id = _customer_conversation(database, box, run_jobs)
    signed_in = client.post(
        "/login",
        data={"email": seeded.agent.email, "password": seeded.password, "next": "/inbox"},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303
    page = client.get(f"/conversations/{conversation_id}").text
    csrf = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    pdf = b"%PDF-1.4\n% refusion\n%%EOF\n"
    sent = client.post(
        f"/conversations/{conversation_id}/reply",
        data={"text": "Kvitteringen er vedhæftet.", "csrf_token": csrf},
        files=[("files", ("kvittering.pdf", pdf, "application/pdf"))],
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    run_jobs()

    assert len(smtp_server.received) == 1
    mail = smtp_server.messages()[0]
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    assert body.get_content().strip() == "Kvitteringen er vedhæftet."
    parts = list(mail.iter_attachments())
    assert [(part.get_filename(), part.get_content_type()) for part in parts] == [
        ("kvittering.pdf", "application/pdf")
    ]
    assert parts[0].get_content() == pdf
    reply = next(row for row in messages(database, box.channel_id) if row.direction == "out")
    assert reply.delivery_state == "sent"
