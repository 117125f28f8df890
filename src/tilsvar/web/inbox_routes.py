"""The inbox's live view counts and its bulk actions. Thin: parse, authorize, call ``inbox`` or
``actions.bulk``, render a partial.

The counts come as the view tabs themselves (``_inbox_tabs.html``); the page's script asks for them
again whenever the event stream reports a change, so every tab's number follows the traffic live."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tilsvar import access, inbox
from tilsvar.actions.bulk import do_bulk_update
from tilsvar.actions.common import ActionError
from tilsvar.api.deps import DatabaseDep
from tilsvar.search.saved import saved_searches
from tilsvar.web.i18n import N_
from tilsvar.web.routes import VIEWS, _filters, first_team_id, render
from tilsvar.web.session import CsrfUser, WebUser

router = APIRouter(include_in_schema=False)


@router.get("/inbox/counts")
def inbox_counts(
    request: Request,
    database: DatabaseDep,
    context: WebUser,
    view: str = "unanswered",
    platform: str | None = None,
    brand_id: str | None = None,
) -> HTMLResponse:
    access.require(context.user, "read")
    with database.reader() as session:
        team_id = first_team_id(session, context.user)
        views = {
            key: _filters(key, None, platform, brand_id, user_id=context.user.id, team_id=team_id)
            for key, _label in VIEWS
        }
        counts = inbox.count_views(session, context.user, views=views)
        saved = saved_searches(session, context.user)
    return render(
        request,
        "_inbox_tabs.html",
        context,
        views=VIEWS,
        counts=counts,
        current_view=view if view in dict(VIEWS) else "unanswered",
        saved_views=saved,
        counts_url=str(request.url.path) + ("?" + request.url.query if request.url.query else ""),
    )


@router.post("/inbox/bulk")
def inbox_bulk(
    request: Request,
    database: DatabaseDep,
    context: CsrfUser,
    action: Annotated[str, Form(max_length=20)],
    conversation_id: Annotated[list[int] | None, Form()] = None,
    tag: Annotated[str, Form(max_length=100)] = "",
    reason: Annotated[str, Form(max_length=300)] = "",
    back: Annotated[str, Form(max_length=2000)] = "/inbox",
) -> Response:
    error = ""
    done = 0
    try:
        with database.session() as session:
            result = do_bulk_update(
                session,
                user=context.user,
                conversation_ids=conversation_id or [],
                action=action,
                tag=tag,
                reason=reason,
            )
            done = len(result.changed)
    except ActionError as refused:
        error = refused.reason
    except access.Forbidden as refused:
        raise HTTPException(403, str(refused)) from refused
    except access.NotFound:  # one transaction: nothing was changed
        error = N_("One of the selected conversations does not exist or is not yours to see.")
    if not request.headers.get("HX-Request"):
        return RedirectResponse(back if back.startswith("/inbox") else "/inbox", status_code=303)
    response = render(
        request, "_bulk_result.html", context, status_code=422 if error else 200, error=error, done=done
    )
    response.headers["HX-Trigger"] = "inbox-changed"
    return response
