"""The webhook families (Meta, X, LinkedIn) described uniformly, so one receiving path serves them all.

A family says which platforms' channels it routes to, which credential signs its deliveries, how to
check the signature over the raw bytes, which accounts a payload concerns, what identifies one
delivery (for deduplication), and how to parse a stored delivery for one channel. Pure: no database.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tilsvar.channels import linkedin, meta, x
from tilsvar.channels.activity import ChannelEvent, body_digest

Verify = Callable[[bytes, str | None, str, dict[str, Any]], bool]
Parse = Callable[..., list[ChannelEvent]]


@dataclass(frozen=True, slots=True)
class WebhookFamily:
    source: str
    platforms: tuple[str, ...]
    signed_with: str  # the credential that signs deliveries
    signature_header: str
    verify: Verify
    accounts: Callable[[Any], set[tuple[str, str]]]  # (platform, account id) pairs of a payload
    delivery_id: Callable[[Any, bytes], str]
    parse: Parse


def _digest_id(_payload: Any, body: bytes) -> str:
    return "sha256:" + body_digest(body)


FAMILIES: dict[str, WebhookFamily] = {
    "meta": WebhookFamily(
        source="meta",
        platforms=("facebook", "instagram"),
        signed_with="app_secret",
        signature_header=meta.SIGNATURE_HEADER,
        verify=lambda body, header, secret, _config: meta.verify_signature(body, header, secret),
        accounts=meta.accounts,
        delivery_id=_digest_id,
        parse=meta.parse,
    ),
    "x": WebhookFamily(
        source="x",
        platforms=("x",),
        signed_with="consumer_secret",
        signature_header=x.SIGNATURE_HEADER,
        verify=lambda body, header, secret, _config: x.verify_signature(body, header, secret),
        accounts=x.accounts,
        delivery_id=x.delivery_id,
        parse=x.parse,
    ),
    "linkedin": WebhookFamily(
        source="linkedin",
        platforms=("linkedin",),
        signed_with="client_secret",
        signature_header=linkedin.SIGNATURE_HEADER,
        verify=lambda body, header, secret, config: linkedin.verify_signature(
            body, header, secret, str(config.get("signature_mode") or "either")
        ),
        accounts=linkedin.accounts,
        delivery_id=linkedin.delivery_id,
        parse=linkedin.parse,
    ),
}


def register_family(family: WebhookFamily) -> None:
    FAMILIES[family.source] = family


def parse_delivery(
    source: str, body: bytes, *, platform: str, account: str, account_id: str
) -> list[ChannelEvent]:
    """The events of one stored delivery for one channel; ``ValueError`` when it cannot be read."""
    family = FAMILIES.get(source)
    if family is None:
        raise ValueError(f"no webhook family {source!r}")
    payload = json.loads(body)
    return family.parse(payload, platform=platform, account=account, account_id=account_id)
