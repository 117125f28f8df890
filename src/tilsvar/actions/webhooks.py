"""Platform webhooks: receive (verify, store the raw delivery, enqueue its processing, all in one
transaction, so the platform gets its 200 fast and nothing is lost), then process a stored delivery
into messages and changes to stored messages, and mark channels whose access has gone.

Channels are found by the platform's account id (page id, Instagram account id, X user id, LinkedIn
organisation URN) kept in the channel's config as ``account_id``; each channel's secrets (app secret,
verify token, consumer secret, client secret, access token) come from its encrypted credentials.
A raw delivery is stored once per channel it concerns, unique on (source, "<channel id>:<delivery
id>"), so a redelivered webhook is recognised and ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tilsvar.actions.common import audit
from tilsvar.actions.ingest import do_ingest_messages
from tilsvar.actions.org import channel_credentials
from tilsvar.channels import InboundMessage
from tilsvar.channels.activity import (
    AccessRevoked,
    ChannelEvent,
    Ignored,
    MessageChanged,
    Receipt,
    body_digest,
)
from tilsvar.channels.webhooks import FAMILIES, WebhookFamily
from tilsvar.events import ChannelStatusChanged, ConversationUpdated, Event, record_events
from tilsvar.jobs.queue import enqueue
from tilsvar.models import Brand, Channel, Conversation, Message, RawEvent, utcnow
from tilsvar.models.base import table_of

log = logging.getLogger(__name__)
KEPT_HEADERS = (
    "content-type",
    "user-agent",
    "x-hub-signature-256",
    "x-twitter-webhooks-signature",
    "x-li-signature",
)


@dataclass(frozen=True, slots=True)
class WebhookChannel:
    """What receiving a webhook needs to know about a channel (secrets decrypted)."""

    id: int
    platform: str
    account: str
    account_id: str
    credentials: dict[str, Any]
    config: dict[str, Any]


def webhook_channels(session: Session, *, platforms: Sequence[str]) -> list[WebhookChannel]:
    """The channels of ``platforms`` that have a platform account id, oldest first."""
    found = []
    for channel in session.scalars(
        select(Channel).where(Channel.platform.in_(platforms)).order_by(Channel.id)
    ):
        config = dict(channel.config or {})
        account_id = str(config.get("account_id") or "")
        if not account_id:
            continue
        try:
            credentials = channel_credentials(channel)
        except Exception:  # a key rotated away or a damaged value: this channel cannot verify anything
            log.warning("channel %s: credentials cannot be decrypted", channel.id)
            credentials = {}
        found.append(
            WebhookChannel(
                id=channel.id,
                platform=channel.platform,
                account=channel.account,
                account_id=account_id,
                credentials=credentials,
                config=config,
            )
        )
    return found


@dataclass(slots=True)
class WebhookOutcome:
    """The answer for the platform and what was kept."""

    status_code: Literal[200, 400, 403]
    detail: str = ""
    stored: list[int] = field(default_factory=list)
    duplicates: int = 0


def do_receive_webhook(
    session: Session, *, source: str, body: bytes, headers: dict[str, str]
) -> WebhookOutcome:
    """Verify one POSTed delivery and keep it; see the module docstring.

    Forged (no channel's secret verifies the signature) → 403 and nothing stored. Malformed JSON that
    is correctly signed → 400, kept as a rejected raw event. A valid delivery for accounts no channel
    has → 200, kept as ``unrouted``. Otherwise one raw event per concerned channel and a job each."""
    import json

    family = FAMILIES[source]
    signature = headers.get(family.signature_header.lower())
    channels = webhook_channels(session, platforms=family.platforms)
    try:
        payload: Any = json.loads(body)
    except ValueError as error:
        signer = _signer(family, channels, body, signature)
        if signer is None:
            return WebhookOutcome(403, "invalid signature")
        _store(
            session,
            source=source,
            rows=[(signer.id, f"{signer.id}:sha256:{body_digest(body)}")],
            body=body,
            headers=headers,
            status="rejected",
            error=f"malformed JSON: {error}",
        )
        return WebhookOutcome(400, f"malformed JSON: {error}")
    keys = family.accounts(payload)
    targeted = [channel for channel in channels if (channel.platform, channel.account_id) in keys]
    if not targeted:
        signer = _signer(family, channels, body, signature)
        if signer is None:
            return WebhookOutcome(403, "invalid signature or unknown account")
        log.warning("%s webhook for unknown accounts %s kept as unrouted", source, sorted(keys))
        outcome = WebhookOutcome(200, "no channel for this account")
        outcome.stored, outcome.duplicates = _store(
            session,
            source=source,
            rows=[(None, f"unrouted:sha256:{body_digest(body)}")],
            body=body,
            headers=headers,
            status="unrouted",
        )
        return outcome
    verified = [channel for channel in targeted if _verifies(family, channel, body, signature)]
    if not verified:
        return WebhookOutcome(403, "invalid signature")
    if len(verified) < len(targeted):
        log.warning(
            "%s webhook: signature does not verify for some channels; their entries are skipped", source
        )
    delivery = family.delivery_id(payload, body)
    outcome = WebhookOutcome(200)
    outcome.stored, outcome.duplicates = _store(
        session,
        source=source,
        rows=[(channel.id, f"{channel.id}:{delivery}") for channel in verified],
        body=body,
        headers=headers,
        status="stored",
    )
    return outcome


def _verifies(family: WebhookFamily, channel: WebhookChannel, body: bytes, signature: str | None) -> bool:
    secret = str(channel.credentials.get(family.signed_with) or "")
    return bool(secret) and family.verify(body, signature, secret, channel.config)


def _signer(
    family: WebhookFamily, channels: list[WebhookChannel], body: bytes, signature: str | None
) -> WebhookChannel | None:
    """Any channel whose secret verifies the delivery (when the payload itself names none)."""
    for channel in channels:
        if _verifies(family, channel, body, signature):
            return channel
    return None


def _store(
    session: Session,
    *,
    source: str,
    rows: list[tuple[int | None, str]],
    body: bytes,
    headers: dict[str, str],
    status: str,
    error: str = "",
) -> tuple[list[int], int]:
    """Insert raw events, skipping (source, key) pairs already stored; enqueue processing of new ones."""
    kept_headers = {name: headers[name] for name in KEPT_HEADERS if name in headers}
    table = table_of(RawEvent)
    dialect = session.get_bind().dialect.name
    stored: list[int] = []
    for channel_id, key in rows:
        values = {
            "source": source,
            "dedupe_key": key[:400],
            "channel_id": channel_id,
            "received_at": utcnow(),
            "headers": kept_headers,
            "body": body,
            "status": status,
            "error": error[:4000],
        }
        if dialect == "postgresql":
            statement: Any = postgresql.insert(table).values(**values).on_conflict_do_nothing()
        elif dialect == "sqlite":
            statement = sqlite.insert(table).values(**values).on_conflict_do_nothing()
        else:  # pragma: no cover - only the two supported backends
            statement = insert(table).values(**values)
        raw_id = session.execute(statement.returning(table.c.id)).scalar_one_or_none()
        if raw_id is None:
            continue
        stored.append(int(raw_id))
        if status == "stored":
            enqueue(session, queue="inbound", kind="webhook.process", payload={"raw_event_id": int(raw_id)})
    return stored, len(rows) - len(stored)


@dataclass(slots=True)
class ProcessResult:
    stored: int = 0
    duplicates: int = 0
    changed: int = 0
    receipts: int = 0
    ignored: int = 0


def do_process_webhook_event(
    session: Session, *, raw_event_id: int, events: Sequence[ChannelEvent]
) -> ProcessResult:
    """Apply the parsed events of one stored delivery: store new messages (through the one ingest
    path), apply edits, removals, hides and receipts to stored messages, and mark a channel whose
    access was revoked. Marks the raw event processed; running it twice changes nothing more."""
    raw = session.get_one(RawEvent, raw_event_id, with_for_update=True)
    result = ProcessResult()
    if raw.status == "processed" or raw.channel_id is None:
        return result
    channel = session.get_one(Channel, raw.channel_id)
    organization_id = session.scalar(select(Brand.organization_id).where(Brand.id == channel.brand_id))
    messages = [event for event in events if isinstance(event, InboundMessage)]
    if messages:
        ingested = do_ingest_messages(session, messages=messages, actor=f"webhook:{raw.source}")
        result.stored = len(ingested.stored)
        result.duplicates = len(ingested.duplicates)
    domain_events: list[Event] = []
    for event in events:
        if isinstance(event, MessageChanged):
            result.changed += _apply_change(session, channel=channel, change=event, events=domain_events)
        elif isinstance(event, Receipt):
            result.receipts += _apply_receipt(session, channel=channel, receipt=event)
        elif isinstance(event, AccessRevoked):
            _mark_needs_reconnect(
                session, channel=channel, reason=event.reason, organization_id=organization_id
            )
        elif isinstance(event, Ignored):
            result.ignored += 1
            log.debug("%s: ignored %s (%s)", raw.source, event.what, event.reason)
    for domain_event in domain_events:
        domain_event.organization_id = organization_id
    record_events(session, domain_events)
    raw.status = "processed"
    raw.error = ""
    return result


def _apply_change(session: Session, *, channel: Channel, change: MessageChanged, events: list[Event]) -> int:
    message = session.scalar(
        select(Message).where(Message.channel_id == channel.id, Message.external_id == change.external_id)
    )
    if message is None:
        return 0  # not ours to track (the page's own comment, or older than Tilsvar)
    if change.change == "edited" and change.text is not None:
        message.text = change.text
    message.platform_state = change.change
    events.append(
        ConversationUpdated(
            brand_id=channel.brand_id, conversation_id=message.conversation_id, fields=["messages"]
        )
    )
    return 1


def _apply_receipt(session: Session, *, channel: Channel, receipt: Receipt) -> int:
    """Mark our sent messages delivered or read (a read is never downgraded to delivered)."""
    query = update(Message).where(
        Message.channel_id == channel.id, Message.direction == "out", Message.delivery_state == "sent"
    )
    if receipt.status == "delivered":
        query = query.where(Message.platform_state != "read")
    if receipt.external_ids:
        query = query.where(Message.external_id.in_(receipt.external_ids))
    elif receipt.watermark is not None and receipt.recipient_id:
        conversation_ids = select(Conversation.id).where(
            Conversation.channel_id == channel.id, Conversation.thread_key == f"dm:{receipt.recipient_id}"
        )
        query = query.where(
            Message.conversation_id.in_(conversation_ids), Message.created_at <= receipt.watermark
        )
    else:
        return 0
    outcome = session.execute(query.values(platform_state=receipt.status))
    return int(outcome.rowcount)  # type: ignore[attr-defined]


def do_mark_channel_needs_reconnect(session: Session, *, channel_id: int, reason: str) -> None:
    """The platform refused the channel's token (or access was revoked): show it and alert."""
    channel = session.get_one(Channel, channel_id)
    organization_id = session.scalar(select(Brand.organization_id).where(Brand.id == channel.brand_id))
    _mark_needs_reconnect(session, channel=channel, reason=reason, organization_id=organization_id)


def _mark_needs_reconnect(
    session: Session, *, channel: Channel, reason: str, organization_id: int | None
) -> None:
    if channel.status == "needs_reconnect" and channel.status_reason == reason[:500]:
        return
    channel.status = "needs_reconnect"
    channel.status_reason = reason[:500]
    record_events(
        session,
        [
            ChannelStatusChanged(
                organization_id=organization_id,
                brand_id=channel.brand_id,
                channel_id=channel.id,
                status="needs_reconnect",
                reason=reason[:500],
            )
        ],
    )
    audit(
        session,
        action="channel.needs_reconnect",
        actor="worker",
        organization_id=organization_id,
        target_type="channel",
        target_id=channel.id,
        details={"reason": reason[:500]},
    )


def do_fail_webhook_event(session: Session, *, raw_event_id: int, error: str) -> None:
    """A stored delivery could not be processed: keep it, with the reason, for inspection."""
    session.execute(
        update(RawEvent).where(RawEvent.id == raw_event_id).values(status="failed", error=error[:4000])
    )
