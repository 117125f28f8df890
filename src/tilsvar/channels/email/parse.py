"""Turn one raw RFC 5322 message into what Tilsvar stores: an ``InboundMessage`` threaded by
Message-ID / In-Reply-To / References, its text (HTML mail sanitised and converted to plain text),
where the quoted earlier mail starts, its attachments, and whether it must be skipped because it was
sent by a machine (RFC 3834 auto-replies, bounces, mailing lists) or by us. Pure: bytes in, values out.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime

import nh3
from inscriptis import get_text
from inscriptis.model.config import ParserConfig

from tilsvar.channels.base import Author, InboundMessage

OUR_MESSAGE_ID_PREFIX = "tilsvar."
MAX_REFERENCES = 50
_MSGID = re.compile(r"<[^<>\s]+>")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")
BULK_PRECEDENCE = frozenset({"bulk", "list", "junk", "auto_reply"})
BOUNCE_SENDERS = frozenset({"mailer-daemon", "mail-daemon", "mailerdaemon"})

# The line a mail client writes above the mail it quotes, in the languages our users write.
_ATTRIBUTION = re.compile(
    r"^(?:On\b.{0,200}\bwrote:|Den\b.{0,200}\bskrev.{0,80}:|Am\b.{0,200}\bschrieb.{0,80}:|"
    r"Le\b.{0,200}\ba écrit\s?:|El\b.{0,200}\bescribió:|W dniu\b.{0,200}\bpisze:|"
    r"\d{1,2}[./-]\d{1,2}[./-]\d{2,4}.{0,120}\b(?:skrev|wrote|schrieb|pisze).{0,80}:)\s*$",
    re.IGNORECASE,
)
_FORWARD_OR_ORIGINAL = re.compile(
    r"^\s*(?:-{2,}\s*(?:Original Message|Oprindelig meddelelse|Ursprüngliche Nachricht|"
    r"Opprinnelig melding|Ursprungligt meddelande|Wiadomość oryginalna)\s*-{2,}|_{20,})\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class MailAttachment:
    """A file that came with a mail; ``filename`` is already safe to show and to use on disk."""

    filename: str
    content_type: str
    data: bytes
    content_id: str = ""
    inline: bool = False

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True, slots=True)
class ParsedMail:
    """One mail as Tilsvar keeps it. ``skip_reason`` is non-empty for mail that must never be stored
    as a customer message (and so never answered): auto-replies, bounces, list mail, our own."""

    message: InboundMessage
    message_id: str
    references: tuple[str, ...]
    subject: str
    from_address: str
    reply_to: str
    to_addresses: tuple[str, ...]
    quote_start: int | None
    was_html: bool
    attachments: tuple[MailAttachment, ...] = ()
    skip_reason: str = ""
    headers: dict[str, str] = field(default_factory=dict)


def message_ids(value: str | None) -> list[str]:
    """The ``<id>`` tokens of a Message-ID, In-Reply-To or References header, in order."""
    if not value:
        return []
    return _MSGID.findall(str(value))


def our_message_id(idempotency_key: str, account: str) -> str:
    """The Message-ID of a reply we send: derived from the reply's idempotency key, which is stored
    when the reply is queued, so every attempt to send the same reply carries the same id."""
    domain = account.rpartition("@")[2] or "tilsvar.invalid"
    safe_key = re.sub(r"[^A-Za-z0-9.-]", "-", idempotency_key)[:120]
    return f"<{OUR_MESSAGE_ID_PREFIX}{safe_key}@{domain}>"


def is_our_message_id(message_id: str, account: str) -> bool:
    domain = account.rpartition("@")[2].casefold()
    return message_id.startswith(f"<{OUR_MESSAGE_ID_PREFIX}") and message_id.casefold().endswith(
        f"@{domain}>"
    )


def safe_filename(name: str | None, *, fallback: str = "attachment") -> str:
    """A file name without paths, control characters or leading dots, at most 120 characters."""
    name = unicodedata.normalize("NFKC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(char for char in name if unicodedata.category(char)[0] != "C")
    ascii_name = name.encode("ascii", "ignore").decode()
    cleaned = _SAFE_NAME.sub("_", ascii_name).strip(" ._")
    if not cleaned:
        return fallback
    stem, dot, suffix = cleaned.rpartition(".")
    if dot and len(suffix) <= 10:
        return f"{stem[: 119 - len(suffix)]}.{suffix}"
    return cleaned[:120]


def html_to_text(html: str) -> str:
    """Sanitise HTML (nh3 drops scripts, styles, event handlers and unknown tags) and lay it out as
    plain text (inscriptis keeps paragraphs, lists and tables readable)."""
    cleaned = nh3.clean(html, url_schemes={"http", "https", "mailto"})
    text = get_text(cleaned, ParserConfig(display_links=False, display_images=False))
    lines = [line.rstrip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def quote_start(text: str) -> int | None:
    """Where the quoted earlier mail begins: an attribution line ("On ... wrote:") or a separator
    ("-----Original Message-----") followed by the quote, or a trailing block of ``>`` lines."""
    lines = text.splitlines(keepends=True)
    offsets = []
    position = 0
    for line in lines:
        offsets.append(position)
        position += len(line)
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            continue
        if _FORWARD_OR_ORIGINAL.match(stripped) and index > 0:
            return offsets[index]
        if _ATTRIBUTION.match(stripped):
            rest = [other.strip() for other in lines[index + 1 :] if other.strip()]
            if rest:
                return offsets[index]
    # A trailing run of quoted lines (blank lines inside it allowed).
    start: int | None = None
    for index in range(len(lines) - 1, -1, -1):
        stripped = lines[index].strip()
        if not stripped:
            continue
        if stripped.startswith(">"):
            start = index
        else:
            break
    return None if start is None else offsets[start]


def _address(value: str | None) -> tuple[str, str]:
    pairs = getaddresses([str(value)]) if value else []
    for name, address in pairs:
        if "@" in address:
            return name.strip(), address.strip()
    return "", ""


def _addresses(*values: str | None) -> tuple[str, ...]:
    found = []
    for name_address in getaddresses([str(value) for value in values if value]):
        if "@" in name_address[1]:
            found.append(name_address[1].strip())
    return tuple(found)


def skip_reason(mail: Message, *, account: str, message_id: str, from_address: str) -> str:
    """Why a mail must not become a customer message (empty: it may)."""
    auto_submitted = str(mail.get("Auto-Submitted", "")).strip().casefold()
    if auto_submitted and auto_submitted.split(";")[0].strip() != "no":
        return f"Auto-Submitted: {auto_submitted[:60]}"
    precedence = str(mail.get("Precedence", "")).strip().casefold()
    if precedence in BULK_PRECEDENCE:
        return f"Precedence: {precedence}"
    if mail.get("List-Id") is not None or mail.get("List-Unsubscribe") is not None:
        return "mailing-list mail (List-Id / List-Unsubscribe)"
    if mail.get("X-Autoreply") is not None or mail.get("X-Autorespond") is not None:
        return "auto-reply (X-Autoreply)"
    if mail.get_content_type() == "multipart/report" or mail.get("X-Failed-Recipients") is not None:
        return "delivery report (bounce)"
    if from_address.partition("@")[0].casefold() in BOUNCE_SENDERS:
        return "bounce from MAILER-DAEMON"
    return_path = mail.get("Return-Path")
    if return_path is not None and str(return_path).strip() in {"<>", ""}:
        return "null sender (Return-Path: <>)"
    if is_our_message_id(message_id, account):
        return "our own reply"
    if from_address and from_address.casefold() == account.strip().casefold():
        return "sent from this mailbox"
    return ""


def _date(mail: Message, fallback: datetime) -> datetime:
    value = mail.get("Date")
    if value is None:
        return fallback
    try:
        parsed = parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError):
        return fallback
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if parsed > fallback + timedelta(hours=1):  # a sender's clock in the future would jump the queue
        return fallback
    return parsed.astimezone(UTC)


def _body_and_attachments(mail: EmailMessage) -> tuple[str, bool, list[MailAttachment]]:
    body_part = mail.get_body(preferencelist=("plain", "html"))
    text = ""
    was_html = False
    if body_part is not None:
        content = _part_text(body_part)
        if body_part.get_content_type() == "text/html":
            text, was_html = html_to_text(content), True
        else:
            text = content
    attachments: list[MailAttachment] = []
    for index, part in enumerate(mail.walk()):
        if part is body_part or part.is_multipart():
            continue
        disposition = part.get_content_disposition()
        content_type = part.get_content_type()
        if disposition is None and content_type in {"text/plain", "text/html"}:
            continue  # an alternative of the body, not a file
        if content_type in {"message/delivery-status", "message/rfc822-headers"}:
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        content_id = str(part.get("Content-ID", "")).strip().strip("<>")[:200]
        attachments.append(
            MailAttachment(
                filename=safe_filename(part.get_filename(), fallback=f"attachment-{index}"),
                content_type=content_type[:127],
                data=payload,
                content_id=content_id,
                inline=disposition == "inline" or (disposition is None and bool(content_id)),
            )
        )
    return text, was_html, attachments


def _part_text(part: Message) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
    except (LookupError, ValueError):  # an unknown charset: decode leniently
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    return str(content).replace("\r\n", "\n")


def parse_mail(
    raw: bytes, *, account: str, platform: str = "email", received_at: datetime | None = None
) -> ParsedMail:
    """Parse one raw mail that arrived in the mailbox ``account``.

    Threading: ``external_id`` is the Message-ID (a mail without one gets a stable id derived from
    its bytes, so a re-sync finds it again); ``thread_id`` is the root of References, so a whole
    reply chain is one conversation even when a middle mail never reached this mailbox; without
    References, ``in_reply_to`` lets the ingest path find the parent."""
    received_at = received_at or datetime.now(UTC)
    mail = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(mail, EmailMessage)
    ids = message_ids(str(mail.get("Message-ID", "")))
    message_id = ids[0] if ids else f"<sha256.{hashlib.sha256(raw).hexdigest()}@tilsvar.invalid>"
    if len(message_id) > 320:
        message_id = f"<sha256.{hashlib.sha256(message_id.encode()).hexdigest()}@tilsvar.invalid>"
    references = tuple(ref for ref in message_ids(str(mail.get("References", ""))) if len(ref) <= 320)
    references = references[:1] + references[1:][-(MAX_REFERENCES - 1) :] if references else ()
    in_reply_to_ids = [ref for ref in message_ids(str(mail.get("In-Reply-To", ""))) if len(ref) <= 320]
    in_reply_to = in_reply_to_ids[0] if in_reply_to_ids else (references[-1] if references else None)
    thread_id = references[0] if references and references[0] != message_id else None
    name, from_address = _address(mail.get("From"))
    _, reply_to = _address(mail.get("Reply-To"))
    subject = " ".join(str(mail.get("Subject", "")).split())
    text, was_html, attachments = _body_and_attachments(mail)
    text = text.strip()
    reason = skip_reason(mail, account=account, message_id=message_id, from_address=from_address)
    inbound = InboundMessage(
        platform=platform,
        account=account,
        external_id=message_id,
        direction="in",
        kind="email",
        text=text or (f"({subject})" if subject else "(no text)"),
        created_at=_date(mail, received_at),
        author=Author(id=from_address.casefold(), handle=from_address, name=name)
        if from_address
        else Author(id="unknown-sender"),
        in_reply_to=in_reply_to if in_reply_to != message_id else None,
        thread_id=thread_id,
        extra={"subject": subject},
    )
    return ParsedMail(
        message=inbound,
        message_id=message_id,
        references=references,
        subject=subject,
        from_address=from_address,
        reply_to=reply_to,
        to_addresses=_addresses(mail.get("To"), mail.get("Cc")),
        quote_start=quote_start(text) if text else None,
        was_html=was_html,
        attachments=tuple(attachments),
        skip_reason=reason,
        headers={
            key: str(mail.get(key, ""))[:300]
            for key in ("From", "To", "Subject", "Date", "Message-ID", "Auto-Submitted", "Precedence")
            if mail.get(key) is not None
        },
    )


def format_address(address: str, name: str = "") -> str:
    """``"Name <address>"`` with the name encoded as the headers need."""
    if not name:
        return address
    local, _, domain = address.rpartition("@")
    return str(Address(display_name=name, username=local, domain=domain))
