"""``/api/v1/trends`` (chorus and shitstorm alerts, and acting on them: incident, bulk reply,
escalation) and ``/api/v1/insights/topics`` (topics over time by channel and sentiment, JSON or CSV)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from tilsvar import access
from tilsvar.actions.trends import do_bulk_reply, do_escalate_alert, do_open_incident
from tilsvar.api.deps import ApiUser, DatabaseDep, ReadSession
from tilsvar.models import User
from tilsvar.models.knowledge import TrendAlert
from tilsvar.reports.kpis import Period
from tilsvar.settings import get_settings
from tilsvar.trends.insights import rows_csv, topic_rows
from tilsvar.trends.queries import alert_detail, cluster_external_ids, list_alerts

router = APIRouter(prefix="/api/v1")


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise HTTPException(400, f"not an ISO 8601 time: {value!r}") from error
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@router.get("/trends", summary="Chorus and shitstorm alerts (message times)")
def trends(
    user: ApiUser,
    session: ReadSession,
    start: Annotated[str | None, Query(alias="from")] = None,
    end: Annotated[str | None, Query(alias="to")] = None,
    brand_id: int | None = None,
) -> dict[str, Any]:
    access.require(user, "read")
    brand_ids = access.brand_ids(session, user)
    if brand_id is not None:
        brand_ids = [b for b in brand_ids if b == brand_id]
    rows = list_alerts(session, brand_ids=brand_ids, start=_time(start), end=_time(end))
    ids = cluster_external_ids(session, sorted({row.cluster_id for row in rows}))
    return {"items": [row.as_json() | {"message_ids": ids.get(row.cluster_id, [])} for row in rows]}


def _detail(session: Session, user: User, alert_id: int) -> dict[str, Any]:
    settings = get_settings()
    detail = alert_detail(
        session,
        alert_id=alert_id,
        brand_ids=access.brand_ids(session, user),
        window=timedelta(minutes=settings.trends_window_minutes),
        cooldown=timedelta(hours=settings.trends_cooldown_hours),
    )
    if detail is None:
        raise access.NotFound(f"alert {alert_id}")
    return detail


@router.get("/trends/{alert_id}", summary="One alert: label, size, channels, sentiment, samples, timeline")
def trend(alert_id: int, user: ApiUser, session: ReadSession) -> dict[str, Any]:
    access.require(user, "read")
    return _detail(session, user, alert_id)


def _alert(session: Session, user: User, alert_id: int) -> TrendAlert:
    alert = session.get(TrendAlert, alert_id)
    if alert is None or alert.brand_id not in access.brand_ids(session, user):
        raise access.NotFound(f"alert {alert_id}")
    return alert


class IncidentIn(BaseModel):
    title: str = Field(default="", max_length=300)


@router.post("/trends/{alert_id}/incident", summary="Link all the alert's conversations to one incident")
def open_incident(alert_id: int, body: IncidentIn, user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    access.require(user, "reply")
    with database.session() as session:
        incident = do_open_incident(
            session, user=user, alert=_alert(session, user, alert_id), title=body.title
        )
        return {"incident_id": incident.id, "title": incident.title}


class BulkReplyIn(BaseModel):
    text: str = Field(
        min_length=1, max_length=20000, description="`{customer_name}` becomes each first name."
    )


@router.post(
    "/trends/{alert_id}/reply", status_code=202, summary="Answer every waiting conversation together"
)
def bulk_reply(alert_id: int, body: BulkReplyIn, user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    """Opens the incident if needed, then queues one personalised reply per waiting conversation."""
    access.require(user, "reply")
    with database.session() as session:
        # The alert's incident (opened now if needed), with conversations that arrived since linked.
        incident = do_open_incident(session, user=user, alert=_alert(session, user, alert_id))
        return {"incident_id": incident.id} | do_bulk_reply(
            session, user=user, incident=incident, text_=body.text
        )


class EscalateIn(BaseModel):
    note: str = Field(default="", max_length=500)


@router.post("/trends/{alert_id}/escalate", summary="Escalate to the press team")
def escalate(alert_id: int, body: EscalateIn, user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    access.require(user, "reply")
    with database.session() as session:
        notified = do_escalate_alert(
            session, user=user, alert=_alert(session, user, alert_id), note=body.note
        )
        return {"notified": notified}


@router.get("/insights/topics", summary="Topics over time by channel and sentiment (JSON or CSV)")
def insight_topics(
    user: ApiUser,
    session: ReadSession,
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
    by: Literal["intent", "cluster"] = "intent",
    granularity: Literal["day", "week", "hour"] = "day",
    brand_id: int | None = None,
    format: Literal["json", "csv"] = "json",
) -> Response:
    access.require(user, "report")
    try:
        period = Period.from_dates(start, end)
    except ValueError as error:
        raise HTTPException(400, str(error)) from error
    brand_ids = access.brand_ids(session, user)
    if brand_id is not None:
        brand_ids = [b for b in brand_ids if b == brand_id]
    rows = topic_rows(session, period=period, brand_ids=brand_ids, by=by, granularity=granularity)
    if format == "csv":
        return PlainTextResponse(
            rows_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="topics-{start}-{end}.csv"'},
        )
    return JSONResponse({"from": str(start), "to": str(end), "by": by, "items": rows})
