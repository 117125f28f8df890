"""The job that turns a stored webhook delivery into messages (``webhook.process``).

The webhook route only verified and stored the raw bytes; here they are parsed for their channel
(pure code in ``channels/``) and applied by one action. A delivery that cannot be parsed is marked
failed with the reason and kept; it is never retried, since the same bytes would fail again.
A job takes other queued deliveries along (up to ``BATCH``), so their messages are stored by one
ingest call in one transaction; the jobs it took along are marked done in that same transaction.
Deliveries that went through the receipt spool (SQLite under load) skip the job: the spool mover
stores and processes them in one transaction (``store_and_process_deliveries``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tilsvar.actions.webhooks import (
    WebhookChannel,
    do_fail_webhook_event,
    do_process_webhook_events,
    do_receive_webhook,
    do_take_deliveries,
    queued_deliveries,
)
from tilsvar.channels.activity import ChannelEvent
from tilsvar.channels.webhooks import parse_delivery
from tilsvar.db import Database
from tilsvar.jobs.queue import ClaimedJob
from tilsvar.jobs.worker import PermanentFailure, handler
from tilsvar.models import Channel, RawEvent
from tilsvar.privacy.sealing import open_raw

# Deliveries one job processes together: its own and those of other queued ``webhook.process`` jobs,
# so a busy webhook costs one ingest transaction per batch, not per delivery.
BATCH = 100


def parse_deliveries(
    rows: Iterable[tuple[int, str, bytes, str, str, dict[str, Any] | None]],
) -> tuple[dict[int, list[ChannelEvent]], dict[int, str]]:
    """Parse ``(raw event id, source, body, platform, account, channel config)`` rows (pure code in
    ``channels/``): the events of each delivery, and why each one that cannot be parsed failed."""
    parsed: dict[int, list[ChannelEvent]] = {}
    failures: dict[int, str] = {}
    for raw_id, source, body, platform, account, config in rows:
        account_id = str((config or {}).get("account_id") or "")
        try:
            parsed[raw_id] = parse_delivery(
                source, body, platform=platform, account=account, account_id=account_id
            )
        except (ValueError, TypeError, KeyError) as error:
            failures[raw_id] = f"cannot parse: {error}"
    return parsed, failures


def store_and_process_deliveries(
    session: Session,
    *,
    deliveries: Sequence[tuple[str, dict[str, str], bytes]],
    channels: dict[str, list[WebhookChannel]],
) -> int:
    """Store ``(source, headers, body)`` deliveries as raw events and process them at once, in the
    caller's transaction: the spool mover's path. A spooled delivery was verified and acknowledged
    already; storing it for a ``webhook.process`` job would cost a job row, a claim and a second
    transaction per batch, and under load that queue is what kept messages from the inbox.
    Redeliveries are recognised as usual (nothing is stored or processed twice). Returns how many
    deliveries were new."""
    bodies: dict[int, tuple[str, bytes]] = {}
    for source, headers, body in deliveries:
        outcome = do_receive_webhook(
            session, source=source, body=body, headers=headers, channels=channels[source], enqueue=False
        )
        for raw_id in outcome.stored:
            bodies[raw_id] = (source, body)
    if not bodies:
        return 0
    by_id = {channel.id: channel for found in channels.values() for channel in found}
    stored = session.execute(
        select(RawEvent.id, RawEvent.channel_id)
        .where(RawEvent.id.in_(bodies), RawEvent.status == "stored")
        .order_by(RawEvent.id)
    ).all()
    parsed, failures = parse_deliveries(
        (
            raw_id,
            bodies[raw_id][0],
            bodies[raw_id][1],
            by_id[channel_id].platform,
            by_id[channel_id].account,
            by_id[channel_id].config,
        )
        for raw_id, channel_id in stored
        if channel_id in by_id
    )
    for raw_id in sorted(failures):
        do_fail_webhook_event(session, raw_event_id=raw_id, error=failures[raw_id])
    do_process_webhook_events(session, deliveries=sorted(parsed.items()))
    return len(bodies)


@handler("webhook.process")
def process_webhook(database: Database, job: ClaimedJob) -> None:
    raw_event_id = int(job.payload["raw_event_id"])
    with database.reader() as session:
        raw = session.get(RawEvent, raw_event_id)
        if raw is None or raw.status == "processed":
            return
        if raw.channel_id is None or session.get(Channel, raw.channel_id) is None:
            raise PermanentFailure(f"raw event {raw_event_id} has no channel (any more)")
        siblings = queued_deliveries(session, limit=BATCH - 1, exclude=raw_event_id)
        wanted = [raw_event_id, *(raw_id for _, raw_id in siblings)]
        rows = session.execute(
            select(
                RawEvent.id,
                RawEvent.source,
                RawEvent.body,
                RawEvent.status,
                Channel.platform,
                Channel.account,
                Channel.config,
            )
            .join(Channel, Channel.id == RawEvent.channel_id)
            .where(RawEvent.id.in_(wanted))
            # In delivery order: an event without its own timestamp is stamped when parsed.
            .order_by(RawEvent.id)
        ).all()
    parsed, failures = parse_deliveries(
        (raw_id, source, open_raw(body), platform, account, config)
        for raw_id, source, body, status, platform, account, config in rows
        if status != "processed"
    )
    with database.session() as session:
        taken = do_take_deliveries(session, job_ids=[job_id for job_id, _ in siblings])
        mine = {raw_event_id} | {raw_id for job_id, raw_id in siblings if job_id in taken}
        for raw_id in sorted(set(failures) & mine):
            do_fail_webhook_event(session, raw_event_id=raw_id, error=failures[raw_id])
        do_process_webhook_events(
            session, deliveries=[(raw_id, parsed[raw_id]) for raw_id in sorted(mine) if raw_id in parsed]
        )
    if raw_event_id in failures:
        raise PermanentFailure(f"raw event {raw_event_id}: {failures[raw_event_id]}")
