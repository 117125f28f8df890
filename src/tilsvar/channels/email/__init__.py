"""E-mail channel: IMAP sync (UIDVALIDITY + last UID, IDLE with a polling fallback), parsing mail into
threaded messages (HTML to safe text, attachments, quoted text marked, machine mail skipped), and
threaded SMTP replies. Pure: the sync state lives in the database and is handed in by the caller."""

from tilsvar.channels.email.imap import (
    Endpoint,
    FetchedMail,
    MailAuthError,
    MailboxBatch,
    MailConnectionError,
    parse_imap_url,
    parse_smtp_url,
)
from tilsvar.channels.email.parse import (
    MailAttachment,
    ParsedMail,
    html_to_text,
    message_ids,
    our_message_id,
    parse_mail,
    quote_start,
    safe_filename,
)
from tilsvar.channels.email.smtp import EmailConnector, build_reply

__all__ = [
    "EmailConnector",
    "Endpoint",
    "FetchedMail",
    "MailAttachment",
    "MailAuthError",
    "MailConnectionError",
    "MailboxBatch",
    "ParsedMail",
    "build_reply",
    "html_to_text",
    "message_ids",
    "our_message_id",
    "parse_imap_url",
    "parse_mail",
    "parse_smtp_url",
    "quote_start",
    "safe_filename",
]
