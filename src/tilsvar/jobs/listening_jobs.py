"""``listening.poll``: poll every due listening monitor (X recent search), keep what it found and
schedule the next poll by the monitor's interval and the platform's rate limit. One job serves all
monitors and schedules itself again at the earliest next poll; ``tick`` (from the channel jobs'
tick, at most once a minute) queues it when it is missing, e.g. after the first monitor was made.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import func, select

from tilsvar.actions.listening import do_record_poll, due_monitors, mention_poll_delay
from tilsvar.actions.org import channel_credentials
from tilsvar.actions.webhooks import do_mark_channel_needs_reconnect
from tilsvar.channels import DeliveryError
from tilsvar.channels.x import search
from tilsvar.db import Database
from tilsvar.jobs.queue import ClaimedJob, enqueue
from tilsvar.jobs.worker import handler
from tilsvar.models import Channel, Job, utcnow
from tilsvar.models.listening import Monitor

log = logging.getLogger(__name__)
POLL_JOB = "listening.poll"
ERROR_RETRY = timedelta(minutes=5)
IDLE_RECHECK = timedelta(minutes=5)


@handler(POLL_JOB)
def poll_monitors(database: Database, job: ClaimedJob) -> None:
    del job
    with database.reader() as session:
        work = [
            (
                monitor.id,
                monitor.query,
                monitor.since_id,
                channel.account,
                dict(channel.config or {}),
                channel,
            )
            for monitor in due_monitors(session)
            for channel in [session.get_one(Channel, monitor.channel_id)]
        ]
        credentials = {channel.id: channel_credentials(channel) for *_, channel in work}
    for monitor_id, query, since_id, account, config, channel in work:
        poll_one(
            database,
            monitor_id=monitor_id,
            query=query,
            since_id=since_id,
            account=account,
            config=config,
            channel_id=channel.id,
            credentials=credentials[channel.id],
        )
    schedule_next(database)


def poll_one(
    database: Database,
    *,
    monitor_id: int,
    query: str,
    since_id: str,
    account: str,
    config: dict[str, object],
    channel_id: int,
    credentials: dict[str, object],
) -> None:
    """One monitor's poll; its failures are kept on the monitor, never raised (others still poll)."""
    with database.reader() as session:
        monitor = session.get_one(Monitor, monitor_id)
    try:
        page = search.recent_search(
            query, credentials=dict(credentials), config=dict(config), since_id=since_id, brand_handle=account
        )
    except search.RateLimited as limited:
        with database.session() as session:
            do_record_poll(
                session,
                monitor_id=monitor_id,
                posts=[],
                newest_id="",
                next_poll_at=max(limited.reset_at, utcnow() + timedelta(seconds=1)),
                error=limited.reason,
            )
        return
    except DeliveryError as error:
        log.warning("listening monitor %s: %s", monitor_id, error.reason)
        with database.session() as session:
            if error.needs_reconnect:
                do_mark_channel_needs_reconnect(session, channel_id=channel_id, reason=error.reason)
            do_record_poll(
                session,
                monitor_id=monitor_id,
                posts=[],
                newest_id="",
                next_poll_at=utcnow() + ERROR_RETRY,
                error=error.reason,
            )
        return
    delay = mention_poll_delay(monitor, remaining=page.remaining, reset_at=page.reset_at)
    with database.session() as session:
        found = do_record_poll(
            session,
            monitor_id=monitor_id,
            posts=page.posts,
            newest_id=page.newest_id,
            next_poll_at=utcnow() + delay,
        )
    log.info("listening monitor %s: %d new of %d found", monitor_id, len(found), len(page.posts))


def schedule_next(database: Database) -> None:
    """Queue the next ``listening.poll`` at the earliest due monitor (or recheck later when none)."""
    with database.session() as session:
        earliest = session.scalar(select(func.min(Monitor.next_poll_at)).where(Monitor.active.is_(True)))
        pending = session.scalar(
            select(func.count()).select_from(Job).where(Job.kind == POLL_JOB, Job.status == "queued")
        )
        if pending:
            return
        run_at = max(earliest, utcnow()) if earliest is not None else utcnow() + IDLE_RECHECK
        enqueue(session, queue="maintenance", kind=POLL_JOB, payload={}, run_at=run_at, max_attempts=3)


def tick(database: Database) -> None:
    """Queue ``listening.poll`` when active monitors exist and no poll is queued or running."""
    try:
        with database.reader() as session:
            active = session.scalar(select(func.count()).select_from(Monitor).where(Monitor.active.is_(True)))
            pending = session.scalar(
                select(func.count())
                .select_from(Job)
                .where(Job.kind == POLL_JOB, Job.status.in_(("queued", "running")))
            )
        if active and not pending:
            schedule_next(database)
    except Exception:  # a maintenance hiccup must never stop the worker loop
        log.exception("listening tick failed")
