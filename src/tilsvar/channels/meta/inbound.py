"""Meta webhooks (Facebook Page feed, Messenger, Instagram) verified and parsed into ``ChannelEvent``.

One endpoint serves all three: ``object`` is ``page`` (Facebook feed and Messenger) or ``instagram``.
Payloads are batched (``entry[]``, each with ``changes[]`` or ``messaging[]``/``standby[]``), so a
parser takes the entries of one account (page id or Instagram account id) and skips the rest.
Facts and shapes: PROTOCOLS.md §1; recorded payloads in ``../shared/platforms/recorded/``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tilsvar.channels.activity import (
    ChannelEvent,
    Ignored,
    MessageChanged,
    Receipt,
    dict_of,
    from_epoch,
    hmac_sha256,
    id_of,
    list_of,
    same,
    text_of,
)
from tilsvar.channels.base import Author, InboundMessage

SIGNATURE_HEADER = "X-Hub-Signature-256"
# The metadata we attach to every Messenger send, so its echo is recognised as ours.
OUR_METADATA_PREFIX = "tilsvar:"

_OBJECT_PLATFORM = {"page": "facebook", "instagram": "instagram"}
_FEED_POST_ITEMS = frozenset({"post", "status", "photo", "video", "share", "link"})


def verify_signature(body: bytes, header: str | None, app_secret: str) -> bool:
    """``X-Hub-Signature-256: sha256=<hex>`` is HMAC-SHA256 of the raw body with the app secret."""
    if not header or not app_secret or not header.startswith("sha256="):
        return False
    expected = hmac_sha256(app_secret, body).hex()
    return same(expected, header[len("sha256=") :].strip().lower())


def sign(body: bytes, app_secret: str) -> str:
    """The header value Meta would send (tests and the simulator sign with it)."""
    return "sha256=" + hmac_sha256(app_secret, body).hex()


def handshake(
    *, mode: str | None, verify_token: str | None, challenge: str | None, tokens: Iterable[str]
) -> str | None:
    """The challenge to echo when ``hub.verify_token`` matches one of ``tokens``; None means 403."""
    if mode != "subscribe" or not verify_token or challenge is None:
        return None
    matched = False
    for token in tokens:
        matched |= bool(token) and same(token, verify_token)
    return challenge if matched else None


def envelopes(payload: Any) -> list[dict[str, Any]]:
    """The ``{"object", "entry"}`` envelopes of a payload (the Instagram docs wrap one in a list)."""
    if isinstance(payload, list):
        return [item for item in payload if isinstance(item, dict)]
    return [payload] if isinstance(payload, dict) else []


def accounts(payload: Any) -> set[tuple[str, str]]:
    """The (platform, account id) pairs a payload concerns: its routing keys."""
    found: set[tuple[str, str]] = set()
    for envelope in envelopes(payload):
        platform = _OBJECT_PLATFORM.get(text_of(envelope.get("object")))
        if platform is None:
            continue
        for entry in list_of(envelope.get("entry")):
            account_id = id_of(dict_of(entry).get("id"))
            if account_id:
                found.add((platform, account_id))
    return found


def parse(payload: Any, *, platform: str, account: str, account_id: str) -> list[ChannelEvent]:
    """Every event of ``payload`` for one channel (``platform`` + ``account_id``), in order."""
    events: list[ChannelEvent] = []
    for envelope in envelopes(payload):
        if _OBJECT_PLATFORM.get(text_of(envelope.get("object"))) != platform:
            continue
        for entry in map(dict_of, list_of(envelope.get("entry"))):
            if id_of(entry.get("id")) != account_id:
                continue
            context = _Context(platform=platform, account=account, account_id=account_id)
            changes = list_of(entry.get("changes"))
            if "field" in entry and "value" in entry:  # the Instagram docs' flattened variant
                changes = [*changes, {"field": entry["field"], "value": entry["value"]}]
            for change in map(dict_of, changes):
                events.extend(context.change(change))
            for item in list_of(entry.get("messaging")) + list_of(entry.get("standby")):
                events.extend(context.messaging(dict_of(item)))
    return events


class _Context:
    def __init__(self, *, platform: str, account: str, account_id: str) -> None:
        self.platform = platform
        self.account = account
        self.account_id = account_id

    # --- feed and comments -------------------------------------------------------------------

    def change(self, change: dict[str, Any]) -> list[ChannelEvent]:
        field = text_of(change.get("field"))
        value = dict_of(change.get("value"))
        if field == "feed" and self.platform == "facebook":
            return self.feed(value)
        if field in {"comments", "live_comments"} and self.platform == "instagram":
            return self.instagram_comment(value, live=field == "live_comments")
        if field == "mentions" and self.platform == "instagram":
            return self.instagram_mention(value)
        if field == "messages":  # dashboard test events carry a messaging item in a change
            return self.messaging(value)
        return [Ignored(what=f"{self.platform}:{field or 'unknown'}", reason="field not handled")]

    def feed(self, value: dict[str, Any]) -> list[ChannelEvent]:
        item = text_of(value.get("item"))
        verb = text_of(value.get("verb"))
        author = dict_of(value.get("from"))
        author_id = id_of(author.get("id"))
        at = from_epoch(value.get("created_time"))
        if item == "comment":
            external_id = id_of(value.get("comment_id"))
        elif item in _FEED_POST_ITEMS:
            external_id = id_of(value.get("post_id"))
        else:
            return [
                Ignored(what=f"feed:{item or 'unknown'}", reason="item not handled", details={"verb": verb})
            ]
        if not external_id:
            return [Ignored(what=f"feed:{item}", reason="no id")]
        if verb in {"edited", "edit", "update"}:
            return [self._changed(external_id, "edited", at, text_of(value.get("message")))]
        if verb in {"remove", "delete"}:
            return [self._changed(external_id, "removed", at)]
        if verb in {"hide", "unhide"}:
            return [self._changed(external_id, "hidden" if verb == "hide" else "unhidden", at)]
        if verb != "add":
            return [Ignored(what=f"feed:{item}:{verb}", reason="verb not handled")]
        if author_id == self.account_id:
            # The Page's own comments and posts (including our replies) are never customer messages.
            return [Ignored(what=f"feed:{item}", reason="written by the page itself")]
        post_id = id_of(value.get("post_id"))
        post = dict_of(value.get("post"))
        extra: dict[str, Any] = {"post_id": post_id}
        if post:
            extra["post"] = post
        for key in ("photo", "video", "link", "permalink_url"):
            if value.get(key):
                extra[key] = value[key]
        in_reply_to: str | None = None
        thread_id: str | None = None
        if item == "comment":
            parent_id = id_of(value.get("parent_id"))
            if parent_id and parent_id != post_id:
                in_reply_to = parent_id  # a reply joins its comment's conversation
            else:
                thread_id = external_id  # each top-level comment is its own conversation
            extra["subject"] = _post_subject(post, post_id)
        else:
            thread_id = external_id
        return [
            InboundMessage(
                platform=self.platform,
                account=self.account,
                external_id=external_id,
                direction="in",
                kind="comment" if item == "comment" else "post",
                text=text_of(value.get("message")),
                created_at=at,
                author=Author(id=author_id, name=text_of(author.get("name"))) if author_id else None,
                in_reply_to=in_reply_to,
                thread_id=thread_id,
                extra=extra,
            )
        ]

    def instagram_comment(self, value: dict[str, Any], *, live: bool) -> list[ChannelEvent]:
        # The reference calls the id ``id``; the Facebook-login example calls it ``comment_id``.
        external_id = id_of(value.get("id")) or id_of(value.get("comment_id"))
        if not external_id:
            return [Ignored(what="instagram:comments", reason="no comment id")]
        author = dict_of(value.get("from"))
        author_id = id_of(author.get("id"))
        if author_id == self.account_id:
            return [Ignored(what="instagram:comments", reason="written by the account itself")]
        media = dict_of(value.get("media"))
        parent_id = id_of(value.get("parent_id"))
        extra: dict[str, Any] = {"media": media} if media else {}
        extra["subject"] = (
            f"Comment on Instagram {'live' if live else 'media'} {id_of(media.get('id'))}".strip()
        )
        return [
            InboundMessage(
                platform=self.platform,
                account=self.account,
                external_id=external_id,
                direction="in",
                kind="comment",
                text=text_of(value.get("text")),
                created_at=from_epoch(value.get("timestamp") or value.get("created_time")),
                author=Author(id=author_id, handle=text_of(author.get("username"))) if author_id else None,
                in_reply_to=parent_id or None,
                thread_id=None if parent_id else external_id,
                extra=extra,
            )
        ]

    def instagram_mention(self, value: dict[str, Any]) -> list[ChannelEvent]:
        comment_id = id_of(value.get("comment_id"))
        media_id = id_of(value.get("media_id"))
        if not comment_id and not media_id:
            return [Ignored(what="instagram:mentions", reason="no id")]
        external_id = comment_id or media_id
        return [
            InboundMessage(
                platform=self.platform,
                account=self.account,
                external_id=external_id,
                direction="in",
                kind="comment" if comment_id else "post",
                text=text_of(value.get("text")) or "(mentioned the account; open it on Instagram to read it)",
                created_at=from_epoch(value.get("timestamp")),
                thread_id=external_id,
                extra={"media_id": media_id, "mention": True, "subject": "Mention on Instagram"},
            )
        ]

    # --- Messenger and Instagram Direct --------------------------------------------------------

    def messaging(self, item: dict[str, Any]) -> list[ChannelEvent]:
        sender = id_of(dict_of(item.get("sender")).get("id"))
        recipient = id_of(dict_of(item.get("recipient")).get("id"))
        at = from_epoch(item.get("timestamp"))
        if "message" in item:
            return self.message(dict_of(item["message"]), sender=sender, recipient=recipient, at=at)
        if "delivery" in item:
            delivery = dict_of(item["delivery"])
            return [
                Receipt(
                    platform=self.platform,
                    account=self.account,
                    status="delivered",
                    recipient_id=sender,
                    external_ids=tuple(id_of(mid) for mid in list_of(delivery.get("mids")) if id_of(mid)),
                    watermark=from_epoch(delivery["watermark"]) if delivery.get("watermark") else None,
                )
            ]
        if "read" in item:
            read = dict_of(item["read"])
            mid = id_of(read.get("mid"))
            return [
                Receipt(
                    platform=self.platform,
                    account=self.account,
                    status="read",
                    recipient_id=sender,
                    external_ids=(mid,) if mid else (),
                    watermark=from_epoch(read["watermark"]) if read.get("watermark") else None,
                )
            ]
        if "postback" in item:
            postback = dict_of(item["postback"])
            title = text_of(postback.get("title")) or text_of(postback.get("payload"))
            external_id = id_of(postback.get("mid")) or f"postback:{sender}:{item.get('timestamp')}"
            return [
                self._dm(external_id, f"[button] {title}", sender=sender, at=at, extra={"postback": postback})
            ]
        kinds = sorted(key for key in item if key not in {"sender", "recipient", "timestamp"})
        return [Ignored(what=f"messaging:{','.join(kinds) or 'empty'}", reason="event not handled")]

    def message(self, message: dict[str, Any], *, sender: str, recipient: str, at: Any) -> list[ChannelEvent]:
        mid = id_of(message.get("mid"))
        if not mid:
            return [Ignored(what="messaging:message", reason="no mid")]
        if message.get("is_deleted"):
            return [self._changed(mid, "removed", at)]
        text = _message_text(message)
        extra: dict[str, Any] = {}
        attachments = list_of(message.get("attachments"))
        if attachments:
            extra["attachments"] = attachments
        reply_to = id_of(dict_of(message.get("reply_to")).get("mid")) or None
        if message.get("is_echo") or sender == self.account_id:
            if text_of(message.get("metadata")).startswith(OUR_METADATA_PREFIX):
                return [Ignored(what="messaging:echo", reason="our own send")]
            # A reply written in Meta's own inbox: keep it as the brand's answer.
            return [
                InboundMessage(
                    platform=self.platform,
                    account=self.account,
                    external_id=mid,
                    direction="out",
                    kind="dm",
                    text=text,
                    created_at=at,
                    thread_id=f"dm:{recipient}",
                    extra={**extra, "echo": True},
                )
            ]
        if message.get("quick_reply"):
            extra["quick_reply"] = message["quick_reply"]
        return [self._dm(mid, text, sender=sender, at=at, extra=extra, reply_to=reply_to)]

    def _dm(
        self,
        external_id: str,
        text: str,
        *,
        sender: str,
        at: Any,
        extra: dict[str, Any],
        reply_to: str | None = None,
    ) -> InboundMessage:
        return InboundMessage(
            platform=self.platform,
            account=self.account,
            external_id=external_id,
            direction="in",
            kind="dm",
            text=text,
            created_at=at,
            author=Author(id=sender) if sender else None,
            thread_id=f"dm:{sender}",
            extra={**extra, "reply_to": reply_to} if reply_to else extra,
        )

    def _changed(self, external_id: str, change: Any, at: Any, text: str | None = None) -> MessageChanged:
        return MessageChanged(
            platform=self.platform,
            account=self.account,
            external_id=external_id,
            change=change,
            at=at,
            text=text,
        )


def _message_text(message: dict[str, Any]) -> str:
    """The text an agent sees: the message's text, then one line per attachment."""
    lines = [text_of(message.get("text"))] if message.get("text") else []
    for attachment in map(dict_of, list_of(message.get("attachments"))):
        kind = text_of(attachment.get("type")) or "attachment"
        payload = dict_of(attachment.get("payload"))
        url = text_of(payload.get("url"))
        title = text_of(attachment.get("title"))
        lines.append(" ".join(part for part in (f"[{kind}]", title, url) if part))
    if message.get("is_unsupported"):
        lines.append("[a message type the API does not show; open it in Meta's inbox]")
    return "\n".join(lines)


def _post_subject(post: dict[str, Any], post_id: str) -> str:
    message = text_of(post.get("message"))
    if message:
        return f"Comment on: {message[:200]}"
    return f"Comment on post {post_id}" if post_id else "Comment"
