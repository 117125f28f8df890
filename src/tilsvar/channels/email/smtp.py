"""Sending e-mail replies over SMTP (stdlib smtplib), threaded and as safe to retry as SMTP allows.

SMTP has no idempotency key, so Tilsvar does what it can:
- every reply's Message-ID is derived from its idempotency key, which is stored when the reply is
  queued; all attempts to send one reply carry the same Message-ID;
- before sending, the sent-mail folder (``sent_mailbox``, default ``Sent``) is searched for that
  Message-ID over IMAP, and after a send the reply is filed there (``append_sent``): a retry after a
  crash between the server's "250 OK" and Tilsvar recording the delivery finds it and does not send;
- when the connection breaks after the message data was handed over, the server may or may not have
  accepted it: that attempt fails for good with a reason saying so, instead of being retried blindly.
The gap that remains: a crash in the milliseconds between the server's acceptance and the filing in
``sent_mailbox``. Receiving clients that see the same Message-ID twice usually show it once.

Error mapping: authentication refused → ``needs_reconnect``; 4xx answers and connection failures →
retried; 5xx answers → failed for good with the server's reason.
"""

from __future__ import annotations

import smtplib
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from tilsvar.channels.base import DeliveryError, OutboundReply, SendResult
from tilsvar.channels.email import imap
from tilsvar.channels.email.imap import Endpoint, MailAuthError, MailConnectionError, parse_smtp_url
from tilsvar.channels.email.parse import format_address, message_ids, our_message_id

DEFAULT_SENT_MAILBOX = "Sent"
MAX_REFERENCES = 20


def reply_subject(subject: str) -> str:
    subject = " ".join(subject.split())
    if not subject:
        return "Re: your message"
    if subject[:3].casefold() in {"re:", "sv:", "aw:"} or subject[:4].casefold() == "odp:":
        return subject
    return f"Re: {subject}"


def build_reply(reply: OutboundReply, *, message_id: str, now: datetime | None = None) -> EmailMessage:
    """The reply as a mail: To the customer (their Reply-To when they gave one), Re: the subject,
    In-Reply-To the mail answered, References the chain, Auto-Submitted only for automatic replies."""
    extra = reply.extra
    recipient = str(extra.get("reply_to") or reply.recipient_id or "")
    if "@" not in recipient:
        raise DeliveryError("the customer's e-mail address is not known", retryable=False)
    mail = EmailMessage()
    mail["From"] = format_address(reply.account, str(reply.config.get("from_name") or ""))
    mail["To"] = recipient
    mail["Subject"] = reply_subject(str(extra.get("subject") or ""))
    mail["Date"] = format_datetime(now or datetime.now(UTC))
    mail["Message-ID"] = message_id
    parent = message_ids(reply.in_reply_to)
    references = [ref for ref in extra.get("references") or [] if message_ids(ref)]
    if parent:
        mail["In-Reply-To"] = parent[0]
        if parent[0] not in references:
            references.append(parent[0])
    if references:
        kept = references[:1] + references[1:][-(MAX_REFERENCES - 1) :]
        mail["References"] = " ".join(kept)
    if extra.get("is_automatic"):
        mail["Auto-Submitted"] = "auto-replied"
    mail["X-Auto-Response-Suppress"] = "All" if extra.get("is_automatic") else "OOF, AutoReply"
    mail.set_content(reply.text)
    for file in reply.files:
        maintype, _, subtype = file.content_type.partition("/")
        mail.add_attachment(
            file.data,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=file.filename,
        )
    return mail


