"""The job that turns a stored webhook delivery into messages (``webhook.process``).

The webhook route only verified and stored the raw bytes; here they are parsed for their channel
(pure code in ``channels/``) and applied by one action. A delivery that cannot be parsed is marked
failed with the reason and kept; it is never retried, since the same bytes would fail again.
A job takes other queued deliveries along (up to ``BATCH``), so their messages are stored by one
ingest call in one transaction; the jobs it took along are marked done in that same transaction.
"""

from __future__ import annotations

from sqlalchemy import select

from tilsvar.actions.webhooks import (
    do_fail_webhook_event,
    do_process_webhook_events,
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
        ).all()
    parsed: dict[int, list[ChannelEvent]] = {}
    failures: dict[int, str] = {}
    for raw_id, source, body, status, platform, account, config in rows:
        if status == "processed":
            continue
        account_id = str((config or {}).get("account_id") or "")
        try:
            parsed[raw_id] = parse_delivery(
                source, open_raw(body), platform=platform, account=account, account_id=account_id
            )
        except (ValueError, TypeError, KeyError) as error:
            failures[raw_id] = f"cannot parse: {error}"
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
