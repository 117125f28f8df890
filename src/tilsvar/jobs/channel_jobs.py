"""Repeating channel jobs: ``channels.health`` (every 5 minutes: learn each webhook's usual gap and
raise the "went quiet" alert once) and ``youtube.poll`` (per YouTube channel: read new comment
threads within the day's quota, then schedule the next poll so polling spreads what is left of the
budget evenly until the quota resets at midnight Pacific).

Each job schedules its next run itself, like ``email.sync``; ``tick`` (called by the worker loop at
most once a minute) queues any that are missing, e.g. after a new channel was connected.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from tilsvar.actions.channel_admin import (
    do_check_quiet_webhooks,
    do_record_subscription_state,
    do_record_youtube_poll,
    subscription_check_due,
)
from tilsvar.actions.ingest import do_ingest_messages
from tilsvar.actions.mail import do_restore_channel
from tilsvar.actions.org import channel_credentials
from tilsvar.actions.webhooks import do_mark_channel_needs_reconnect
from tilsvar.channels import DeliveryError, InboundMessage, subscriptions, youtube
from tilsvar.db import Database
from tilsvar.jobs.queue import ClaimedJob, enqueue
from tilsvar.jobs.worker import handler
from tilsvar.models import Channel, Job, Message, utcnow
from tilsvar.models.channel_state import ChannelState

log = logging.getLogger(__name__)
HEALTH_JOB = "channels.health"
POLL_JOB = "youtube.poll"
HEALTH_SECONDS = 300.0
TICK_SECONDS = 60.0
RECONNECT_CHECK = timedelta(minutes=15)
ERROR_RETRY = timedelta(minutes=5)
SUBSCRIPTION_EVERY = timedelta(hours=1)
_last_tick = 0.0


def _schedule(database: Database, *, kind: str, payload: dict[str, Any], run_at: datetime) -> None:
    with database.session() as session:
        enqueue(session, queue="maintenance", kind=kind, payload=payload, run_at=run_at, max_attempts=3)


def tick(database: Database) -> None:
    """Queue the repeating channel jobs that are missing (at most once a minute per process)."""
    global _last_tick
    from tilsvar.api.webhook_receipts import start_spool_mover

    start_spool_mover(database)  # webhook deliveries the server spooled while the database was busy
    if time.monotonic() - _last_tick < TICK_SECONDS:
        return
    _last_tick = time.monotonic()
    try:
        with database.session() as session:
            pending = list(
                session.execute(
                    select(Job.kind, Job.payload).where(
                        Job.kind.in_((HEALTH_JOB, POLL_JOB)), Job.status.in_(("queued", "running"))
                    )
                )
            )
            if not any(kind == HEALTH_JOB for kind, _ in pending):
                enqueue(session, queue="maintenance", kind=HEALTH_JOB, payload={}, max_attempts=3)
            polled = {
                int((payload or {}).get("channel_id", -1)) for kind, payload in pending if kind == POLL_JOB
            }
            for channel_id in session.scalars(
                select(Channel.id).where(
                    Channel.platform == "youtube", Channel.mode == "live", Channel.status != "removed"
                )
            ):
                if channel_id not in polled:
                    enqueue(
                        session,
                        queue="maintenance",
                        kind=POLL_JOB,
                        payload={"channel_id": channel_id},
                        max_attempts=3,
                    )
    except Exception:  # a maintenance hiccup must never stop the worker loop
        log.exception("channel jobs tick failed")
    from tilsvar.jobs.listening_jobs import tick as listening_tick

    listening_tick(database)  # listening monitors' polls stay scheduled


@handler(HEALTH_JOB)
def check_health(database: Database, job: ClaimedJob) -> None:
    del job
    with database.session() as session:
        alerted = do_check_quiet_webhooks(session)
    if alerted:
        log.warning("webhooks went quiet on channels %s", alerted)
    check_subscriptions(database)
    _schedule(database, kind=HEALTH_JOB, payload={}, run_at=utcnow() + timedelta(seconds=HEALTH_SECONDS))


def check_subscriptions(database: Database, *, now: datetime | None = None) -> int:
    """Ask Meta and X whether each live webhook channel is still subscribed (at most once per
    ``SUBSCRIPTION_EVERY`` per channel); the platform calls run outside any transaction."""
    now = now or utcnow()
    with database.reader() as session:
        due = []
        for channel in session.scalars(
            select(Channel).where(
                Channel.platform.in_(("facebook", "instagram", "x")),
                Channel.mode == "live",
                Channel.status != "removed",
            )
        ):
            config = dict(channel.config or {})
            if not config.get("account_id"):
                continue
            if subscription_check_due(
                session.get(ChannelState, channel.id), now=now, every=SUBSCRIPTION_EVERY
            ):
                due.append((channel.id, channel.platform, config, channel_credentials(channel)))
    for channel_id, platform, config, credentials in due:
        found = subscriptions.check(
            platform, account_id=str(config["account_id"]), credentials=credentials, config=config
        )
        with database.session() as session:
            do_record_subscription_state(
                session, channel_id=channel_id, state=found.state, detail=found.detail
            )
    return len(due)


def _config_int(config: dict[str, Any], key: str, default: int) -> int:
    try:
        return int(config.get(key) or default)
    except (TypeError, ValueError):
        return default


@handler(POLL_JOB)
def poll_youtube(database: Database, job: ClaimedJob) -> None:
    """Read new comment threads of one YouTube channel (see the module docstring)."""
    channel_id = int(job.payload["channel_id"])
    now = utcnow()
    day = youtube.quota_day(now).isoformat()
    with database.reader() as session:
        channel = session.get(Channel, channel_id)
        if (
            channel is None
            or channel.platform != "youtube"
            or channel.mode != "live"
            or channel.status == "removed"
        ):
            return  # removed, or the demo's simulated channel: nothing to poll
        config = dict(channel.config or {})
        credentials = channel_credentials(channel)
        account, status_before = channel.account, channel.status
        state = session.get(ChannelState, channel_id)
        used = state.quota_used if state is not None and state.quota_day == day else 0
        poll_state = dict(state.poll_state or {}) if state is not None else {}
        last_poll = state.last_poll_at if state is not None else None
        # Replies sent since the last poll cost comments.insert units each: book them too.
        replies = int(
            session.scalar(
                select(func.count())
                .select_from(Message)
                .where(
                    Message.channel_id == channel_id,
                    Message.direction == "out",
                    Message.delivery_state == "sent",
                    Message.created_at > (last_poll or now),
                )
            )
            or 0
        )
    budget = _config_int(config, "daily_quota", youtube.DAILY_QUOTA)
    reserve = _config_int(config, "quota_reserve", 2000)
    max_pages = _config_int(config, "max_pages", 5)
    statuses = [str(status) for status in config.get("moderation_statuses") or ["published", "heldForReview"]]
    minimum = float(config.get("poll_seconds") or 60)
    units = replies * youtube.COSTS["comments.insert"]
    used += units
    youtube_channel = str(config.get("account_id") or account)
    since = str(poll_state.get("since") or "")
    newest = since
    messages: list[InboundMessage] = []
    error = ""
    next_at: datetime
    pages = 0
    try:
        if used + len(statuses) > budget - reserve:
            raise youtube.QuotaExceeded("the day's polling budget is spent", retry_at=youtube.next_reset(now))
        for status in statuses:
            token: str | None = None
            for _ in range(max_pages):
                page = youtube.list_comment_threads(
                    channel_id=youtube_channel,
                    credentials=credentials,
                    config=config,
                    page_token=token,
                    moderation_status=None if status == "published" else status,
                )
                pages += 1
                units += page.cost
                found = youtube.parse_threads(page.items, account=account, channel_id=youtube_channel)
                messages.extend(found)
                stamps = [message.created_at.isoformat() for message in found]
                if stamps:
                    newest = max([newest, *stamps])
                token = page.next_page_token
                if not token or (since and stamps and max(stamps) <= since):
                    break  # older than what the last poll saw: the rest is known
        interval = youtube.poll_interval(
            now=now, used=used + units, budget=budget, reserve=reserve, pages_per_poll=max(pages, 1)
        )
        next_at = now + timedelta(seconds=max(interval, minimum))
    except youtube.QuotaExceeded as quota:
        error, next_at = quota.reason, quota.retry_at
    except DeliveryError as failure:
        error = failure.reason
        next_at = now + (RECONNECT_CHECK if failure.needs_reconnect else ERROR_RETRY)
        if failure.needs_reconnect:
            with database.session() as session:
                do_mark_channel_needs_reconnect(session, channel_id=channel_id, reason=failure.reason)
    with database.session() as session:
        if messages:
            do_ingest_messages(session, messages=messages, actor="youtube.poll")
        if not error and status_before == "needs_reconnect":
            do_restore_channel(session, channel_id=channel_id, reason="YouTube accepts the token again")
        do_record_youtube_poll(
            session,
            channel_id=channel_id,
            units=units,
            poll_state={**poll_state, "since": newest},
            next_poll_at=next_at,
            quota_day=day,
            error=error,
        )
        enqueue(
            session,
            queue="maintenance",
            kind=POLL_JOB,
            payload={"channel_id": channel_id},
            run_at=next_at,
            max_attempts=3,
        )
