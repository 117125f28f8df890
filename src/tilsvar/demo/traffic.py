"""Realistic, correctly signed webhook deliveries for every push platform, and the scenarios the
simulator plays (``tilsvar simulate``, the load benchmark, ``tilsvar demo --via-webhooks``).

A :class:`Target` is one connected channel as the platform sees it: its platform, account, the id
webhooks name it by and the secret that signs its deliveries. :class:`TrafficGenerator` turns a
scenario into a stream of :class:`Delivery` objects: bodies shaped like the platforms' documented
payloads (PROTOCOLS.md §1.5–1.7, §2.4, §3.1), signed the way each platform signs them (Meta
``X-Hub-Signature-256`` hex, X ``x-twitter-webhooks-signature`` base64, LinkedIn ``X-LI-Signature``),
with the platform ids each delivery should become. Pure: no database, no network.
"""

from __future__ import annotations

import itertools
import json
import random
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tilsvar.channels import linkedin, meta, x
from tilsvar.demo.people import Customer, customers
from tilsvar.demo.phrases import CUSTOMER, FOLLOW_UP

WEBHOOK_PLATFORMS = ("facebook", "instagram", "x", "linkedin")
SCENARIOS = ("steady", "chorus", "abuse", "burst")
SOURCE_OF = {"facebook": "meta", "instagram": "meta", "x": "x", "linkedin": "linkedin"}

# A wave of near-identical complaints (the trend detector's "chorus"): one outage, many voices.
CHORUS: dict[str, list[str]] = {
    "da": [
        "Alle tog fra Odense er aflyst i morges?! Hvad sker der?",
        "Igen aflyst fra Odense, ingen information på perronen",
        "Aflyst tog fra Odense, står på perronen og fryser",
    ],
    "sv": [
        "Alla tåg från Malmö inställda i morse?! Vad händer?",
        "Inställt tåg från Malmö igen, ingen information alls",
    ],
    "nb": [
        "Alle tog fra Drammen innstilt i dag?! Hva skjer?",
        "Innstilt tog fra Drammen igjen, ingen info på perrongen",
    ],
    "en": [
        "All trains from Odense cancelled this morning?! What is going on?",
        "Cancelled again from Odense, zero information on the platform",
        "My train from Odense is cancelled AGAIN. Signal failure or what?",
    ],
    "pl": ["Wszystkie pociągi z Odense odwołane?! Co się dzieje?"],
}
# Abuse and personal data, for moderation and redaction (fictional numbers and addresses).
ABUSE = [
    "You are fucking useless, worst railway in Europe",
    "I hope your whole board gets fired, idiots",
    "Det er simpelthen for pisse dårligt, I er nogle idioter",
    "Jävla skitbolag, ni är helt värdelösa",
    "Dere er noen jævla amatører",
    "Kurwa, znowu spóźnienie, banda idiotów",
    "My card number is 4111 1111 1111 1111, refund me NOW",
    "Call me on +45 22 33 44 55 or mail jens.k@example.dk, I want my money back",
    "Mit CPR-nummer er 010190-1234, hvorfor skal I bruge det?",
    "My IBAN is DK50 0040 0440 1162 43, send the refund there",
]
BURST = [
    "Train late again",
    "Where is my refund?",
    "App is down",
    "Toget er forsinket",
    "Tåget är försenat",
    "Pociąg spóźniony",
]


@dataclass(frozen=True, slots=True)
class Target:
    """One channel as its platform addresses it, with the secret that signs its webhooks."""

    platform: str
    account: str
    account_id: str
    secret: str
    signature_mode: str = "either"  # LinkedIn: either/prefixed/plain

    @property
    def source(self) -> str:
        return SOURCE_OF[self.platform]


@dataclass(frozen=True, slots=True)
class Delivery:
    """One signed POST, and the platform ids of the messages it should become."""

    platform: str
    path: str
    body: bytes
    headers: dict[str, str]
    external_ids: tuple[str, ...]
    text: str = ""
    redelivery: bool = False


def dumps(payload: Any) -> bytes:
    """Compact JSON with non-ASCII escaped, as Meta sends it (signatures are over these bytes)."""
    return json.dumps(payload, separators=(",", ":")).encode()


