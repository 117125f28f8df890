"""The job that turns a stored webhook delivery into messages (``webhook.process``).

The webhook route only verified and stored the raw bytes; here they are parsed for their channel
(pure code in ``channels/``) and applied by one action. A delivery that cannot be parsed is marked
failed with the reason and kept; it is never retried, since the same bytes would fail again.
"""

from __future__ import annotations

from tilsvar.actions.webhooks import do_fail_webhook_event, do_process_webhook_event
from tilsvar.channels.webhooks import parse_delivery
from tilsvar.db import Database
from tilsvar.jobs.queue import ClaimedJob
from tilsvar.jobs.worker import PermanentFailure, handler
from tilsvar.models import Channel, RawEvent


@handler("webhook.process")
def process_webhook(database: Database, job: ClaimedJob) -> None:
    raw_event_id = int(job.payload["raw_event_id"])
    with database.reader() as session:
        raw = session.get(RawEvent, raw_event_id)
        if raw is None or raw.status == "processed":
            return
        channel = session.get(Channel, raw.channel_id) if raw.channel_id is not None else None
        if channel is None:
            raise PermanentFailure(f"raw event {raw_event_id} has no channel (any more)")
        source, body = raw.source, raw.body
        platform, account = channel.platform, channel.account
        account_id = str((channel.config or {}).get("account_id") or "")
    try:
        events = parse_delivery(source, body, platform=platform, account=account, account_id=account_id)
    except (ValueError, TypeError, KeyError) as error:
        with database.session() as session:
            do_fail_webhook_event(session, raw_event_id=raw_event_id, error=f"cannot parse: {error}")
        raise PermanentFailure(f"raw event {raw_event_id}: cannot parse: {error}") from error
    with database.session() as session:
        do_process_webhook_event(session, raw_event_id=raw_event_id, events=events)
