"""Simulated customers and how each platform's messages look, shared by the seed and the live stream."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime

from tilsvar.channels import Author, InboundMessage
from tilsvar.demo.phrases import BRAND, CUSTOMER, FOLLOW_UP, NAMES

LANGUAGES = tuple(CUSTOMER)
KINDS_BY_PLATFORM: dict[str, tuple[str, ...]] = {
    "facebook": ("comment", "comment", "dm"),
    "instagram": ("comment", "dm"),
    "x": ("comment",),
    "email": ("email",),
    "webchat": ("chat",),
    "api": ("chat",),
}


@dataclass(frozen=True, slots=True)
class Customer:
    language: str
    name: str
    key: str

    def author(self, platform: str) -> Author:
        handle = "@" + self.name.split()[0].casefold() + self.key[:4]
        if platform == "email":
            handle = f"{self.name.split()[0].casefold()}.{self.key[:4]}@example.org"
        return Author(id=f"{platform}-{self.key}", handle=handle, name=self.name)


def customers(rng: random.Random, count: int = 60) -> list[Customer]:
    people = []
    for _ in range(count):
        language = rng.choice(LANGUAGES)
        people.append(
            Customer(
                language=language,
                name=rng.choice(NAMES[language]),
                key=uuid.UUID(int=rng.getrandbits(128)).hex[:10],
            )
        )
    return people


def new_id() -> str:
    return f"demo-{uuid.uuid4().hex[:16]}"


def customer_message(
    rng: random.Random,
    *,
    platform: str,
    account: str,
    customer: Customer,
    created_at: datetime,
    in_reply_to: str | None = None,
    text: str | None = None,
    kind: str | None = None,
) -> InboundMessage:
    kind = kind or rng.choice(KINDS_BY_PLATFORM[platform])
    text = text or rng.choice(CUSTOMER[customer.language])
    if platform == "x" and not in_reply_to:
        text = f"@{account} {text}"
    return InboundMessage(
        platform=platform,
        account=account,
        external_id=new_id(),
        direction="in",
        kind=kind,
        text=text,
        created_at=created_at,
        author=customer.author(platform),
        in_reply_to=in_reply_to,
        thread_id=f"dm-{customer.key}" if kind == "dm" else None,
        extra={"subject": text[:60]} if kind == "email" else {},
    )


def follow_up_text(rng: random.Random, language: str) -> str:
    return rng.choice(FOLLOW_UP[language])


def brand_reply(
    rng: random.Random,
    *,
    platform: str,
    account: str,
    language: str,
    created_at: datetime,
    parent: InboundMessage,
) -> InboundMessage:
    return InboundMessage(
        platform=platform,
        account=account,
        external_id=new_id(),
        direction="out",
        kind=parent.kind,
        text=rng.choice(BRAND[language]),
        created_at=created_at,
        in_reply_to=parent.external_id,
        thread_id=parent.thread_id,
    )
