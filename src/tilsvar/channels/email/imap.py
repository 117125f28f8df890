"""IMAP for the e-mail channel (imapclient): connect from an ``imap[s]://user@host[:port]`` URL,
fetch the mail that is new since the last sync (UIDVALIDITY + last UID), and wait for new mail with
IDLE where the server has it (NOOP polling where not). Pure network code: the caller keeps the state.
"""

from __future__ import annotations

import contextlib
import ssl
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

DEFAULT_TIMEOUT = 30.0


class MailAuthError(Exception):
    """The server refused the channel's user name or password: the channel needs reconnecting."""


class MailConnectionError(Exception):
    """The server could not be reached or broke off; trying again later may work."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A mail server from a channel URL: ``security`` is ``tls`` (implicit), ``starttls`` or ``plain``."""

    scheme: str
    host: str
    port: int
    username: str
    security: str

    def __str__(self) -> str:
        return f"{self.scheme}://{self.username}@{self.host}:{self.port}"


IMAP_SCHEMES = {"imaps": ("tls", 993), "imap+starttls": ("starttls", 143), "imap": ("plain", 143)}
SMTP_SCHEMES = {"smtps": ("tls", 465), "smtp+starttls": ("starttls", 587), "smtp": ("plain", 25)}


def parse_endpoint(url: str, schemes: dict[str, tuple[str, int]]) -> Endpoint:
    """Parse ``scheme://user@host[:port]``; the password never goes in the URL (it comes from a file)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.casefold()
    if scheme not in schemes:
        raise ValueError(f"{url!r}: the scheme must be one of {', '.join(sorted(schemes))}")
    if parts.password is not None:
        raise ValueError(f"{scheme} URL: put the password in a file (--password-file), not in the URL")
    if not parts.hostname:
        raise ValueError(f"{url!r} names no host")
    if not parts.username:
        raise ValueError(f"{url!r} names no user (scheme://user@host)")
    security, default_port = schemes[scheme]
    try:
        port = parts.port or default_port
    except ValueError as error:
        raise ValueError(f"{url!r}: {error}") from error
    return Endpoint(
        scheme=scheme, host=parts.hostname, port=port, username=unquote(parts.username), security=security
    )


def parse_imap_url(url: str) -> Endpoint:
    return parse_endpoint(url, IMAP_SCHEMES)


def parse_smtp_url(url: str) -> Endpoint:
    return parse_endpoint(url, SMTP_SCHEMES)


def connect(endpoint: Endpoint, password: str, *, timeout: float = DEFAULT_TIMEOUT) -> IMAPClient:
    """A logged-in client; ``MailAuthError`` for refused credentials, ``MailConnectionError`` else."""
    context = ssl.create_default_context()
    try:
        client = IMAPClient(
            endpoint.host,
            port=endpoint.port,
            ssl=endpoint.security == "tls",
            ssl_context=context if endpoint.security == "tls" else None,
            timeout=timeout,
        )
        if endpoint.security == "starttls":
            client.starttls(context)
    except (OSError, IMAPClientError) as error:
        raise MailConnectionError(f"cannot reach {endpoint}: {error}") from error
    try:
        client.login(endpoint.username, password)
    except LoginError as error:
        _close(client)
        raise MailAuthError(f"{endpoint} refused the login: {_text(error)}") from error
    except (OSError, IMAPClientError) as error:
        _close(client)
        raise MailConnectionError(f"{endpoint}: login failed: {error}") from error
    return client


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, Exception) and value.args:
        return _text(value.args[0])
    return str(value)


def _close(client: IMAPClient) -> None:
    try:
        client.logout()
    except (OSError, IMAPClientError):
        with contextlib.suppress(OSError):
            client.shutdown()


def close(client: IMAPClient) -> None:
    _close(client)


@dataclass(frozen=True, slots=True)
class FetchedMail:
    uid: int
    raw: bytes
    internal_date: datetime | None


@dataclass(frozen=True, slots=True)
class MailboxBatch:
    """New mail in one mailbox since ``last_uid``; ``reset`` when UIDVALIDITY changed (or first sync)
    so the caller must forget the stored position; ``complete`` when nothing more is waiting."""

    mailbox: str
    uidvalidity: int
    mails: list[FetchedMail]
    highest_uid: int
    reset: bool
    complete: bool


def fetch_new(
    client: IMAPClient,
    *,
    mailbox: str,
    uidvalidity: int | None,
    last_uid: int,
    limit: int = 50,
    since: date | None = None,
) -> MailboxBatch:
    """Fetch up to ``limit`` mails with a UID above ``last_uid`` (all of them, or those since
    ``since``, when the mailbox's UIDVALIDITY is not ``uidvalidity``). Reads with BODY.PEEK, so the
    mail stays unread for people who also use the mailbox."""
    try:
        status = client.select_folder(mailbox, readonly=True)
        current = int(status[b"UIDVALIDITY"])
        reset = uidvalidity is None or current != uidvalidity
        if reset:
            last_uid = 0
        criteria: list[Any] = ["UID", f"{last_uid + 1}:*"]
        if reset and since is not None:
            criteria += ["SINCE", since]
        uids = sorted(int(uid) for uid in client.search(criteria) if int(uid) > last_uid)
        chosen = uids[:limit]
        mails: list[FetchedMail] = []
        if chosen:
            response = client.fetch(chosen, ["BODY.PEEK[]", "INTERNALDATE"])
            for uid in chosen:
                data = response.get(uid)
                if data is None:
                    continue  # expunged between SEARCH and FETCH
                raw = data.get(b"BODY[]")
                internal = data.get(b"INTERNALDATE")
                if isinstance(internal, datetime):
                    internal = internal.astimezone(UTC) if internal.tzinfo else internal.replace(tzinfo=UTC)
                mails.append(
                    FetchedMail(
                        uid=uid,
                        raw=bytes(raw or b""),
                        internal_date=internal if isinstance(internal, datetime) else None,
                    )
                )
    except (OSError, IMAPClientError) as error:
        raise MailConnectionError(f"{mailbox}: {error}") from error
    return MailboxBatch(
        mailbox=mailbox,
        uidvalidity=current,
        mails=mails,
        highest_uid=chosen[-1] if chosen else last_uid,
        reset=reset,
        complete=len(uids) <= limit,
    )


def supports_idle(client: IMAPClient) -> bool:
    return bool(client.has_capability("IDLE"))


def idle_until_mail(client: IMAPClient, *, stop: threading.Event, max_seconds: float) -> bool:
    """IDLE on the selected mailbox until the server reports new mail (True), ``stop`` is set, or
    ``max_seconds`` pass (False; the caller renews IDLE, which servers drop after 30 minutes)."""
    deadline = time.monotonic() + max_seconds
    arrived = False
    try:
        client.idle()
        try:
            while not arrived and not stop.is_set() and time.monotonic() < deadline:
                responses = client.idle_check(timeout=1.0)
                arrived = any(_is_new_mail(item) for item in responses)
        finally:
            done = client.idle_done()[1]
        return arrived or any(_is_new_mail(item) for item in done)
    except (OSError, IMAPClientError) as error:
        raise MailConnectionError(f"IDLE: {error}") from error


def _is_new_mail(item: Any) -> bool:
    return isinstance(item, tuple) and len(item) >= 2 and item[1] in {b"EXISTS", b"RECENT"}


def find_message_id(client: IMAPClient, *, mailbox: str, message_id: str) -> bool:
    """Whether ``mailbox`` holds a mail with this Message-ID (our ledger of sent replies)."""
    try:
        if not client.folder_exists(mailbox):
            return False
        client.select_folder(mailbox, readonly=True)
        return bool(client.search(["HEADER", "Message-ID", message_id]))
    except (OSError, IMAPClientError) as error:
        raise MailConnectionError(f"{mailbox}: {error}") from error


def append(client: IMAPClient, *, mailbox: str, raw: bytes) -> None:
    """File a copy of a sent reply (creating the mailbox when missing), marked read."""
    try:
        if not client.folder_exists(mailbox):
            client.create_folder(mailbox)
        client.append(mailbox, raw, flags=[b"\\Seen"])
    except (OSError, IMAPClientError) as error:
        raise MailConnectionError(f"{mailbox}: {error}") from error
