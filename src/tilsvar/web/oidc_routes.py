"""The web side of OpenID Connect single sign-on (``tilsvar.oidc``): ``/login/oidc`` sends the
browser to the issuer, ``/login/oidc/callback`` takes its answer and signs the user in."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response

from tilsvar import oidc
from tilsvar.actions.sso import do_sign_in_sso
from tilsvar.api.deps import DatabaseDep
from tilsvar.settings import Settings
from tilsvar.web.session import client_ip, safe_next, set_session_cookie

router = APIRouter(include_in_schema=False)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    if not oidc.enabled(settings):
        raise HTTPException(404, "single sign-on is not configured")
    return settings


def _redirect_uri(request: Request) -> str:
    return str(request.url_for("oidc_callback"))


@router.get("/login/oidc")
def oidc_start(request: Request, next: str | None = None) -> Response:
    settings = _settings(request)
    url, flow = oidc.start(settings, redirect_uri=_redirect_uri(request), next_url=safe_next(next))
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        oidc.FLOW_COOKIE,
        flow,
        max_age=oidc.FLOW_SECONDS,
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",  # the issuer's redirect back is a top-level GET
        path="/login/oidc",
    )
    return response


@router.get("/login/oidc/callback", name="oidc_callback")
def oidc_callback(
    request: Request,
    database: DatabaseDep,
    code: Annotated[str, Query(max_length=4000)] = "",
    state: Annotated[str, Query(max_length=400)] = "",
    error: Annotated[str, Query(max_length=400)] = "",
) -> Response:
    settings = _settings(request)
    if error:
        return PlainTextResponse(f"The sign-in was not completed: {error}", status_code=400)
    try:
        identity = oidc.finish(
            settings,
            cookie=request.cookies.get(oidc.FLOW_COOKIE, ""),
            state=state,
            code=code,
            redirect_uri=_redirect_uri(request),
        )
    except oidc.SsoError as refused:
        return PlainTextResponse(f"The sign-in was refused: {refused}", status_code=401)
    with database.session() as session:
        result = do_sign_in_sso(
            session,
            email=identity.email,
            subject=identity.subject,
            issuer=settings.oidc_issuer,
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent", ""),
        )
    if not result.ok:
        return PlainTextResponse(result.error, status_code=result.status)
    target = safe_next(identity.next)
    if result.second_factor_pending:
        target = f"/login/two-factor?{urlencode({'next': target})}"
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(oidc.FLOW_COOKIE, path="/login/oidc")
    set_session_cookie(response, settings, result.cookie)
    return response