class EmailConnector:
    """Delivers replies on e-mail channels (config ``smtp_url``, ``imap_url``; credentials
    ``password``, optionally ``smtp_password``)."""

    def __init__(self, *, timeout: float = 30.0) -> None:
        self.timeout = timeout

    def send_reply(self, reply: OutboundReply) -> SendResult:
        try:
            endpoint = parse_smtp_url(str(reply.config.get("smtp_url") or ""))
        except ValueError as error:
            raise DeliveryError(f"the channel's SMTP URL is not usable: {error}", retryable=False) from error
        message_id = our_message_id(reply.idempotency_key, reply.account)
        mail = build_reply(reply, message_id=message_id)
        if self._already_sent(reply, message_id):
            return SendResult(external_id=message_id)
        password = str(reply.credentials.get("smtp_password") or reply.credentials.get("password") or "")
        self._send(endpoint, password, reply.account, str(mail["To"]), mail.as_bytes())
        self._file_sent(reply, mail)
        return SendResult(external_id=message_id)

    # The ledger in the sent-mail folder -------------------------------------------------------

    def _sent_mailbox(self, reply: OutboundReply) -> str:
        value = reply.config.get("sent_mailbox", DEFAULT_SENT_MAILBOX)
        return str(value or "")

    def _imap(self, reply: OutboundReply) -> Any:
        url = str(reply.config.get("imap_url") or "")
        password = str(reply.credentials.get("password") or "")
        if not url or not password:
            return None
        return imap.connect(imap.parse_imap_url(url), password, timeout=self.timeout)

    def _already_sent(self, reply: OutboundReply, message_id: str) -> bool:
        mailbox = self._sent_mailbox(reply)
        if not mailbox:
            return False
        try:
            client = self._imap(reply)
        except MailAuthError as error:
            raise DeliveryError(str(error), retryable=False, needs_reconnect=True) from error
        except (MailConnectionError, ValueError) as error:
            # Cannot look: do not send blind, try again later.
            raise DeliveryError(f"cannot check the sent-mail folder: {error}", retryable=True) from error
        if client is None:
            return False
        try:
            return imap.find_message_id(client, mailbox=mailbox, message_id=message_id)
        except MailConnectionError as error:
            raise DeliveryError(f"cannot check the sent-mail folder: {error}", retryable=True) from error
        finally:
            imap.close(client)

    def _file_sent(self, reply: OutboundReply, mail: EmailMessage) -> None:
        mailbox = self._sent_mailbox(reply)
        if not mailbox or not reply.config.get("append_sent", True):
            return
        try:
            client = self._imap(reply)
            if client is None:
                return
            try:
                imap.append(client, mailbox=mailbox, raw=mail.as_bytes())
            finally:
                imap.close(client)
        except (MailAuthError, MailConnectionError, ValueError):
            # The mail is sent; only the copy (and the retry ledger) is missing. Never fail a sent reply.
            return

    # SMTP ---------------------------------------------------------------------------------------

    def _send(self, endpoint: Endpoint, password: str, sender: str, recipient: str, data: bytes) -> None:
        context = ssl.create_default_context()
        handed_over = False
        try:
            server: smtplib.SMTP
            if endpoint.security == "tls":
                server = smtplib.SMTP_SSL(endpoint.host, endpoint.port, timeout=self.timeout, context=context)
            else:
                server = smtplib.SMTP(endpoint.host, endpoint.port, timeout=self.timeout)
            with server:
                server.ehlo()
                if endpoint.security == "starttls":
                    server.starttls(context=context)
                    server.ehlo()
                if password:
                    server.login(endpoint.username, password)
                code, answer = server.mail(sender)
                if code != 250:
                    raise smtplib.SMTPSenderRefused(code, answer, sender)
                code, answer = server.rcpt(recipient)
                if code not in {250, 251}:
                    raise smtplib.SMTPRecipientsRefused({recipient: (code, answer)})
                handed_over = True
                code, answer = server.data(data)
                if code != 250:
                    raise smtplib.SMTPDataError(code, answer)
        except smtplib.SMTPAuthenticationError as error:
            raise DeliveryError(
                f"the SMTP server refused the login ({error.smtp_code}): {_answer(error.smtp_error)}",
                retryable=False,
                needs_reconnect=True,
            ) from error
        except smtplib.SMTPRecipientsRefused as error:
            code, answer = next(iter(error.recipients.values()))
            raise _by_code(code, f"the SMTP server refused {recipient}", answer) from error
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError, smtplib.SMTPHeloError) as error:
            raise _by_code(error.smtp_code, "the SMTP server refused the reply", error.smtp_error) from error
        except smtplib.SMTPNotSupportedError as error:
            raise DeliveryError(f"the SMTP server does not support {error}", retryable=False) from error
        except (smtplib.SMTPServerDisconnected, OSError) as error:
            if handed_over:
                raise DeliveryError(
                    "the SMTP connection broke after the reply was handed over; it may have been "
                    f"delivered, so it is not sent again automatically ({error})",
                    retryable=False,
                ) from error
            raise DeliveryError(
                f"cannot reach {endpoint.host}:{endpoint.port}: {error}", retryable=True
            ) from error
        except smtplib.SMTPException as error:
            raise DeliveryError(f"SMTP error: {error}", retryable=True) from error


def _answer(value: bytes | str) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return " ".join(text.split())[:300]


def _by_code(code: int, what: str, answer: bytes | str) -> DeliveryError:
    reason = f"{what} ({code}): {_answer(answer)}"
    if 400 <= code < 500:
        return DeliveryError(reason, retryable=True)
    return DeliveryError(reason, retryable=False)
