"""``/api/v1`` for analytics: the dashboard's data, the weekly report on demand, the per-conversation
export for analysts (no customer names or texts), wall-screen kiosk links and weekly-report schedules.
Thin: parse, authorize via ``access``, call one query or action."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from tilsvar import access
from tilsvar.actions.analytics import (
    access_report_schedule,
    access_wall_screen,
    do_create_report_schedule,
    do_create_wall_screen,
    do_delete_report_schedule,
    do_revoke_wall_screen,
    do_send_report_now,
)
from tilsvar.api.deps import ApiUser, DatabaseDep, ReadSession
from tilsvar.models import (
    Brand,
    Channel,
    Conversation,
    KpiConversationFact,
    ReportSchedule,
    Team,
    User,
    WallScreen,
)
from tilsvar.reports.dashboard import dashboard_json, default_days
from tilsvar.reports.engine import Scope
from tilsvar.reports.kpis import Period
from tilsvar.reports.weekly import build_report
from tilsvar.settings import get_settings

router = APIRouter(prefix="/api/v1", tags=["analytics"])
EXPORT_LIMIT = 100_000


def scope_for(
    session: Session,
    user: User,
    *,
    brand_id: int | None = None,
    channel_id: int | None = None,
    team_id: int | None = None,
    agent_id: int | None = None,
    language: str | None = None,
    intent: str | None = None,
    sentiment: str | None = None,
) -> Scope:
    """The caller's brands narrowed by the filters (another brand's id is a 404)."""
    allowed = access.brand_ids(session, user)
    if brand_id is not None:
        if brand_id not in allowed:
            raise access.NotFound(f"brand {brand_id}")
        allowed = [brand_id]
    return Scope(
        brand_ids=tuple(allowed),
        channel_ids=(channel_id,) if channel_id is not None else (),
        team_ids=(team_id,) if team_id is not None else (),
        agent_ids=(agent_id,) if agent_id is not None else (),
        languages=(language,) if language is not None else (),
        intents=(intent,) if intent is not None else (),
        sentiments=(sentiment,) if sentiment is not None else (),
    )


def period_of(date_from: date | None, date_to: date | None) -> Period:
    first, last = default_days(datetime.now(UTC).date())
    try:
        return Period.from_dates(date_from or first, date_to or last)
    except ValueError as error:
        raise HTTPException(422, str(error)) from error


@router.get("/dashboard", summary="Dashboard data: KPIs vs the previous period, mixes, series, drill-downs")
def dashboard(
    user: ApiUser,
    session: ReadSession,
    date_from: Annotated[date | None, Query(alias="from")] = None,
    date_to: Annotated[date | None, Query(alias="to")] = None,
    brand_id: int | None = None,
    channel_id: int | None = None,
    team_id: int | None = None,
    target: Annotated[float | None, Query(gt=0)] = None,
) -> Response:
    """Everything the dashboard page draws for whole UTC days `from`..`to` (default: the last 7 days),
    with the same figures for the period of the same length before it (`previous`, `compare`), and
    who is waiting right now (`waiting_now`)."""
    access.require(user, "report")
    scope = scope_for(session, user, brand_id=brand_id, channel_id=channel_id, team_id=team_id)
    body = dashboard_json(session, period=period_of(date_from, date_to), scope=scope, target_minutes=target)
    return Response(body, media_type="application/json")


@router.get("/reports/weekly", summary="The weekly report for a period as HTML, PDF or CSV")
def weekly_report(
    user: ApiUser,
    session: ReadSession,
    date_from: Annotated[date | None, Query(alias="from")] = None,
    date_to: Annotated[date | None, Query(alias="to")] = None,
    brand_id: int | None = None,
    format: Literal["html", "pdf", "csv"] = "html",
) -> Response:
    access.require(user, "report")
    scope = scope_for(session, user, brand_id=brand_id)
    name = session.get_one(Brand, brand_id).name if brand_id is not None else "all brands"
    report = build_report(
        session,
        period=period_of(date_from, date_to),
        brand_ids=scope.brand_ids,
        title=f"Tilsvar report: {name}",
        base_url=get_settings().effective_base_url,
    )
    if format == "pdf":
        return Response(report.pdf(), media_type="application/pdf")
    if format == "csv":
        return Response(report.csv(), media_type="text/csv; charset=utf-8")
    return Response(report.html(), media_type="text/html; charset=utf-8")


EXPORT_FIELDS = [
    "conversation_id",
    "brand",
    "platform",
    "account",
    "team",
    "agent_id",
    "customer",
    "status",
    "language",
    "intent",
    "sentiment",
    "is_inquiry",
    "first_inbound_at",
    "first_response_at",
    "frt_minutes",
    "resolved_at",
    "resolution_minutes",
    "messages_in",
    "messages_out",
    "pii_messages",
    "hidden_messages",
    "flagged_messages",
    "csat",
    "sla_breached",
]


def _pseudonym(contact_id: int | None, organization_id: int) -> str:
    """A stable stand-in for the customer: lets analysts count repeat contacts without knowing who."""
    if contact_id is None:
        return ""
    digest = hashlib.sha256(f"tilsvar-export:{organization_id}:{contact_id}".encode()).hexdigest()
    return "customer-" + digest[:12]


@router.get("/exports/conversations", summary="Per-conversation export for analysts (CSV or JSON)")
def export_conversations(
    user: ApiUser,
    session: ReadSession,
    date_from: Annotated[date | None, Query(alias="from")] = None,
    date_to: Annotated[date | None, Query(alias="to")] = None,
    brand_id: int | None = None,
    channel_id: int | None = None,
    team_id: int | None = None,
    format: Literal["csv", "json"] = "csv",
) -> Response:
    """One row per conversation that counts in the period (the facts behind every KPI). Personal data
    is masked: no customer names, handles or texts; the customer is a pseudonym per organisation."""
    access.require(user, "report")
    scope = scope_for(session, user, brand_id=brand_id, channel_id=channel_id, team_id=team_id)
    period = period_of(date_from, date_to)
    f = KpiConversationFact
    rows = session.execute(
        select(
            f,
            Conversation.status,
            Conversation.contact_id,
            Brand.name,
            Channel.platform,
            Channel.account,
            Team.name,
        )
        .join(Conversation, Conversation.id == f.conversation_id)
        .join(Brand, Brand.id == f.brand_id)
        .join(Channel, Channel.id == f.channel_id)
        .outerjoin(Team, Team.id == f.team_id)
        .where(f.hour >= period.start, f.hour < period.end, *scope.conditions(f))
        .order_by(f.hour, f.conversation_id)
        .limit(EXPORT_LIMIT)
    ).all()
    records: list[dict[str, Any]] = []
    for fact, status, contact_id, brand, platform, account, team in rows:
        records.append(
            {
                "conversation_id": fact.conversation_id,
                "brand": brand,
                "platform": platform,
                "account": account,
                "team": team or "",
                "agent_id": fact.agent_id or None,
                "customer": _pseudonym(contact_id, fact.organization_id),
                "status": status,
                "language": fact.language,
                "intent": fact.intent,
                "sentiment": fact.sentiment,
                "is_inquiry": fact.is_inquiry,
                "first_inbound_at": fact.first_inbound_at.isoformat() if fact.first_inbound_at else None,
                "first_response_at": fact.first_response_at.isoformat() if fact.first_response_at else None,
                "frt_minutes": fact.frt_minutes,
                "resolved_at": fact.resolved_at.isoformat() if fact.resolved_at else None,
                "resolution_minutes": fact.resolution_minutes,
                "messages_in": fact.messages_in,
                "messages_out": fact.messages_out,
                "pii_messages": fact.pii_messages,
                "hidden_messages": fact.hidden_messages,
                "flagged_messages": fact.flagged_messages,
                "csat": fact.csat,
                "sla_breached": fact.sla_breached,
            }
        )
    if format == "json":
        body = json.dumps(
            {
                "period": {"from": period.start.isoformat(), "to": period.end.isoformat()},
                "conversations": records,
            }
        )
        return Response(body, media_type="application/json")
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS)
    writer.writeheader()
    writer.writerows(records)
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="conversations.csv"'},
    )


class WallScreenIn(BaseModel):
    name: str = Field(default="Wall screen", max_length=200)
    brand_id: int | None = None
    boards: list[str] | None = None


def _wall_json(wall: WallScreen, token: str | None = None) -> dict[str, Any]:
    base = get_settings().effective_base_url
    return {
        "id": wall.id,
        "name": wall.name,
        "brand_id": wall.brand_id,
        "boards": wall.boards,
        "prefix": wall.prefix,
        "created_at": wall.created_at.isoformat(),
        "revoked_at": wall.revoked_at.isoformat() if wall.revoked_at else None,
        **({"token": token, "url": f"{base}/wall/{token}"} if token else {}),
    }


@router.get("/wall-screens", summary="Wall-screen kiosk links")
def list_wall_screens(user: ApiUser, session: ReadSession) -> list[dict[str, Any]]:
    access.require(user, "analytics")
    walls = session.scalars(
        select(WallScreen).where(WallScreen.organization_id == user.organization_id).order_by(WallScreen.id)
    )
    allowed = set(access.brand_ids(session, user))
    return [_wall_json(wall) for wall in walls if wall.brand_id is None or wall.brand_id in allowed]


@router.post("/wall-screens", status_code=201, summary="Create a read-only kiosk link (shown once)")
def create_wall_screen(body: WallScreenIn, user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    with database.session() as session:
        wall, token = do_create_wall_screen(
            session, user=user, name=body.name, brand_id=body.brand_id, boards=body.boards
        )
        return _wall_json(wall, token)


@router.delete("/wall-screens/{wall_id}", summary="Revoke a kiosk link")
def revoke_wall_screen(wall_id: int, user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    with database.session() as session:
        wall = access_wall_screen(session, user, wall_id)
        do_revoke_wall_screen(session, user=user, wall=wall)
        return _wall_json(wall)


class ScheduleIn(BaseModel):
    name: str = Field(default="Weekly report", max_length=200)
    brand_id: int | None = None
    weekday: int = Field(default=0, ge=0, le=6, description="0 Monday ... 6 Sunday")
    time: str = Field(default="08:00", description="HH:MM in `timezone`")
    timezone: str = "UTC"
    recipients: list[str] = Field(min_length=1, max_length=50)
    formats: list[str] = ["html", "pdf", "csv"]


def _schedule_json(schedule: ReportSchedule) -> dict[str, Any]:
    return {
        "id": schedule.id,
        "name": schedule.name,
        "brand_id": schedule.brand_id,
        "weekday": schedule.weekday,
        "time": schedule.time_of_day,
        "timezone": schedule.timezone,
        "recipients": schedule.recipients,
        "formats": schedule.formats,
        "enabled": schedule.enabled,
        "next_run_at": schedule.next_run_at.isoformat(),
        "last_sent_at": schedule.last_sent_at.isoformat() if schedule.last_sent_at else None,
        "last_error": schedule.last_error,
    }


@router.get("/report-schedules", summary="Weekly-report schedules")
def list_schedules(user: ApiUser, session: ReadSession) -> list[dict[str, Any]]:
    access.require(user, "analytics")
    allowed = set(access.brand_ids(session, user))
    rows = session.scalars(
        select(ReportSchedule)
        .where(ReportSchedule.organization_id == user.organization_id)
        .order_by(ReportSchedule.id)
    )
    return [_schedule_json(row) for row in rows if row.brand_id is None or row.brand_id in allowed]


@router.post("/report-schedules", status_code=201, summary="Send a weekly report by e-mail on a schedule")
def create_schedule(body: ScheduleIn, user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    with database.session() as session:
        schedule = do_create_report_schedule(
            session,
            user=user,
            name=body.name,
            brand_id=body.brand_id,
            weekday=body.weekday,
            time_of_day=body.time,
            timezone=body.timezone,
            recipients=body.recipients,
            formats=body.formats,
        )
        return _schedule_json(schedule)


@router.post("/report-schedules/{schedule_id}/send", status_code=202, summary="Send a schedule's report now")
def send_schedule_now(schedule_id: int, user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    with database.session() as session:
        schedule = access_report_schedule(session, user, schedule_id)
        do_send_report_now(session, user=user, schedule=schedule)
        return _schedule_json(schedule)


@router.delete("/report-schedules/{schedule_id}", status_code=204, summary="Delete a schedule")
def delete_schedule(schedule_id: int, user: ApiUser, database: DatabaseDep) -> Response:
    with database.session() as session:
        schedule = access_report_schedule(session, user, schedule_id)
        do_delete_report_schedule(session, user=user, schedule=schedule)
    return Response(status_code=204)
