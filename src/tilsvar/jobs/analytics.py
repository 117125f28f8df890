"""Analytics work for workers: every ``analytics_refresh_seconds`` bring the KPI rollups up to date
with the event log and queue the weekly reports that are due; and the ``report.send`` job that renders
one weekly report and mails it (retried on temporary SMTP failures)."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime

from sqlalchemy import select

from tilsvar.actions.analytics import do_claim_due_reports, do_record_report_sent
from tilsvar.db import Database
from tilsvar.jobs.queue import ClaimedJob
from tilsvar.jobs.worker import PermanentFailure, handler
from tilsvar.models import Brand, Organization, ReportSchedule
from tilsvar.reports.delivery import ReportMailError, SmtpServer, build_message, send
from tilsvar.reports.kpis import Period
from tilsvar.reports.rollups import refresh_rollups
from tilsvar.reports.weekly import WeeklyReport, build_report
from tilsvar.settings import get_settings

log = logging.getLogger(__name__)
_lock = threading.Lock()
_last_tick = 0.0


# Events per rollup transaction in the worker's tick, and the pause between two of them.
TICK_BATCH = 1000
TICK_PAUSE_SECONDS = 0.02


def tick(database: Database, *, force: bool = False) -> None:
    """Refresh rollups and queue due reports, at most every ``analytics_refresh_seconds``."""
    global _last_tick
    interval = get_settings().analytics_refresh_seconds
    with _lock:
        if not force and time.monotonic() - _last_tick < interval:
            return
        _last_tick = time.monotonic()
    try:
        # Small transactions with a pause between them: storing deliveries (the spool mover, on
        # SQLite) must not wait for a whole burst's events to be rolled up.
        refresh_rollups(database, batch=TICK_BATCH, pause=TICK_PAUSE_SECONDS)
        with database.session() as session:
            do_claim_due_reports(session)
    except Exception:
        log.exception("analytics refresh failed; trying again later")


def render_schedule_report(database: Database, schedule: ReportSchedule, period: Period) -> WeeklyReport:
    settings = get_settings()
    with database.reader() as session:
        if schedule.brand_id is not None:
            brand_ids = [schedule.brand_id]
            scope_name = session.get_one(Brand, schedule.brand_id).name
        else:
            brand_ids = list(
                session.scalars(select(Brand.id).where(Brand.organization_id == schedule.organization_id))
            )
            scope_name = session.get_one(Organization, schedule.organization_id).name
        return build_report(
            session,
            period=period,
            brand_ids=brand_ids,
            title=f"{schedule.name}: {scope_name}, week of {period.start:%Y-%m-%d}",
            base_url=settings.effective_base_url,
        )


@handler("report.send")
def send_scheduled_report(database: Database, job: ClaimedJob) -> None:
    schedule_id = int(job.payload["schedule_id"])
    with database.reader() as session:
        schedule = session.get(ReportSchedule, schedule_id)
        if schedule is not None:
            session.expunge(schedule)
    if schedule is None:
        return  # deleted since it was queued
    period = Period(
        start=datetime.fromisoformat(job.payload["from"]), end=datetime.fromisoformat(job.payload["to"])
    )
    refresh_rollups(database, wait=True)
    report = render_schedule_report(database, schedule, period)
    settings = get_settings()
    try:
        message = build_message(
            report, sender=settings.report_mail_from, recipients=schedule.recipients, formats=schedule.formats
        )
        send(message, SmtpServer.from_settings(settings))
    except ReportMailError as error:
        final = not error.retryable or job.attempts >= job.max_attempts
        if final:
            with database.session() as session:
                do_record_report_sent(session, schedule_id=schedule_id, error=str(error))
        if not error.retryable:
            raise PermanentFailure(str(error)) from error
        raise
    with database.session() as session:
        do_record_report_sent(session, schedule_id=schedule_id)
