"""The web UI of social listening (``/listening``): the brand's monitors, the stream of mentions
they found (new / converted / dismissed), a form to add a monitor, and per mention "start a
conversation" (proactive outreach) or "dismiss". Thin: authorize via ``access``, call one action,
render an autoescaped template (mention text is customer text and is never marked safe)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from tilsvar import access
from tilsvar.actions.common import ActionError
from tilsvar.actions.listening import (
    do_convert_mention,
    do_create_monitor,
    do_dismiss_mention,
    do_update_monitor,
)
from tilsvar.api.deps import DatabaseDep
from tilsvar.api.listening_routes import list_mentions, list_monitors
from tilsvar.models import Channel
from tilsvar.web.routes import render
from tilsvar.web.session import CsrfUser, WebUser

router = APIRouter(include_in_schema=False)
STATUSES = ("new", "converted", "dismissed")


@router.get("/listening")
def listening_page(
    request: Request, database: DatabaseDep, context: WebUser, status: str = "new", error: str = ""
) -> HTMLResponse:
    access.require(context.user, "read")
    status = status if status in STATUSES else "new"
    with database.reader() as session:
        monitors = list_monitors(session, context.user)
        mentions = list_mentions(session, context.user, status=status)
        channels = list(
            session.scalars(
                select(Channel)
                .where(
                    Channel.platform == "x",
                    Channel.status != "removed",
                    Channel.brand_id.in_(access.brand_ids(session, context.user)),
                )
                .order_by(Channel.id)
            )
        )
    names = {monitor.id: monitor.name for monitor in monitors}
    return render(
        request,
        "listening.html",
        context,
        monitors=monitors,
        mentions=mentions,
        monitor_names=names,
        channels=channels,
        status=status,
        statuses=STATUSES,
        error=error[:200],
        can_configure=access.can(context.user, "workflow"),
        can_reply=access.can(context.user, "reply"),
    )


@router.post("/listening/monitors")
def add_monitor(
    database: DatabaseDep,
    context: CsrfUser,
    channel_id: Annotated[int, Form()],
    name: Annotated[str, Form()] = "",
    query: Annotated[str, Form()] = "",
    poll_seconds: Annotated[int, Form()] = 300,
) -> Response:
    try:
        with database.session() as session:
            do_create_monitor(
                session,
                actor=context.user,
                channel_id=channel_id,
                name=name,
                query=query,
                poll_seconds=poll_seconds,
            )
    except ActionError as refused:
        return RedirectResponse(f"/listening?error={refused.reason}", status_code=303)
    return RedirectResponse("/listening", status_code=303)


@router.post("/listening/monitors/{monitor_id}/toggle")
def toggle_monitor(monitor_id: int, database: DatabaseDep, context: CsrfUser) -> Response:
    with database.session() as session:
        monitor = access.access_monitor(session, context.user, monitor_id)
        do_update_monitor(session, actor=context.user, monitor_id=monitor_id, active=not monitor.active)
    return RedirectResponse("/listening", status_code=303)


@router.post("/listening/mentions/{mention_id}/convert")
def convert(mention_id: int, database: DatabaseDep, context: CsrfUser) -> Response:
    with database.session() as session:
        conversation_id = do_convert_mention(session, actor=context.user, mention_id=mention_id)
    return RedirectResponse(f"/conversations/{conversation_id}", status_code=303)


@router.post("/listening/mentions/{mention_id}/dismiss")
def dismiss(mention_id: int, database: DatabaseDep, context: CsrfUser) -> Response:
    with database.session() as session:
        do_dismiss_mention(session, actor=context.user, mention_id=mention_id)
    return RedirectResponse("/listening", status_code=303)