def sign(target: Target, body: bytes) -> dict[str, str]:
    """The headers a platform puts on a delivery of ``body`` to ``target``."""
    headers = {"content-type": "application/json"}
    if target.source == "meta":
        headers[meta.SIGNATURE_HEADER] = meta.sign(body, target.secret)
        headers["user-agent"] = "facebookexternalua"
    elif target.source == "x":
        headers[x.SIGNATURE_HEADER] = x.sign(body, target.secret)
    else:
        headers[linkedin.SIGNATURE_HEADER] = linkedin.sign(
            body, target.secret, prefixed=target.signature_mode != "plain"
        )
    return headers


@dataclass(slots=True)
class _Thread:
    """A public comment a later message may reply to (follow-ups keep threads realistic)."""

    target: Target
    external_id: str
    extra: dict[str, str] = field(default_factory=dict)


class TrafficGenerator:
    """Deliveries for a scenario, one at a time, with ids unique to this run."""

    def __init__(
        self, targets: Sequence[Target], *, scenario: str = "steady", rng: random.Random | None = None
    ) -> None:
        if scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {scenario!r}; one of {', '.join(SCENARIOS)}")
        usable = [target for target in targets if target.platform in WEBHOOK_PLATFORMS and target.secret]
        if scenario == "chorus":
            usable = [target for target in usable if target.platform in {"x", "facebook"}] or usable
        if not usable:
            raise ValueError("no channel with a webhook secret and an account id to send to")
        self.targets = usable
        self.scenario = scenario
        self.rng = rng or random.Random()
        self.people = customers(self.rng, 80)
        self.run_id = uuid.UUID(int=self.rng.getrandbits(128)).hex[:8]
        self._counter = itertools.count(1)
        self._base = int(time.time() * 1000) * 1000 + self.rng.randrange(1000)
        self._threads: list[_Thread] = []

    # --- ids and text ---------------------------------------------------------------------------

    def _number(self) -> str:
        """A numeric id (X and Graph ids are digits), unique within this run and across runs."""
        return str(self._base * 1000 + next(self._counter))

    def _text(self, customer: Customer) -> str:
        if self.scenario == "chorus":
            language = customer.language if customer.language in CHORUS else "en"
            return self.rng.choice(CHORUS[language])
        if self.scenario == "abuse":
            return self.rng.choice(ABUSE)
        if self.scenario == "burst":
            return f"{self.rng.choice(BURST)} #{next(self._counter)}"
        return self.rng.choice(CUSTOMER[customer.language])

    # --- the stream -----------------------------------------------------------------------------

    def next(self) -> Delivery:
        """The next delivery of the scenario."""
        customer = self.rng.choice(self.people)
        follow_up = self._threads and self.scenario == "steady" and self.rng.random() < 0.2
        if follow_up:
            thread = self.rng.choice(self._threads[-50:])
            text = self.rng.choice(FOLLOW_UP[customer.language])
            return self._comment(thread.target, customer, text, parent=thread)
        target = self.rng.choice(self.targets)
        text = self._text(customer)
        dm_share = {"facebook": 0.35, "instagram": 0.5, "x": 0.3}.get(target.platform, 0.0)
        if self.scenario in {"steady", "burst"} and self.rng.random() < dm_share:
            return self._dm(target, customer, text)
        return self._comment(target, customer, text)

    def batch(self, count: int) -> list[Delivery]:
        return [self.next() for _ in range(count)]

    def _remember(self, thread: _Thread) -> None:
        self._threads.append(thread)
        if len(self._threads) > 500:
            del self._threads[:250]

    def _comment(
        self, target: Target, customer: Customer, text: str, *, parent: _Thread | None = None
    ) -> Delivery:
        author_id = self._author_id(target, customer)
        if target.platform == "facebook":
            post_id = parent.extra["post_id"] if parent else f"{target.account_id}_{self._number()}"
            comment_id = f"{post_id.split('_')[-1]}_{self._number()}"
            payload = facebook_comment(
                target.account_id,
                comment_id=comment_id,
                post_id=post_id,
                parent_id=parent.external_id if parent else post_id,
                author_id=author_id,
                author_name=customer.name,
                text=text,
            )
            delivery = self._signed(target, payload, comment_id, text)
            self._remember(_Thread(target, comment_id, {"post_id": post_id}))
            return delivery
        if target.platform == "instagram":
            comment_id = self._number()
            media_id = parent.extra["media_id"] if parent else self._number()
            payload = instagram_comment(
                target.account_id,
                comment_id=comment_id,
                media_id=media_id,
                parent_id=parent.external_id if parent else None,
                author_id=author_id,
                username=customer.author("instagram").handle.lstrip("@"),
                text=text,
            )
            delivery = self._signed(target, payload, comment_id, text)
            self._remember(_Thread(target, comment_id, {"media_id": media_id}))
            return delivery
        if target.platform == "x":
            tweet_id = self._number()
            if not parent:
                text = f"@{target.account} {text}"
            payload = x_tweet(
                target.account_id,
                brand_handle=target.account,
                tweet_id=tweet_id,
                user_id=author_id,
                screen_name=customer.author("x").handle.lstrip("@"),
                name=customer.name,
                text=text,
                reply_to=parent.external_id if parent else None,
            )
            delivery = self._signed(target, payload, tweet_id, text)
            self._remember(_Thread(target, tweet_id))
            return delivery
        post = parent.extra["post"] if parent else f"urn:li:activity:{self._number()}"
        comment_urn = f"urn:li:comment:({post},{self._number()})"
        payload = linkedin_comment(
            target.account_id,
            notification_id=int(self._number()),
            comment_urn=comment_urn,
            post_urn=post,
            parent_urn=parent.external_id if parent else None,
            author_urn=f"urn:li:person:{author_id}",
            author_name=customer.name,
            text=text,
        )
        delivery = self._signed(target, payload, comment_urn, text)
        self._remember(_Thread(target, comment_urn, {"post": post}))
        return delivery

    def _dm(self, target: Target, customer: Customer, text: str) -> Delivery:
        author_id = self._author_id(target, customer)
        if target.platform in {"facebook", "instagram"}:
            mid = f"m_{self.run_id}{self._number()}"
            payload = messenger_dm(
                target.account_id,
                platform=target.platform,
                sender=author_id,
                mid=mid,
                text=text,
            )
            return self._signed(target, payload, mid, text)
        event_id = self._number()
        payload = x_dm(
            target.account_id,
            event_id=event_id,
            sender=author_id,
            screen_name=customer.author("x").handle.lstrip("@"),
            name=customer.name,
            text=text,
        )
        return self._signed(target, payload, event_id, text)

    def _author_id(self, target: Target, customer: Customer) -> str:
        digits = str(int(customer.key, 16))[:15]
        return {"facebook": "90" + digits, "instagram": "17" + digits, "x": "12" + digits}.get(
            target.platform, "p" + customer.key
        )

    def _signed(self, target: Target, body: bytes, external_id: str, text: str) -> Delivery:
        return Delivery(
            platform=target.platform,
            path=f"/webhooks/{target.source}",
            body=body,
            headers=sign(target, body),
            external_ids=(external_id,),
            text=text,
        )


