"""Web chat: the widget a brand embeds with one ``<script>`` tag, and the pure rules behind its public
endpoints (visitor tokens, allowed origins, sizes, rate limits). Customers' chat messages become
``InboundMessage``s on platform ``webchat`` (kind ``chat``, one conversation per visitor); agents'
replies are "delivered" by marking them sent, and the widget fetches them. No database here."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from datetime import datetime
from importlib.resources import files
from urllib.parse import urlsplit

from tilsvar.channels.base import Author, InboundMessage, OutboundReply, SendResult

MAX_TEXT_CHARS = 2000
MAX_BODY_BYTES = 8192
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,128}$")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def valid_token(token: str | None) -> bool:
    """A visitor token is a random string the widget made and keeps in localStorage."""
    return bool(token) and bool(_TOKEN.match(token or ""))


def visitor_id(token: str) -> str:
    """The visitor's id: a hash of their token, so the token (their key to the chat) is never stored."""
    return "v-" + hashlib.sha256(token.encode()).hexdigest()[:32]


def thread_key(visitor: str) -> str:
    return f"visitor:{visitor}"


def normalize_origin(origin: str) -> str:
    parts = urlsplit(origin.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return ""
    default = {"http": 80, "https": 443}[parts.scheme]
    port = f":{parts.port}" if parts.port and parts.port != default else ""
    return f"{parts.scheme}://{parts.hostname.lower()}{port}"


def origin_allowed(origin: str | None, allowed: list[str]) -> bool:
    """Only pages on the brand's own sites may talk to its chat (exact scheme, host and port)."""
    if not origin:
        return False
    normalized = normalize_origin(origin)
    return bool(normalized) and normalized in {normalize_origin(item) for item in allowed}


def chat_message(
    *, account: str, visitor: str, text: str, client_id: str | None, name: str, at: datetime
) -> InboundMessage:
    """A customer's chat line as the ingest path takes it; ``client_id`` (made by the widget per
    message) makes a resent POST a duplicate rather than a second message."""
    suffix = (
        client_id
        if client_id and _CLIENT_ID.match(client_id)
        else hashlib.sha256(f"{text}|{at.isoformat()}".encode()).hexdigest()[:24]
    )
    return InboundMessage(
        platform="webchat",
        account=account,
        external_id=f"{visitor}:{suffix}",
        direction="in",
        kind="chat",
        text=text,
        created_at=at,
        author=Author(id=visitor, name=name[:100] or "Web visitor"),
        thread_id=thread_key(visitor),
    )


class RateLimiter:
    """A token bucket per key (channel and client address) in this process: ``rate`` per minute with
    bursts up to ``burst``. Several web nodes each keep their own buckets."""

    def __init__(self, *, per_minute: float, burst: int) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if len(self._buckets) > 50_000:  # forget idle visitors rather than grow without end
                self._buckets.clear()
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                return False
            self._buckets[key] = (tokens - 1.0, now)
            return True


def widget_script(*, base_url: str, public_key: str, title: str) -> str:
    """The widget's JavaScript with its configuration inlined as JSON (``<`` escaped)."""
    template = files("tilsvar.channels.webchat").joinpath("widget.js").read_text(encoding="utf-8")
    config = json.dumps({"base": base_url.rstrip("/"), "key": public_key, "title": title})
    return template.replace("/*TILSVAR_CONFIG*/ {}", config.replace("<", "\\u003c"), 1)


class WebchatConnector:
    """Replies need no platform call: once marked sent, the visitor's widget fetches them."""

    def send_reply(self, reply: OutboundReply) -> SendResult:
        return SendResult(external_id=f"webchat-{reply.idempotency_key}")


__all__ = [
    "MAX_BODY_BYTES",
    "MAX_TEXT_CHARS",
    "RateLimiter",
    "WebchatConnector",
    "chat_message",
    "origin_allowed",
    "thread_key",
    "valid_token",
    "visitor_id",
    "widget_script",
]
