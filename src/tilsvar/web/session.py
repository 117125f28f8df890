"""Who is signed in to the web UI, and the CSRF check every state-changing form passes."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request, Response
from sqlalchemy import select

from tilsvar.api.deps import get_db
from tilsvar.auth import (
    SESSION_COOKIE,
    do_note_session_seen,
    session_touch_due,
    two_factor_required,
    user_for_session,
)
from tilsvar.db import Database
from tilsvar.models import Organization, User
from tilsvar.settings import Settings


@dataclass(frozen=True, slots=True)
class WebContext:
    user: User
    csrf_token: str
    session_id: int = 0
    second_factor_pending: bool = False
    # The organisation's default UI language ("" = none: the browser's language is used).
    organization_locale: str = ""


# Pages a signed-in user whose organisation requires two-factor may open before enrolling.
ENROLMENT_PATHS = ("/account/two-factor", "/logout")
SECOND_FACTOR_PATHS = ("/login/two-factor", "/logout")


def _redirect(request: Request, location: str) -> HTTPException:
    if request.headers.get("HX-Request") or request.method != "GET":
        return HTTPException(401, "sign in first")
    return HTTPException(303, "sign in first", headers={"Location": location})


def web_context(request: Request, database: Annotated[Database, Depends(get_db)]) -> WebContext:
    """The signed-in user, or a redirect to the sign-in page (for pages) / 401 (for partials). A
    sign-in still waiting for its second factor opens only that page; a user whose organisation
    requires two-factor and who has none yet is sent to set it up."""
    cookie = request.cookies.get(SESSION_COOKIE)
    path = request.url.path
    if cookie:
        with database.reader() as session:
            found = user_for_session(session, cookie)
            if found is not None:
                user, web_session = found
                enrol = two_factor_required(session, user)
                organization_locale = session.scalar(
                    select(Organization.locale).where(Organization.id == user.organization_id)
                )
                session.expunge(user)
                if web_session.second_factor_pending and not path.startswith(SECOND_FACTOR_PATHS):
                    raise _redirect(request, "/login/two-factor")
                if enrol and not path.startswith(ENROLMENT_PATHS):
                    raise _redirect(request, "/account/two-factor")
                if session_touch_due(web_session):
                    with database.session() as writer:
                        do_note_session_seen(writer, web_session=web_session)
                return WebContext(
                    user=user,
                    csrf_token=web_session.csrf_token,
                    session_id=web_session.id,
                    second_factor_pending=web_session.second_factor_pending,
                    organization_locale=organization_locale or "",
                )
    target = path + (f"?{request.url.query}" if request.url.query else "")
    raise _redirect(request, f"/login?next={quote(target)}")


async def require_csrf(request: Request, context: Annotated[WebContext, Depends(web_context)]) -> WebContext:
    """The signed-in user of a POST whose CSRF token (form field or X-CSRF-Token header) matches."""
    sent = request.headers.get("X-CSRF-Token", "")
    if not sent:
        form = await request.form()
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else ""
    if not sent or not hmac.compare_digest(sent, context.csrf_token):
        raise HTTPException(403, "the form has expired or did not come from this site; reload the page")
    return context


def client_ip(request: Request) -> str:
    """The address a request came from (as the server sees it; behind a proxy run uvicorn with
    ``--forwarded-allow-ips`` so this is the client's)."""
    return request.client.host if request.client else ""


def set_session_cookie(response: Response, settings: Settings, token: str) -> None:
    """The sign-in cookie: HttpOnly, SameSite=Lax, Secure when served over TLS."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(settings.session_max_age_hours * 3600),
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
        path="/",
    )


def safe_next(target: str | None) -> str:
    """Only local paths are followed after sign-in (no open redirects)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/inbox"


WebUser = Annotated[WebContext, Depends(web_context)]
CsrfUser = Annotated[WebContext, Depends(require_csrf)]
