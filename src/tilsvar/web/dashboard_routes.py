"""The analytics pages: the dashboard (filters, charts, comparison with the previous period, drill-down
into the conversations behind a number), the wall screen opened with a kiosk link (live over SSE, no
personal data) and the admin page for kiosk links and report schedules. Thin: parse, authorize via
``access``, call one query or action, render; chart data goes to static JS as a JSON data block."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from datetime import date, timedelta
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sse_starlette import EventSourceResponse

from tilsvar import access
from tilsvar.actions.analytics import (
    BOARDS,
    access_wall_screen,
    do_create_wall_screen,
    do_revoke_wall_screen,
    wall_brand_ids,
    wall_screen_for_token,
)
from tilsvar.actions.common import ActionError
from tilsvar.api.deps import DatabaseDep
from tilsvar.api.report_routes import period_of, scope_for
from tilsvar.db import Database
from tilsvar.models import (
    AnalyticsCursor,
    Brand,
    DomainEvent,
    ReportSchedule,
    Team,
    WallScreen,
    utcnow,
)
from tilsvar.reports.dashboard import dashboard_data, wall_data
from tilsvar.reports.engine import Scope, drill_conversations, labels_for
from tilsvar.settings import Settings
from tilsvar.web.i18n import N_
from tilsvar.web.routes import render
from tilsvar.web.session import CsrfUser, WebContext, WebUser

router = APIRouter(include_in_schema=False)
WALL_PING_SECONDS = 15.0


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _forbidden(request: Request, context: WebContext, message: str) -> HTMLResponse:
    return render(request, "error.html", context, status_code=403, title=N_("Not allowed"), message=message)


@router.get("/dashboard")
def dashboard_page(
    request: Request,
    database: DatabaseDep,
    context: WebUser,
    brand_id: str | None = None,
    channel_id: str | None = None,
    team_id: str | None = None,
) -> HTMLResponse:
    """The dashboard for whole UTC days ``from``..``to`` (default: the last 7 days)."""
    if not access.can(context.user, "report"):
        return _forbidden(request, context, N_("The dashboard is for roles that may see reports."))
    first = _day(request.query_params.get("from"))
    last = _day(request.query_params.get("to"))
    with database.reader() as session:
        try:
            scope = scope_for(
                session,
                context.user,
                brand_id=_int(brand_id),
                channel_id=_int(channel_id),
                team_id=_int(team_id),
            )
        except access.NotFound:
            scope = scope_for(session, context.user)
        period = period_of(first, last) if not (first and last and last < first) else period_of(None, None)
        data = dashboard_data(session, period=period, scope=scope)
        brands = access.brands(session, context.user)
        channels = access.visible_channels(session, context.user)
        teams = list(
            session.scalars(select(Team).where(Team.organization_id == context.user.organization_id))
        )
    filters = {
        "from": period.start.date().isoformat(),
        "to": (period.end - timedelta(days=1)).date().isoformat(),
        "brand_id": _int(brand_id),
        "channel_id": _int(channel_id),
        "team_id": _int(team_id),
    }
    return render(
        request,
        "dashboard.html",
        context,
        data=data,
        filters=filters,
        brands=brands,
        channels=channels,
        teams=teams,
        can_manage=access.can(context.user, "analytics"),
    )


@router.get("/dashboard/conversations")
def drill_down(
    request: Request,
    database: DatabaseDep,
    context: WebUser,
    brand_id: str | None = None,
    channel_id: str | None = None,
    team_id: str | None = None,
    agent_id: str | None = None,
    language: str | None = None,
    intent: str | None = None,
    sentiment: str | None = None,
    answered: str | None = None,
    pii: str | None = None,
    moderated: str | None = None,
) -> HTMLResponse:
    """The conversations behind a dashboard number (the newest 200)."""
    if not access.can(context.user, "report"):
        return _forbidden(request, context, N_("The dashboard is for roles that may see reports."))
    period = period_of(_day(request.query_params.get("from")), _day(request.query_params.get("to")))
    with database.reader() as session:
        try:
            scope = scope_for(
                session,
                context.user,
                brand_id=_int(brand_id),
                channel_id=_int(channel_id),
                team_id=_int(team_id),
                agent_id=_int(agent_id),
                language=language,
                intent=intent,
                sentiment=sentiment,
            )
        except access.NotFound:
            return render(
                request,
                "error.html",
                context,
                status_code=404,
                title=N_("Not found"),
                message=N_("No such brand."),
            )
        rows = drill_conversations(
            session,
            period=period,
            scope=scope,
            answered={"1": True, "0": False}.get(answered or ""),
            inquiries_only=not (pii or moderated),
            pii=pii == "1",
            moderated=moderated == "1",
        )
        channel_names = labels_for(session, "channel", list({row["fact"].channel_id for row in rows}))
    what = [
        label
        for label, present in (
            (f"intent {intent}", intent),
            (f"sentiment {sentiment}", sentiment),
            (f"language {language}", language),
            ("answered", answered == "1"),
            ("unanswered", answered == "0"),
            ("personal data exposed", pii == "1"),
            ("hidden or flagged", moderated == "1"),
        )
        if present
    ]
    return render(
        request,
        "dashboard_conversations.html",
        context,
        rows=rows,
        channel_names=channel_names,
        period=period,
        what=", ".join(what) or "all inquiries",
        now=utcnow(),
    )


def _wall_values(database: Database, token: str) -> dict[str, Any] | None:
    with database.reader() as session:
        wall = wall_screen_for_token(session, token)
        if wall is None:
            return None
        brand_ids = wall_brand_ids(session, wall)
        title = session.get_one(Brand, wall.brand_id).name if wall.brand_id else wall.name
        data = wall_data(session, scope=Scope(tuple(brand_ids)), now=utcnow(), title=title)
        data["boards"] = [board for board in wall.boards if board in BOARDS] or list(BOARDS)
        return data


def _gone(request: Request) -> HTMLResponse:
    return render(
        request,
        "error.html",
        None,
        status_code=404,
        title=N_("This wall screen link does not work"),
        message=N_("It was revoked, or it was never valid. Ask an administrator for a new link."),
    )


@router.get("/wall/{token}")
def wall_page(request: Request, database: DatabaseDep, token: str) -> Response:
    data = _wall_values(database, token)
    if data is None:
        return _gone(request)
    response = render(request, "wall.html", None, data=data, token=token)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.get("/wall/{token}/data")
def wall_json(database: DatabaseDep, token: str) -> Response:
    data = _wall_values(database, token)
    if data is None:
        return Response(json.dumps({"detail": "revoked"}), status_code=404, media_type="application/json")
    return Response(json.dumps(data), media_type="application/json", headers={"Cache-Control": "no-store"})


def _positions(database: Database, token: str) -> tuple[int, int] | None:
    """Where the event log and the rollups are, or None when the link no longer works."""
    with database.reader() as session:
        if wall_screen_for_token(session, token) is None:
            return None
        latest = int(session.scalar(select(func.coalesce(func.max(DomainEvent.id), 0))) or 0)
        rolled = int(session.scalar(select(func.coalesce(func.max(AnalyticsCursor.position), 0))) or 0)
    return latest, rolled


async def wall_stream(
    request: Any, database: Database, token: str, poll: float
) -> AsyncGenerator[dict[str, str]]:
    """Sends the wall's numbers whenever the event log or the rollups move (at least every minute, and
    a ping in between); ends with a ``revoked`` event as soon as the link is revoked."""
    seen: tuple[int, int] | None = None
    waited = 0.0
    step = max(poll, 0.2)
    while not await request.is_disconnected():
        positions = await anyio.to_thread.run_sync(_positions, database, token)
        data = None
        if positions is not None and (positions != seen or waited >= 60):
            data = await anyio.to_thread.run_sync(_wall_values, database, token)
        if positions is None or (data is None and positions != seen):
            yield {"event": "revoked", "data": "{}"}
            return
        if data is not None:
            seen, waited = positions, 0.0
            yield {"event": "kpis", "data": json.dumps(data)}
        elif waited and int(waited / WALL_PING_SECONDS) != int((waited - step) / WALL_PING_SECONDS):
            yield {"comment": "ping"}
        await asyncio.sleep(step)
        waited += step


@router.get("/wall/{token}/events")
async def wall_events(request: Request, database: DatabaseDep, token: str) -> Response:
    with database.reader() as session:
        if wall_screen_for_token(session, token) is None:
            return Response(status_code=404)
    settings: Settings = request.app.state.settings
    return EventSourceResponse(wall_stream(request, database, token, settings.events_poll_seconds))


def _admin_page(
    request: Request,
    database: Database,
    context: WebContext,
    *,
    created_url: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    with database.reader() as session:
        walls = list(
            session.scalars(
                select(WallScreen)
                .where(WallScreen.organization_id == context.user.organization_id)
                .order_by(WallScreen.id.desc())
            )
        )
        schedules = list(
            session.scalars(
                select(ReportSchedule)
                .where(ReportSchedule.organization_id == context.user.organization_id)
                .order_by(ReportSchedule.id)
            )
        )
        brands = access.brands(session, context.user)
    allowed = {brand.id for brand in brands}
    response = render(
        request,
        "admin_analytics.html",
        context,
        status_code=status_code,
        walls=[wall for wall in walls if wall.brand_id is None or wall.brand_id in allowed],
        schedules=[s for s in schedules if s.brand_id is None or s.brand_id in allowed],
        brands=brands,
        brand_names={brand.id: brand.name for brand in brands},
        created_url=created_url,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/admin/analytics")
def admin_analytics(request: Request, database: DatabaseDep, context: WebUser) -> HTMLResponse:
    if not access.can(context.user, "analytics"):
        return _forbidden(request, context, N_("Only administrators and supervisors manage wall screens."))
    return _admin_page(request, database, context)


@router.post("/admin/analytics/wall-screens")
def admin_create_wall(
    request: Request,
    database: DatabaseDep,
    context: CsrfUser,
    name: Annotated[str, Form()] = "Wall screen",
    brand_id: Annotated[str, Form()] = "",
) -> Response:
    """Create a kiosk link and show it once (only its hash is stored)."""
    try:
        with database.session() as session:
            _, token = do_create_wall_screen(session, user=context.user, name=name, brand_id=_int(brand_id))
    except access.Forbidden:
        return _forbidden(request, context, N_("Only administrators and supervisors manage wall screens."))
    except (ActionError, access.NotFound) as error:
        return _forbidden(request, context, getattr(error, "reason", N_("No such brand.")))
    settings: Settings = request.app.state.settings
    return _admin_page(
        request, database, context, created_url=f"{settings.effective_base_url}/wall/{token}", status_code=201
    )


@router.post("/admin/analytics/wall-screens/{wall_id}/revoke")
def admin_revoke_wall(request: Request, database: DatabaseDep, context: CsrfUser, wall_id: int) -> Response:
    try:
        with database.session() as session:
            wall = access_wall_screen(session, context.user, wall_id)
            do_revoke_wall_screen(session, user=context.user, wall=wall)
    except access.Forbidden:
        return _forbidden(request, context, N_("Only administrators and supervisors manage wall screens."))
    except access.NotFound:
        return render(
            request,
            "error.html",
            context,
            status_code=404,
            title=N_("Not found"),
            message=N_("No such wall screen."),
        )
    return RedirectResponse("/admin/analytics", status_code=303)
