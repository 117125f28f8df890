"""The platform context of a comment: the post (or video, media item) it was written under.

Connectors put what the platform sent about the post into ``InboundMessage.extra`` (Facebook:
``post_id`` and, when the webhook carries it, ``post`` with its text, author and time; Instagram:
``media``; YouTube: ``video_id``; LinkedIn: ``source_post``). This module turns that into one small,
platform-neutral dict that ingest keeps on the message (``messages.context``) and the conversation
view shows above the thread. Pure: no database, no network (we never fetch the post at run time).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from tilsvar.pipeline import pii

MAX_TEXT = 2000


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _time(value: Any) -> str:
    if isinstance(value, int | float) and value > 0:
        return datetime.fromtimestamp(value, UTC).isoformat()
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("+0000", "+00:00"))
        except ValueError:
            return ""
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).isoformat()
    return ""


def _https(url: str) -> str:
    """Only an https link to the platform is kept (a customer-controlled ``javascript:`` never is)."""
    return url if url.startswith("https://") and len(url) <= 1000 else ""


def post_url(platform: str, post_id: str) -> str:
    """A link to the post on the platform built from its id alone (where the platform allows it)."""
    if not post_id:
        return ""
    if platform == "facebook":
        return f"https://www.facebook.com/{quote(post_id, safe='_')}"
    if platform == "youtube":
        return f"https://www.youtube.com/watch?v={quote(post_id, safe='')}"
    if platform == "linkedin":
        return f"https://www.linkedin.com/feed/update/{quote(post_id, safe=':')}/"
    return ""


def comment_context(platform: str, extra: dict[str, Any]) -> dict[str, str] | None:
    """``{"post_id", "text", "author", "created_at", "url"}`` (strings, "" when unknown; the text with
    personal data redacted) or None when the message has no post to show."""
    post_id = ""
    text = author = created = url = ""
    if platform == "facebook":
        post = _dict(extra.get("post"))
        post_id = _text(extra.get("post_id")) or _text(post.get("id"))
        text = _text(post.get("message"))
        author = _text(_dict(post.get("from")).get("name"))
        created = _time(post.get("created_time")) or _time(post.get("updated_time"))
        url = _https(_text(post.get("permalink_url"))) or post_url(platform, post_id)
    elif platform == "instagram":
        media = _dict(extra.get("media"))
        post_id = _text(media.get("id")) or _text(extra.get("media_id"))
        text = _text(media.get("caption"))
        author = _text(media.get("username"))
        created = _time(media.get("timestamp"))
        url = _https(_text(media.get("permalink")))
    elif platform == "youtube":
        post_id = _text(extra.get("video_id"))
        url = post_url(platform, post_id)
    elif platform == "linkedin":
        post_id = _text(extra.get("source_post"))
        url = post_url(platform, post_id)
    if not post_id and not text:
        return None
    text = text[:MAX_TEXT]
    text = pii.redact(text, pii.find(text)) if text else ""
    return {"post_id": post_id[:320], "text": text, "author": author[:200], "created_at": created, "url": url}
