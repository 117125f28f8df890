"""What platform webhooks report besides new messages, and the small pure helpers every webhook
connector shares (HMAC over the raw bytes, constant-time comparison, timestamps of either unit).

A connector's parser turns one verified payload into a list of ``ChannelEvent``: new messages
(``InboundMessage``) and the events that change what is already stored (an edit, a removal, a hide,
delivery and read receipts, an account's access being revoked) or that Tilsvar deliberately ignores
(likes, follows, typing indicators), so the caller can count and log them. No database here.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from tilsvar.channels.base import InboundMessage

Change = Literal["edited", "removed", "hidden", "unhidden"]


@dataclass(frozen=True, slots=True)
class MessageChanged:
    """A message the platform told us about before was edited, removed, hidden or unhidden."""

    platform: str
    account: str
    external_id: str
    change: Change
    at: datetime
    text: str | None = None


@dataclass(frozen=True, slots=True)
class Receipt:
    """The customer's app received (``delivered``) or showed (``read``) messages we sent.

    Either the platform names the messages (``external_ids``) or it gives a ``watermark``: every
    message we sent to ``recipient_id`` up to that instant."""

    platform: str
    account: str
    status: Literal["delivered", "read"]
    recipient_id: str
    external_ids: tuple[str, ...] = ()
    watermark: datetime | None = None


@dataclass(frozen=True, slots=True)
class AccessRevoked:
    """The account owner withdrew our access (X revoke, Meta deauthorisation): reconnect needed."""

    platform: str
    account: str
    reason: str


@dataclass(frozen=True, slots=True)
class Ignored:
    """Something the platform sent that Tilsvar does not act on (kept for counting and logs)."""

    what: str
    reason: str
    details: dict[str, Any] = field(default_factory=dict)


ChannelEvent = InboundMessage | MessageChanged | Receipt | AccessRevoked | Ignored


def hmac_sha256(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def same(expected: str, given: str) -> bool:
    """Constant-time string comparison (``hmac.compare_digest`` on the UTF-8 bytes)."""
    return hmac.compare_digest(expected.encode(), given.encode())


def body_digest(body: bytes) -> str:
    """A delivery's identity when the platform gives none: the SHA-256 of its exact bytes."""
    return hashlib.sha256(body).hexdigest()


def from_epoch(value: Any, *, default: datetime | None = None) -> datetime:
    """An instant from Unix seconds or milliseconds (decided by magnitude), as Meta mixes both."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default or datetime.now(UTC)
    if number > 1e11:
        number /= 1000.0
    return datetime.fromtimestamp(number, tz=UTC)


def text_of(value: Any) -> str:
    return value if isinstance(value, str) else ""


def dict_of(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def list_of(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def id_of(value: Any) -> str:
    """A platform id as a string (ids arrive as strings or as JSON numbers)."""
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int | str):
        return str(value)
    return ""
