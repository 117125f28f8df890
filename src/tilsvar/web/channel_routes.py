"""``/admin/channels``: connect and manage channels in the web UI, with each channel's health (last
event received, last successful send, token state, webhook verification, the quiet alert).

Administrators only. Secrets are typed once into password fields, stored encrypted by
``do_create_channel`` / ``do_update_channel`` and never shown again (an empty field keeps the stored
secret). When the organisation requires two-factor sign-in, the web session already had to pass it
(``web.session``); these pages check it again, so channel administration never runs without it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from tilsvar import access
from tilsvar.actions.channel_admin import channel_health, do_remove_channel, do_update_channel
from tilsvar.actions.common import ActionError
from tilsvar.actions.org import do_create_channel
from tilsvar.api.deps import DatabaseDep
from tilsvar.auth import two_factor_required
from tilsvar.channels import PLATFORMS
from tilsvar.models import Brand, Channel
from tilsvar.web.routes import render
from tilsvar.web.session import CsrfUser, WebContext, WebUser

router = APIRouter(include_in_schema=False)
# The secrets each platform signs or authenticates with (form field → credential key).
SECRET_FIELDS = (
    "app_secret",
    "access_token",
    "verify_token",
    "consumer_secret",
    "client_secret",
    "callback_secret",
)
CONFIG_FIELDS = ("account_id", "graph_base", "api_base", "linkedin_version", "callback_url")


def _allowed(database: Any, context: WebContext) -> None:
    """Administrators with (where the organisation requires it) a second factor."""
    if not access.can(context.user, "channels"):
        raise HTTPException(403, "only administrators manage channels")
    with database.reader() as session:
        if two_factor_required(session, context.user):
            raise HTTPException(403, "set up two-factor sign-in first (your organisation requires it)")


def _page(
    request: Request, database: Any, context: WebContext, *, error: str = "", status: int = 200
) -> HTMLResponse:
    with database.reader() as session:
        brands = list(
            session.scalars(
                select(Brand)
                .where(Brand.organization_id == context.user.organization_id)
                .order_by(Brand.name)
            )
        )
        health = channel_health(session, brand_ids=[brand.id for brand in brands])
        configs = {
            channel.id: dict(channel.config or {})
            for channel in session.scalars(
                select(Channel).where(Channel.brand_id.in_([b.id for b in brands]))
            )
        }
    return render(
        request,
        "admin_channels.html",
        context,
        status_code=status,
        health=health,
        brands=brands,
        configs=configs,
        platforms=PLATFORMS,
        secret_fields=SECRET_FIELDS,
        config_fields=CONFIG_FIELDS,
        error=error,
    )


@router.get("/admin/channels")
def admin_channels(request: Request, database: DatabaseDep, context: WebUser) -> HTMLResponse:
    _allowed(database, context)
    return _page(request, database, context)


def _fields(form: Any, names: tuple[str, ...]) -> dict[str, str]:
    return {name: str(form.get(name) or "").strip() for name in names if str(form.get(name) or "").strip()}


def _channel(session: Session, context: WebContext, channel_id: int) -> Channel:
    channel = session.get(Channel, channel_id)
    brand = session.get(Brand, channel.brand_id) if channel is not None else None
    if channel is None or brand is None or brand.organization_id != context.user.organization_id:
        raise HTTPException(404, "no such channel")
    return channel


@router.post("/admin/channels")
async def admin_connect_channel(
    request: Request,
    database: DatabaseDep,
    context: CsrfUser,
    platform: Annotated[str, Form(max_length=32)],
    account: Annotated[str, Form(max_length=320)],
    brand_id: Annotated[int, Form()],
    name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    _allowed(database, context)
    form = await request.form()
    try:
        with database.session() as session:
            brand = session.get(Brand, brand_id)
            if brand is None or brand.organization_id != context.user.organization_id:
                raise ActionError("choose one of your brands")
            do_create_channel(
                session,
                brand=brand,
                platform=platform,
                account=account,
                name=name or None,
                credentials=_fields(form, SECRET_FIELDS) or None,
                config=_fields(form, CONFIG_FIELDS),
                actor_user=context.user,
            )
    except ActionError as error:
        return _page(request, database, context, error=error.reason, status=error.status)
    return RedirectResponse("/admin/channels", status_code=303)


@router.post("/admin/channels/{channel_id}")
async def admin_update_channel(
    request: Request, database: DatabaseDep, context: CsrfUser, channel_id: int
) -> Response:
    _allowed(database, context)
    form = await request.form()
    config: dict[str, Any] = {
        name: (str(form.get(name)).strip() or None) for name in CONFIG_FIELDS if name in form
    }
    try:
        with database.session() as session:
            do_update_channel(
                session,
                channel=_channel(session, context, channel_id),
                name=str(form.get("name") or "") or None,
                mode=str(form.get("mode") or "") or None,
                config=config or None,
                credentials=_fields(form, SECRET_FIELDS) or None,
                actor_user=context.user,
            )
    except ActionError as error:
        return _page(request, database, context, error=error.reason, status=error.status)
    return RedirectResponse("/admin/channels", status_code=303)


@router.post("/admin/channels/{channel_id}/remove")
def admin_remove_channel(database: DatabaseDep, context: CsrfUser, channel_id: int) -> Response:
    _allowed(database, context)
    with database.session() as session:
        do_remove_channel(session, channel=_channel(session, context, channel_id), actor_user=context.user)
    return RedirectResponse("/admin/channels", status_code=303)
