"""X webhooks (Account Activity API and the newer X Activity API envelope) verified and parsed.

CRC: ``GET ?crc_token=`` → ``{"response_token": "sha256=<base64 HMAC-SHA256(consumer secret, token)>"}``.
Deliveries carry ``x-twitter-webhooks-signature: sha256=<base64 HMAC of the raw body>``. Mentions and
replies become conversations keyed by the reply chain; DMs one conversation per participant. The
brand's own posts never come back as customer messages. Facts: PROTOCOLS.md §2.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from tilsvar.channels.activity import (
    AccessRevoked,
    ChannelEvent,
    Ignored,
    MessageChanged,
    Receipt,
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

SIGNATURE_HEADER = "x-twitter-webhooks-signature"
_IGNORED_KEYS = (
    "favorite_events",
    "follow_events",
    "unfollow_events",
    "block_events",
    "unblock_events",
    "mute_events",
    "unmute_events",
    "direct_message_indicate_typing_events",
)


def _b64_hmac(secret: str, message: bytes) -> str:
    return "sha256=" + base64.b64encode(hmac_sha256(secret, message)).decode()


def crc_response(crc_token: str, consumer_secret: str) -> dict[str, str]:
    return {"response_token": _b64_hmac(consumer_secret, crc_token.encode())}


def sign(body: bytes, consumer_secret: str) -> str:
    return _b64_hmac(consumer_secret, body)


def verify_signature(body: bytes, header: str | None, consumer_secret: str) -> bool:
    if not header or not consumer_secret:
        return False
    return same(_b64_hmac(consumer_secret, body), header.strip())


def accounts(payload: Any) -> set[tuple[str, str]]:
    payload = dict_of(payload)
    found = {id_of(payload.get("for_user_id"))}
    data = dict_of(payload.get("data"))
    found.add(id_of(dict_of(data.get("filter")).get("user_id")))
    revoke = dict_of(dict_of(payload.get("user_event")).get("revoke"))
    found.add(id_of(dict_of(revoke.get("source")).get("user_id")))
    return {("x", account_id) for account_id in found if account_id}


def delivery_id(payload: Any, body: bytes) -> str:
    """X Activity API events carry ``event_uuid``; Account Activity deliveries are identified by bytes."""
    event_uuid = id_of(dict_of(dict_of(payload).get("data")).get("event_uuid"))
    return f"xaa:{event_uuid}" if event_uuid else "sha256:" + body_digest(body)


def parse(payload: Any, *, platform: str, account: str, account_id: str) -> list[ChannelEvent]:
    payload = dict_of(payload)
    parser = _Parser(account=account, account_id=account_id)
    if "data" in payload and "event_type" in dict_of(payload.get("data")):
        return parser.activity(dict_of(payload["data"]))
    owner = id_of(payload.get("for_user_id"))
    revoke = dict_of(dict_of(payload.get("user_event")).get("revoke"))
    if revoke:
        if id_of(dict_of(revoke.get("source")).get("user_id")) in {account_id, ""}:
            return [
                AccessRevoked(platform="x", account=account, reason="the X account revoked Tilsvar's access")
            ]
        return []
    if owner and owner != account_id:
        return []
    return parser.account_activity(payload)


class _Parser:
    def __init__(self, *, account: str, account_id: str) -> None:
        self.account = account
        self.account_id = account_id

    def account_activity(self, payload: dict[str, Any]) -> list[ChannelEvent]:
        events: list[ChannelEvent] = []
        for tweet in map(dict_of, list_of(payload.get("tweet_create_events"))):
            events.append(self.tweet(tweet))
        for deleted in map(dict_of, list_of(payload.get("tweet_delete_events"))):
            status = dict_of(deleted.get("status"))
            events.append(
                MessageChanged(
                    platform="x",
                    account=self.account,
                    external_id=id_of(status.get("id")),
                    change="removed",
                    at=from_epoch(deleted.get("timestamp_ms")),
                )
            )
        users = dict_of(payload.get("users"))
        for event in map(dict_of, list_of(payload.get("direct_message_events"))):
            events.append(self.legacy_dm(event, users))
        for read in map(dict_of, list_of(payload.get("direct_message_mark_read_events"))):
            reader = id_of(read.get("sender_id"))
            if reader and reader != self.account_id:
                events.append(
                    Receipt(
                        platform="x",
                        account=self.account,
                        status="read",
                        recipient_id=reader,
                        watermark=from_epoch(read.get("created_timestamp")),
                    )
                )
        for key in _IGNORED_KEYS:
            if payload.get(key):
                events.append(Ignored(what=f"x:{key}", reason="not a message"))
        return events

    def tweet(self, tweet: dict[str, Any]) -> ChannelEvent:
        user = dict_of(tweet.get("user"))
        author_id = id_of(user.get("id_str")) or id_of(user.get("id"))
        external_id = id_of(tweet.get("id_str")) or id_of(tweet.get("id"))
        if author_id == self.account_id:
            return Ignored(what="x:tweet", reason="the brand's own post")
        if tweet.get("retweeted_status"):
            return Ignored(what="x:retweet", reason="a retweet is not a message")
        text = text_of(tweet.get("text")) or text_of(tweet.get("full_text"))
        if tweet.get("truncated"):
            text = text_of(dict_of(tweet.get("extended_tweet")).get("full_text")) or text
        in_reply_to = id_of(tweet.get("in_reply_to_status_id_str")) or id_of(
            tweet.get("in_reply_to_status_id")
        )
        return InboundMessage(
            platform="x",
            account=self.account,
            external_id=external_id,
            direction="in",
            kind="comment" if in_reply_to else "post",
            text=text,
            created_at=_tweet_time(tweet),
            author=Author(
                id=author_id,
                handle="@" + text_of(user.get("screen_name")),
                name=text_of(user.get("name")),
                followers=followers_of(user),
            ),
            in_reply_to=in_reply_to or None,
            extra={"quoted": True} if tweet.get("is_quote_status") else {},
        )

    def legacy_dm(self, event: dict[str, Any], users: dict[str, Any]) -> ChannelEvent:
        if text_of(event.get("type")) not in {"message_create", ""}:
            return Ignored(what=f"x:dm:{event.get('type')}", reason="not a message")
        create = dict_of(event.get("message_create"))
        data = dict_of(create.get("message_data"))
        text = text_of(data.get("text"))
        media = dict_of(dict_of(data.get("attachment")).get("media"))
        if media:
            text = "\n".join(
                part
                for part in (
                    text,
                    f"[{text_of(media.get('type')) or 'media'}] {text_of(media.get('media_url_https'))}",
                )
                if part
            )
        return self._dm(
            external_id=id_of(event.get("id")),
            sender=id_of(create.get("sender_id")),
            recipient=id_of(dict_of(create.get("target")).get("recipient_id")),
            text=text,
            at=from_epoch(event.get("created_timestamp")),
            users=users,
        )

    def _dm(
        self, *, external_id: str, sender: str, recipient: str, text: str, at: datetime, users: dict[str, Any]
    ) -> ChannelEvent:
        if not external_id:
            return Ignored(what="x:dm", reason="no id")
        if sender == self.account_id:
            # Sent by the brand (from X itself, or our own send's echo, which has our id already).
            return InboundMessage(
                platform="x",
                account=self.account,
                external_id=external_id,
                direction="out",
                kind="dm",
                text=text,
                created_at=at,
                thread_id=f"dm:{recipient}",
            )
        user = dict_of(users.get(sender))
        return InboundMessage(
            platform="x",
            account=self.account,
            external_id=external_id,
            direction="in",
            kind="dm",
            text=text,
            created_at=at,
            author=Author(
                id=sender,
                handle="@" + text_of(user.get("screen_name")) if user.get("screen_name") else "",
                name=text_of(user.get("name")),
                followers=followers_of(user),
            ),
            thread_id=f"dm:{sender}",
        )

    # --- X Activity API --------------------------------------------------------------------------

    def activity(self, data: dict[str, Any]) -> list[ChannelEvent]:
        event_type = text_of(data.get("event_type"))
        payload = dict_of(data.get("payload"))
        if id_of(dict_of(data.get("filter")).get("user_id")) not in {self.account_id, ""}:
            return []
        if event_type.startswith("dm."):
            if "direct_message_events" in payload:  # the legacy wrapper some deliveries use
                users = dict_of(payload.get("users"))
                return [
                    self.legacy_dm(dict_of(event), users)
                    for event in list_of(payload["direct_message_events"])
                ]
            return [
                self._dm(
                    external_id=id_of(payload.get("id")) or id_of(payload.get("dm_event_id")),
                    sender=id_of(payload.get("sender_id")),
                    recipient=next(
                        (
                            id_of(p)
                            for p in list_of(payload.get("participant_ids"))
                            if id_of(p) != id_of(payload.get("sender_id"))
                        ),
                        "",
                    ),
                    text=text_of(payload.get("text")),
                    at=_iso_time(payload.get("created_at")),
                    users={},
                )
            ]
        if event_type == "post.create":
            author_id = id_of(payload.get("author_id"))
            if author_id == self.account_id:
                return [Ignored(what="x:post.create", reason="the brand's own post")]
            parent = next(
                (
                    id_of(dict_of(ref).get("id"))
                    for ref in list_of(payload.get("referenced_tweets"))
                    if dict_of(ref).get("type") == "replied_to"
                ),
                "",
            )
            author = dict_of(payload.get("author")) or _included_user(
                dict_of(data.get("includes")), author_id
            )
            return [
                InboundMessage(
                    platform="x",
                    account=self.account,
                    external_id=id_of(payload.get("id")),
                    direction="in",
                    kind="comment" if parent else "post",
                    text=text_of(payload.get("text")),
                    created_at=_iso_time(payload.get("created_at")),
                    author=Author(
                        id=author_id,
                        handle="@" + text_of(author.get("username")) if author.get("username") else "",
                        name=text_of(author.get("name")),
                        followers=followers_of(author),
                    ),
                    in_reply_to=parent or None,
                )
            ]
        if event_type == "post.delete":
            return [
                MessageChanged(
                    platform="x",
                    account=self.account,
                    external_id=id_of(payload.get("id")),
                    change="removed",
                    at=datetime.now(UTC),
                )
            ]
        if "revoke" in event_type:
            return [
                AccessRevoked(
                    platform="x", account=self.account, reason="the X account revoked Tilsvar's access"
                )
            ]
        return [Ignored(what=f"x:{event_type or 'unknown'}", reason="event type not handled")]


def _included_user(includes: dict[str, Any], user_id: str) -> dict[str, Any]:
    for user in map(dict_of, list_of(includes.get("users"))):
        if id_of(user.get("id")) == user_id:
            return user
    return {}


def _tweet_time(tweet: dict[str, Any]) -> datetime:
    if tweet.get("timestamp_ms"):
        return from_epoch(tweet["timestamp_ms"])
    try:  # "Sat Nov 28 05:30:03 +0000 2020"
        return datetime.strptime(text_of(tweet.get("created_at")), "%a %b %d %H:%M:%S %z %Y").astimezone(UTC)
    except ValueError:
        return datetime.now(UTC)


def _iso_time(value: Any) -> datetime:
    try:
        parsed = datetime.fromisoformat(text_of(value).replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(UTC)
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def followers_of(user: dict[str, Any]) -> int | None:
    """The follower count of a v1.1 user (``followers_count``) or a v2 user
    (``public_metrics.followers_count``); None when the payload does not say."""
    value = user.get("followers_count")
    if value is None:
        value = dict_of(user.get("public_metrics")).get("followers_count")
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    try:
        return max(int(value), 0)
    except ValueError:
        return None