def redelivery(delivery: Delivery) -> Delivery:
    """The same bytes and signature again, as a platform retrying a delivery sends them."""
    return Delivery(
        platform=delivery.platform,
        path=delivery.path,
        body=delivery.body,
        headers=dict(delivery.headers),
        external_ids=delivery.external_ids,
        text=delivery.text,
        redelivery=True,
    )


# --- payload shapes (PROTOCOLS.md) --------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def facebook_comment(
    page_id: str,
    *,
    comment_id: str,
    post_id: str,
    parent_id: str,
    author_id: str,
    author_name: str,
    text: str,
) -> bytes:
    """A Page ``feed`` change for a new comment (§1.5)."""
    now = _now()
    return dumps(
        {
            "object": "page",
            "entry": [
                {
                    "id": page_id,
                    "time": int(now.timestamp()),
                    "changes": [
                        {
                            "field": "feed",
                            "value": {
                                "from": {"id": author_id, "name": author_name},
                                "post": {
                                    "status_type": "added_photos",
                                    "is_published": True,
                                    "updated_time": now.strftime("%Y-%m-%dT%H:%M:%S+0000"),
                                    "promotion_status": "inactive",
                                    "id": post_id,
                                },
                                "message": text,
                                "post_id": post_id,
                                "comment_id": comment_id,
                                "created_time": int(now.timestamp()),
                                "item": "comment",
                                "parent_id": parent_id,
                                "verb": "add",
                            },
                        }
                    ],
                }
            ],
        }
    )


