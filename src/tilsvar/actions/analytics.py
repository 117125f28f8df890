"""Writes for analytics: wall-screen kiosk links (created, revoked; only a hash of the token is kept)
and weekly-report schedules (created, changed, deleted; due runs claimed exactly once and queued as
``report.send`` jobs; the outcome of each send recorded)."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from tilsvar import access
from tilsvar.actions.common import ActionError, audit
from tilsvar.jobs.queue import enqueue
from tilsvar.models import Brand, ReportSchedule, User, WallScreen, utcnow
from tilsvar.passwords import new_token, token_hash
from tilsvar.reports.weekly import FORMATS, next_run, week_before

BOARDS = ("overview", "channels", "topics", "trend")
EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")
TIME_OF_DAY = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _brand_for(session: Session, user: User, brand_id: int | None) -> Brand | None:
    if brand_id is None:
        if not user.all_brands:
            raise ActionError("choose a brand: you may not see every brand of the organisation")
        return None
    if brand_id not in access.brand_ids(session, user):
        raise access.NotFound(f"brand {brand_id}")
    return session.get_one(Brand, brand_id)


def do_create_wall_screen(
    session: Session, *, user: User, name: str, brand_id: int | None = None, boards: list[str] | None = None
) -> tuple[WallScreen, str]:
    """A kiosk link for an office screen; returns the row and the token (shown once)."""
    access.require(user, "analytics")
    brand = _brand_for(session, user, brand_id)
    chosen = list(dict.fromkeys(boards or BOARDS))
    unknown = [board for board in chosen if board not in BOARDS]
    if unknown:
        raise ActionError(f"boards are some of {', '.join(BOARDS)}; not {', '.join(unknown)}")
    token = new_token("wall")
    wall = WallScreen(
        organization_id=user.organization_id,
        brand_id=brand.id if brand else None,
        name=(name.strip() or "Wall screen")[:200],
        token_hash=token_hash(token),
        prefix=token[:9],
        boards=chosen,
        created_by_id=user.id,
    )
    session.add(wall)
    session.flush()
    audit(
        session, action="wall_screen.created", actor_user=user, target_type="wall_screen", target_id=wall.id
    )
    return wall, token


def access_wall_screen(session: Session, user: User, wall_id: int) -> WallScreen:
    wall = session.get(WallScreen, wall_id)
    if wall is None or wall.organization_id != user.organization_id:
        raise access.NotFound(f"wall screen {wall_id}")
    if wall.brand_id is not None and wall.brand_id not in access.brand_ids(session, user):
        raise access.NotFound(f"wall screen {wall_id}")
    return wall


def do_revoke_wall_screen(session: Session, *, user: User, wall: WallScreen) -> None:
    """The link stops working at once (the next request or live update is refused)."""
    access.require(user, "analytics")
    if wall.revoked_at is None:
        wall.revoked_at = utcnow()
        audit(
            session,
            action="wall_screen.revoked",
            actor_user=user,
            target_type="wall_screen",
            target_id=wall.id,
        )


def wall_screen_for_token(session: Session, token: str) -> WallScreen | None:
    """The live (not revoked) wall screen a kiosk token opens, or None."""
    if not token.startswith("wall_") or len(token) > 100:
        return None
    wall = session.scalar(select(WallScreen).where(WallScreen.token_hash == token_hash(token)))
    if wall is None or wall.revoked_at is not None:
        return None
    return wall


def wall_brand_ids(session: Session, wall: WallScreen) -> list[int]:
    if wall.brand_id is not None:
        return [wall.brand_id]
    return list(session.scalars(select(Brand.id).where(Brand.organization_id == wall.organization_id)))


def _check_schedule(
    *, weekday: int, time_of_day: str, timezone: str, recipients: list[str], formats: list[str]
) -> tuple[list[str], list[str]]:
    if not 0 <= weekday <= 6:
        raise ActionError("weekday is 0 (Monday) to 6 (Sunday)")
    if not TIME_OF_DAY.match(time_of_day):
        raise ActionError("time is HH:MM (24 hours)")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ActionError(f"unknown time zone {timezone!r}") from error
    cleaned = list(dict.fromkeys(address.strip() for address in recipients if address.strip()))
    bad = [address for address in cleaned if not EMAIL.match(address)]
    if bad or not cleaned:
        raise ActionError(f"recipients must be e-mail addresses; not {', '.join(bad) or 'none'}")
    chosen = list(dict.fromkeys(formats or FORMATS))
    if any(fmt not in FORMATS for fmt in chosen):
        raise ActionError(f"formats are some of {', '.join(FORMATS)}")
    return cleaned[:50], chosen


def do_create_report_schedule(
    session: Session,
    *,
    user: User,
    name: str,
    brand_id: int | None,
    weekday: int,
    time_of_day: str,
    timezone: str,
    recipients: list[str],
    formats: list[str] | None = None,
    now: datetime | None = None,
) -> ReportSchedule:
    """A weekly report sent every ``weekday`` at ``time_of_day`` in ``timezone`` to ``recipients``."""
    access.require(user, "analytics")
    brand = _brand_for(session, user, brand_id)
    cleaned, chosen = _check_schedule(
        weekday=weekday,
        time_of_day=time_of_day,
        timezone=timezone,
        recipients=recipients,
        formats=formats or [],
    )
    schedule = ReportSchedule(
        organization_id=user.organization_id,
        brand_id=brand.id if brand else None,
        name=(name.strip() or "Weekly report")[:200],
        weekday=weekday,
        time_of_day=time_of_day,
        timezone=timezone,
        recipients=cleaned,
        formats=chosen,
        enabled=True,
        next_run_at=next_run(
            weekday=weekday, time_of_day=time_of_day, timezone=timezone, after=now or utcnow()
        ),
        created_by_id=user.id,
    )
    session.add(schedule)
    session.flush()
    audit(
        session,
        action="report_schedule.created",
        actor_user=user,
        target_type="report_schedule",
        target_id=schedule.id,
        details={"recipients": len(cleaned)},
    )
    return schedule


def access_report_schedule(session: Session, user: User, schedule_id: int) -> ReportSchedule:
    schedule = session.get(ReportSchedule, schedule_id)
    if schedule is None or schedule.organization_id != user.organization_id:
        raise access.NotFound(f"report schedule {schedule_id}")
    if schedule.brand_id is not None and schedule.brand_id not in access.brand_ids(session, user):
        raise access.NotFound(f"report schedule {schedule_id}")
    return schedule


def do_delete_report_schedule(session: Session, *, user: User, schedule: ReportSchedule) -> None:
    access.require(user, "analytics")
    audit(
        session,
        action="report_schedule.deleted",
        actor_user=user,
        target_type="report_schedule",
        target_id=schedule.id,
    )
    session.delete(schedule)


def do_send_report_now(session: Session, *, user: User, schedule: ReportSchedule) -> None:
    """Queue one run of ``schedule`` now, for the last whole week (its regular runs are unchanged)."""
    access.require(user, "analytics")
    _enqueue_run(session, schedule, utcnow())
    audit(
        session,
        action="report_schedule.sent_now",
        actor_user=user,
        target_type="report_schedule",
        target_id=schedule.id,
    )


def _enqueue_run(session: Session, schedule: ReportSchedule, run_at: datetime) -> None:
    period = week_before(run_at, schedule.timezone)
    enqueue(
        session,
        queue="maintenance",
        kind="report.send",
        payload={
            "schedule_id": schedule.id,
            "from": period.start.isoformat(),
            "to": period.end.isoformat(),
        },
        max_attempts=5,
    )


def do_claim_due_reports(session: Session, *, now: datetime | None = None) -> int:
    """Queue a send for every schedule that is due and move it to its next run, in one transaction,
    so each run is queued exactly once however many workers look."""
    now = now or utcnow()
    query = (
        select(ReportSchedule)
        .where(ReportSchedule.enabled.is_(True), ReportSchedule.next_run_at <= now)
        .order_by(ReportSchedule.next_run_at)
        .limit(100)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    due = list(session.scalars(query))
    for schedule in due:
        _enqueue_run(session, schedule, schedule.next_run_at)
        schedule.next_run_at = next_run(
            weekday=schedule.weekday, time_of_day=schedule.time_of_day, timezone=schedule.timezone, after=now
        )
    return len(due)


def do_record_report_sent(session: Session, *, schedule_id: int, error: str = "") -> None:
    schedule = session.get(ReportSchedule, schedule_id)
    if schedule is None:
        return
    if error:
        schedule.last_error = error[:1000]
    else:
        schedule.last_sent_at = utcnow()
        schedule.last_error = ""
    audit(
        session,
        action="report_schedule.failed" if error else "report_schedule.sent",
        actor="worker",
        organization_id=schedule.organization_id,
        target_type="report_schedule",
        target_id=schedule.id,
        details={"error": error[:300]} if error else {},
    )
