"""The normalized shapes every connector speaks, so the rest of Tilsvar never sees platform JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

PLATFORMS = ("facebook", "instagram", "x", "linkedin", "youtube", "email", "webchat", "api")
KINDS = ("post", "comment", "dm", "email", "chat")
CASE_INSENSITIVE_ACCOUNTS = frozenset({"x", "instagram", "email"})


def normalize_account(platform: str, account: str) -> str:
    """The key a platform compares accounts by (X handles and mailboxes ignore case; '@' is optional)."""
    account = account.strip()
    if platform in {"x", "instagram"}:
        account = account.lstrip("@")
    if platform in CASE_INSENSITIVE_ACCOUNTS:
        account = account.casefold()
    return account


@dataclass(frozen=True, slots=True)
class Author:
    id: str
    handle: str = ""
    name: str = ""
    # The author's reach when the platform reports it (X followers); None when unknown.
    followers: int | None = None


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One message as a platform (or an import file) reported it, before it is stored."""

    platform: str
    account: str
    external_id: str
    direction: Literal["in", "out"]
    kind: str
    text: str
    created_at: datetime
    author: Author | None = None
    in_reply_to: str | None = None
    thread_id: str | None = None
    is_automatic: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OutboundFile:
    """A file sent with a reply: its bytes (e-mail attaches them) and the customer's download link
    (web chat and the API channel hand it on)."""

    filename: str
    content_type: str
    data: bytes
    url: str = ""


@dataclass(frozen=True, slots=True)
class OutboundReply:
    """What a connector needs to deliver one reply."""

    platform: str
    account: str
    kind: str
    text: str
    thread_key: str
    in_reply_to: str | None
    recipient_id: str | None
    last_inbound_at: datetime | None
    idempotency_key: str
    credentials: dict[str, Any]
    config: dict[str, Any]
    # What a platform needs beyond the common fields (e-mail: subject, references, reply_to, is_automatic).
    extra: dict[str, Any] = field(default_factory=dict)
    files: tuple[OutboundFile, ...] = ()


@dataclass(frozen=True, slots=True)
class SendResult:
    external_id: str
    # The customer's id in the private channel, when the platform tells it only on this send (Meta's
    # private reply to a comment answers with the Messenger PSID the customer will write from).
    recipient_id: str | None = None


class DeliveryError(Exception):
    """A send failed; ``retryable`` says whether trying again later may succeed."""

    def __init__(self, reason: str, *, retryable: bool, needs_reconnect: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.needs_reconnect = needs_reconnect


class Connector(Protocol):
    def send_reply(self, reply: OutboundReply) -> SendResult: ...


ModerationAction = Literal["hide", "unhide", "delete"]


@dataclass(frozen=True, slots=True)
class ModerationRequest:
    """Hide, unhide or delete one public message (a comment or reply) on its platform."""

    platform: str
    account: str
    external_id: str
    action: ModerationAction
    credentials: dict[str, Any]
    config: dict[str, Any]


@runtime_checkable
class ModeratingConnector(Protocol):
    """A connector whose platform lets a brand hide (and delete) public messages on its own pages."""

    def moderate(self, request: ModerationRequest) -> None: ...