def messenger_dm(account_id: str, *, platform: str, sender: str, mid: str, text: str) -> bytes:
    """A Messenger (``object: page``) or Instagram (``object: instagram``) message (§1.6, §1.7)."""
    now_ms = int(_now().timestamp() * 1000)
    return dumps(
        {
            "object": "page" if platform == "facebook" else "instagram",
            "entry": [
                {
                    "id": account_id,
                    "time": now_ms,
                    "messaging": [
                        {
                            "sender": {"id": sender},
                            "recipient": {"id": account_id},
                            "timestamp": now_ms,
                            "message": {"mid": mid, "text": text},
                        }
                    ],
                }
            ],
        }
    )


def instagram_comment(
    account_id: str,
    *,
    comment_id: str,
    media_id: str,
    parent_id: str | None,
    author_id: str,
    username: str,
    text: str,
) -> bytes:
    """An Instagram ``comments`` change (§1.7)."""
    value: dict[str, Any] = {
        "from": {"id": author_id, "username": username},
        "media": {"id": media_id, "media_product_type": "FEED"},
        "id": comment_id,
        "text": text,
        "timestamp": int(_now().timestamp()),
    }
    if parent_id:
        value["parent_id"] = parent_id
    return dumps(
        {
            "object": "instagram",
            "entry": [
                {
                    "id": account_id,
                    "time": int(_now().timestamp()),
                    "changes": [{"field": "comments", "value": value}],
                }
            ],
        }
    )


def _tweet_time(now: datetime) -> str:
    return now.strftime("%a %b %d %H:%M:%S +0000 %Y")


def x_tweet(
    brand_id: str,
    *,
    brand_handle: str,
    tweet_id: str,
    user_id: str,
    screen_name: str,
    name: str,
    text: str,
    reply_to: str | None,
) -> bytes:
    """An Account Activity ``tweet_create_events`` delivery (§2.4)."""
    now = _now()
    return dumps(
        {
            "for_user_id": brand_id,
            "user_has_blocked": False,
            "tweet_create_events": [
                {
                    "created_at": _tweet_time(now),
                    "id": int(tweet_id),
                    "id_str": tweet_id,
                    "text": text,
                    "source": '<a href="https://mobile.twitter.com" rel="nofollow">Twitter Web App</a>',
                    "truncated": False,
                    "in_reply_to_status_id": int(reply_to) if reply_to else None,
                    "in_reply_to_status_id_str": reply_to,
                    "in_reply_to_user_id": int(brand_id) if brand_id.isdigit() else None,
                    "in_reply_to_user_id_str": brand_id,
                    "in_reply_to_screen_name": brand_handle,
                    "user": {"id": int(user_id), "id_str": user_id, "name": name, "screen_name": screen_name},
                    "entities": {"user_mentions": [{"screen_name": brand_handle, "id_str": brand_id}]},
                    "timestamp_ms": str(int(now.timestamp() * 1000)),
                }
            ],
        }
    )


def x_dm(brand_id: str, *, event_id: str, sender: str, screen_name: str, name: str, text: str) -> bytes:
    """An Account Activity ``direct_message_events`` delivery (§2.4)."""
    return dumps(
        {
            "for_user_id": brand_id,
            "direct_message_events": [
                {
                    "type": "message_create",
                    "id": event_id,
                    "created_timestamp": str(int(_now().timestamp() * 1000)),
                    "message_create": {
                        "target": {"recipient_id": brand_id},
                        "sender_id": sender,
                        "message_data": {
                            "text": text,
                            "entities": {"hashtags": [], "symbols": [], "user_mentions": [], "urls": []},
                        },
                    },
                }
            ],
            "users": {sender: {"id": sender, "name": name, "screen_name": screen_name}},
        }
    )


def linkedin_comment(
    organization: str,
    *,
    notification_id: int,
    comment_urn: str,
    post_urn: str,
    parent_urn: str | None,
    author_urn: str,
    author_name: str,
    text: str,
) -> bytes:
    """An ``ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS`` COMMENT (§3.1)."""
    comment: dict[str, Any] = {"text": text, "owner": author_urn, "ownerName": author_name}
    if parent_urn:
        comment["parentComment"] = parent_urn
    return dumps(
        {
            "type": "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS",
            "notifications": [
                {
                    "notificationId": notification_id,
                    "organizationalEntity": organization,
                    "action": "COMMENT",
                    "sourcePost": post_urn,
                    "generatedActivity": comment_urn,
                    "decoratedGeneratedActivity": {"comment": comment},
                    "lastModifiedAt": int(_now().timestamp() * 1000),
                    "subscriber": "urn:li:person:adminMemberId",
                }
            ],
        }
    )
