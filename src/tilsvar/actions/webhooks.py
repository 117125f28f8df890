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
from functools import cache
from typing import Any, Literal

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tilsvar.actions.common import audit
from tilsvar.actions.ingest import do_ingest_messages
from tilsvar.actions.org import decrypt_channel_credentials
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
from tilsvar.db import on_commit
from tilsvar.events import ChannelStatusChanged, ConversationUpdated, Event, record_events
from tilsvar.jobs.queue import wakeup
from tilsvar.models import Brand, Channel, Conversation, Job, Message, RawEvent, utcnow
from tilsvar.models.base import table_of
from tilsvar.privacy.sealing import seal_raw, sealed_columns
from tilsvar.settings import get_settings

log = logging.getLogger(__name__)
PROCESS_JOB = "webhook.process"
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


_WEBHOOK_CHANNELS = (
    select(Channel.id, Channel.platform, Channel.account, Channel.config, Channel.credentials_encrypted)
    .where(Channel.platform.in_(bindparam("platforms", expanding=True)))
    .order_by(Channel.id)
)


def webhook_channels(session: Session, *, platforms: Sequence[str]) -> list[WebhookChannel]:
    """The channels of ``platforms`` that have a platform account id, oldest first.

    Runs on every webhook, so it reads plain rows (no ORM objects) and takes decrypted credentials
    from the per-process cache, which is keyed by the ciphertext and so follows every change."""
    found = []
    # Core on the session's connection: the ORM's statement handling cost more than the query.
    rows = session.connection().execute(_WEBHOOK_CHANNELS, {"platforms": list(platforms)})
    for channel_id, platform, account, stored_config, encrypted in rows:
        config = dict(stored_config or {})
        account_id = str(config.get("account_id") or "")
        if not account_id:
            continue
        try:
            credentials = decrypt_channel_credentials(channel_id, encrypted)
        except Exception:  # a key rotated away or a damaged value: this channel cannot verify anything
            log.warning("channel %s: credentials cannot be decrypted", channel_id)
            credentials = {}
        found.append(
            WebhookChannel(
                id=channel_id,
                platform=platform,
                account=account,
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
    spooled: bool = False  # accepted into the receipt spool, stored in the database shortly


def check_webhook(
    *, source: str, body: bytes, headers: dict[str, str], channels: list[WebhookChannel]
) -> WebhookOutcome:
    """What ``do_receive_webhook`` would answer, without storing anything (a delivery that passes is
    spooled first when the database is busy, see ``api/webhook_receipts.py``)."""
    return do_receive_webhook(None, source=source, body=body, headers=headers, channels=channels)


def do_receive_webhook(
    session: Session | None,
    *,
    source: str,
    body: bytes,
    headers: dict[str, str],
    channels: list[WebhookChannel] | None = None,
    enqueue: bool = True,
) -> WebhookOutcome:
    """Verify one POSTed delivery and keep it; see the module docstring.

    Forged (no channel's secret verifies the signature) → 403 and nothing stored. Malformed JSON that
    is correctly signed → 400, kept as a rejected raw event. A valid delivery for accounts no channel
    has → 200, kept as ``unrouted``. Otherwise one raw event per concerned channel and a job each.

    ``channels`` (from ``webhook_channels``) may be read beforehand in a read-only session, so the
    write transaction (on SQLite, the database's one write lock) lasts only as long as the inserts.
    ``enqueue=False``: no ``webhook.process`` job, because the caller processes the stored delivery
    in this same transaction (the spool mover, ``jobs/webhook_handlers.py``)."""
    import json

    family = FAMILIES[source]
    signature = headers.get(family.signature_header.lower())
    if channels is None:
        assert session is not None, "channels are needed to check without a session"
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
        enqueue=enqueue,
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
    session: Session | None,
    *,
    source: str,
    rows: list[tuple[int | None, str]],
    body: bytes,
    headers: dict[str, str],
    status: str,
    error: str = "",
    enqueue: bool = True,
) -> tuple[list[int], int]:
    """Insert raw events, skipping (source, key) pairs already stored; enqueue processing of new ones."""
    if session is None:  # only checking (``check_webhook``)
        return [], 0
    kept_headers = {name: headers[name] for name in KEPT_HEADERS if name in headers}
    statement = _insert_raw_event(session.get_bind().dialect.name)
    stored: list[int] = []
    sealed_body = seal_raw(body) if rows else b""
    for channel_id, key in rows:
        values = {
            "source": source,
            "dedupe_key": key[:400],
            "channel_id": channel_id,
            "received_at": utcnow(),
            "headers": kept_headers,
            "body": sealed_body,
            "status": status,
            "error": error[:4000],
        }
        raw_id = session.execute(statement, values).scalar_one_or_none()
        if raw_id is None:
            continue
        stored.append(int(raw_id))
        if status == "stored" and enqueue:
            _enqueue_processing(session, int(raw_id))
    return stored, len(rows) - len(stored)


@cache
def _insert_raw_event(dialect: str) -> Any:
    """``INSERT ... ON CONFLICT DO NOTHING RETURNING id`` for one raw event, built once per dialect
    (a statement built per delivery cost more than executing it: a new cache key each time)."""
    table = table_of(RawEvent)
    if dialect == "postgresql":
        statement: Any = postgresql.insert(table).on_conflict_do_nothing()
    elif dialect == "sqlite":
        statement = sqlite.insert(table).on_conflict_do_nothing()
    else:  # pragma: no cover - only the two supported backends
        statement = insert(table)
    return statement.returning(table.c.id)


_INSERT_JOB = insert(table_of(Job))


def _enqueue_processing(session: Session, raw_event_id: int) -> None:
    """``enqueue`` as one Core insert: this runs for every delivery, inside the acknowledgement."""
    now = utcnow()
    session.execute(
        _INSERT_JOB,
        {
            "queue": "inbound",
            "kind": PROCESS_JOB,
            "payload": {"raw_event_id": raw_event_id},
            "status": "queued",
            "run_at": now,
            "created_at": now,
            "max_attempts": get_settings().job_max_attempts,
        },
    )
    on_commit(session, wakeup.set)


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
    return do_process_webhook_events(session, deliveries=[(raw_event_id, events)])


def do_process_webhook_events(
    session: Session, *, deliveries: Sequence[tuple[int, Sequence[ChannelEvent]]]
) -> ProcessResult:
    """``do_process_webhook_event`` for many stored deliveries in one transaction: their messages go
    through one ingest call (which is many times cheaper per message than one call each), their other
    events are applied per delivery in order. Deliveries already processed are skipped."""
    result = ProcessResult()
    wanted = dict(deliveries)
    raws = list(
        session.scalars(
            select(RawEvent).where(RawEvent.id.in_(wanted)).order_by(RawEvent.id).with_for_update()
        )
    )
    raws = [raw for raw in raws if raw.status != "processed" and raw.channel_id is not None]
    if not raws:
        return result
    channels = {
        channel.id: channel
        for channel in session.scalars(
            select(Channel).where(Channel.id.in_({raw.channel_id for raw in raws}))
        )
    }
    organizations = dict(
        session.execute(
            select(Brand.id, Brand.organization_id).where(
                Brand.id.in_({channel.brand_id for channel in channels.values()})
            )
        ).all()
    )
    messages = [event for raw in raws for event in wanted[raw.id] if isinstance(event, InboundMessage)]
    if messages:
        sources = sorted({raw.source for raw in raws})
        ingested = do_ingest_messages(session, messages=messages, actor=f"webhook:{','.join(sources)}")
        result.stored = len(ingested.stored)
        result.duplicates = len(ingested.duplicates)
    for raw in raws:
        assert raw.channel_id is not None
        channel = channels[raw.channel_id]
        organization_id = organizations.get(channel.brand_id)
        domain_events: list[Event] = []
        for event in wanted[raw.id]:
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


def queued_deliveries(session: Session, *, limit: int, exclude: int) -> list[tuple[int, int]]:
    """(job id, raw event id) of ``webhook.process`` jobs due now, oldest first: a worker processing
    one delivery takes these along (see ``do_take_deliveries``)."""
    rows = session.execute(
        select(Job.id, Job.payload)
        .where(Job.status == "queued", Job.run_at <= utcnow(), Job.kind == PROCESS_JOB)
        .order_by(Job.run_at, Job.id)
        .limit(limit)
    ).all()
    found = []
    for job_id, payload in rows:
        raw_id = int((payload or {}).get("raw_event_id") or 0)
        if raw_id and raw_id != exclude:
            found.append((int(job_id), raw_id))
    return found


def do_take_deliveries(session: Session, *, job_ids: Sequence[int]) -> set[int]:
    """Mark still-queued ``webhook.process`` jobs done because their delivery is processed in this
    transaction; returns the ids taken (a job another worker claimed meanwhile is left to it)."""
    if not job_ids:
        return set()
    taken = session.execute(
        update(Job)
        .where(Job.id.in_(job_ids), Job.status == "queued", Job.kind == PROCESS_JOB)
        .values(status="done", finished_at=utcnow(), last_error="")
        .returning(Job.id)
    ).scalars()
    return {int(job_id) for job_id in taken}


def _apply_change(session: Session, *, channel: Channel, change: MessageChanged, events: list[Event]) -> int:
    message = session.scalar(
        select(Message).where(Message.channel_id == channel.id, Message.external_id == change.external_id)
    )
    if message is None:
        return 0  # not ours to track (the page's own comment, or older than Tilsvar)
    if change.change == "edited" and change.text is not None:
        for name, value in sealed_columns(change.text).items():
            setattr(message, name, value)  # personal data in an edit is sealed like in a new message
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
