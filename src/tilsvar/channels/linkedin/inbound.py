"""LinkedIn organisation webhooks (``ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS``) verified and parsed.

Validation: ``GET ?challengeCode=`` → ``{"challengeCode", "challengeResponse": hex HMAC-SHA256(client
secret, code)}``. Deliveries carry ``X-LI-Signature``: hex HMAC-SHA256 with the client secret of
``"hmacsha256=" + raw body`` per a capture of the docs, which is unverified, so the channel config
``signature_mode`` chooses ``prefixed``, ``plain`` (HMAC of the body alone) or ``either`` (default).
Comments and mentions become messages; the organisation's own comments do not. Facts: PROTOCOLS.md §3.1.
"""

from __future__ import annotations

from typing import Any

from tilsvar.channels.activity import (
    ChannelEvent,
    Ignored,
    MessageChanged,
    body_digest,
    dict_of,
    from_epoch,
    hmac_sha256,
    id_of,
    list_of,
    same,
    text_of,
)
from tilsvar.channels.base import Author, InboundMessage

SIGNATURE_HEADER = "X-LI-Signature"
SIGNATURE_PREFIX = b"hmacsha256="
_NOT_MESSAGES = frozenset({"LIKE", "SHARE", "ADMIN_COMMENT"})


def challenge_response(challenge_code: str, client_secret: str) -> dict[str, str]:
    return {
        "challengeCode": challenge_code,
        "challengeResponse": hmac_sha256(client_secret, challenge_code.encode()).hex(),
    }


def sign(body: bytes, client_secret: str, *, prefixed: bool = True) -> str:
    return hmac_sha256(client_secret, (SIGNATURE_PREFIX if prefixed else b"") + body).hex()


def verify_signature(body: bytes, header: str | None, client_secret: str, mode: str = "either") -> bool:
    if not header or not client_secret:
        return False
    given = header.strip().lower().removeprefix("hmacsha256=")
    prefixed = same(sign(body, client_secret, prefixed=True), given)
    plain = same(sign(body, client_secret, prefixed=False), given)
    if mode == "prefixed":
        return prefixed
    if mode == "plain":
        return plain
    return prefixed or plain


def accounts(payload: Any) -> set[tuple[str, str]]:
    return {
        ("linkedin", id_of(dict_of(item).get("organizationalEntity")))
        for item in list_of(dict_of(payload).get("notifications"))
        if id_of(dict_of(item).get("organizationalEntity"))
    }


def delivery_id(payload: Any, body: bytes) -> str:
    """Deliveries are deduplicated on their notification ids (LinkedIn retries for 8 hours)."""
    ids = sorted(
        id_of(dict_of(item).get("notificationId")) for item in list_of(dict_of(payload).get("notifications"))
    )
    joined = ",".join(i for i in ids if i)
    if joined and len(joined) <= 300:
        return "n:" + joined
    return "sha256:" + body_digest(body)


def post_of(comment_urn: str) -> str | None:
    """``urn:li:comment:(urn:li:activity:1,2)`` → ``urn:li:activity:1`` (the post a comment is on)."""
    prefix = "urn:li:comment:("
    if not comment_urn.startswith(prefix) or not comment_urn.endswith(")"):
        return None
    inner = comment_urn[len(prefix) : -1]
    post, _, _ = inner.rpartition(",")
    return post or None


def parse(payload: Any, *, platform: str, account: str, account_id: str) -> list[ChannelEvent]:
    events: list[ChannelEvent] = []
    for item in map(dict_of, list_of(dict_of(payload).get("notifications"))):
        if id_of(item.get("organizationalEntity")) != account_id:
            continue
        action = text_of(item.get("action"))
        activity = id_of(item.get("generatedActivity"))
        at = from_epoch(item.get("lastModifiedAt"))
        decorated = dict_of(item.get("decoratedGeneratedActivity"))
        if action in _NOT_MESSAGES:
            events.append(Ignored(what=f"linkedin:{action}", reason="not a customer message"))
            continue
        if action in {"COMMENT_EDIT", "COMMENT_DELETE"}:
            comment = dict_of(decorated.get("comment"))
            events.append(
                MessageChanged(
                    platform="linkedin",
                    account=account,
                    external_id=activity,
                    change="edited" if action == "COMMENT_EDIT" else "removed",
                    at=at,
                    text=_text(comment) if action == "COMMENT_EDIT" else None,
                )
            )
            continue
        if action not in {"COMMENT", "SHARE_MENTION"} or not activity:
            events.append(Ignored(what=f"linkedin:{action or 'unknown'}", reason="action not handled"))
            continue
        content = (
            dict_of(decorated.get("comment"))
            if action == "COMMENT"
            else (dict_of(decorated.get("share")) or dict_of(decorated.get("post")))
        )
        owner = id_of(content.get("owner")) or id_of(content.get("actor")) or id_of(content.get("author"))
        if owner == account_id:
            events.append(Ignored(what=f"linkedin:{action}", reason="written by the organisation itself"))
            continue
        parent = id_of(content.get("parentComment"))
        source_post = id_of(item.get("sourcePost"))
        events.append(
            InboundMessage(
                platform="linkedin",
                account=account,
                external_id=activity,
                direction="in",
                kind="comment" if action == "COMMENT" else "post",
                text=_text(content),
                created_at=at,
                author=Author(id=owner, name=text_of(content.get("ownerName"))) if owner else None,
                in_reply_to=parent or None,
                thread_id=None if parent else activity,
                extra={
                    "notification_id": id_of(item.get("notificationId")),
                    "source_post": source_post,
                    "subject": ("Comment on " if action == "COMMENT" else "Mention in ")
                    + (source_post or "a post"),
                },
            )
        )
    return events


def _text(content: dict[str, Any]) -> str:
    text = content.get("text") or content.get("commentary") or dict_of(content.get("message")).get("text")
    return text_of(text) or "(no text in the notification; open it on LinkedIn)"
