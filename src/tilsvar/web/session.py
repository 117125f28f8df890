"""Who is signed in to the web UI, and the CSRF check every state-changing form passes."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request

from tilsvar.api.deps import get_db
from tilsvar.auth import SESSION_COOKIE, user_for_session
from tilsvar.db import Database
from tilsvar.models import User


@dataclass(frozen=True, slots=True)
class WebContext:
    user: User
    csrf_token: str


def web_context(request: Request, database: Annotated[Database, Depends(get_db)]) -> WebContext:
    """The signed-in user, or a redirect to the sign-in page (for pages) / 401 (for partials)."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        with database.reader() as session:
            found = user_for_session(session, cookie)
            if found is not None:
                user, web_session = found
                session.expunge(user)
                return WebContext(user=user, csrf_token=web_session.csrf_token)
    if request.headers.get("HX-Request") or request.method != "GET":
        raise HTTPException(401, "sign in first")
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    raise HTTPException(303, "sign in first", headers={"Location": f"/login?next={quote(target)}"})


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


def safe_next(target: str | None) -> str:
    """Only local paths are followed after sign-in (no open redirects)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/inbox"


WebUser = Annotated[WebContext, Depends(web_context)]
CsrfUser = Annotated[WebContext, Depends(require_csrf)]
