"""The web UI's pages: sign-in, the unified inbox, a conversation with its reply box, dead jobs, the
live event stream and the offline API docs. Thin: parse, authorize via ``access``, call one action or
``inbox`` query, render an autoescaped template (customer text is never marked safe)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, cast
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context
from sqlalchemy import func, select
from sse_starlette import EventSourceResponse

from tilsvar import access, inbox, oidc
from tilsvar.actions.auth import do_sign_in, do_sign_out
from tilsvar.actions.common import ActionError
from tilsvar.actions.jobs import do_retry_job
from tilsvar.actions.replies import DEFAULT_TEXT_LIMIT, TEXT_LIMITS, do_reply, do_retry_reply
from tilsvar.actions.reply_files import (
    ACCEPT,
    MAX_FILE_BYTES,
    MAX_FILES,
    ReplyFile,
    files_allowed,
    safe_filename,
)
from tilsvar.api.deps import DatabaseDep
from tilsvar.auth import SESSION_COOKIE
from tilsvar.channels import PLATFORMS
from tilsvar.models import Job, TeamMember, User, utcnow
from tilsvar.presence import board
from tilsvar.search.saved import saved_searches
from tilsvar.settings import Settings
from tilsvar.web import i18n, labels
from tilsvar.web.folding import fold_quote
from tilsvar.web.i18n import N_
from tilsvar.web.live import event_stream
from tilsvar.web.session import CsrfUser, WebContext, WebUser, client_ip, safe_next, set_session_cookie

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
# Templates mark their words with {{ _("...") }}; each render shows them in the language chosen for its
# request (tilsvar.web.i18n), with localised dates and numbers.
i18n.install(templates.env)

VIEWS: list[tuple[str, str]] = [
    ("unanswered", N_("Unanswered")),
    ("mine", N_("Mine")),
    ("team", N_("My team")),
    ("urgent", N_("Urgent")),
    ("waiting", N_("Waiting on customer")),
    ("flagged", N_("Flagged / hidden")),
    ("personal_data", N_("Personal data exposed")),
    ("open", N_("Open")),
    ("all", N_("All")),
    ("resolved", N_("Resolved")),
]
# Views that narrow the open conversations to the asking agent's own work (see _filters).
PERSONAL_VIEWS = ("mine", "team", "waiting")
SORTS: list[tuple[str, str]] = [
    ("newest_waiting", N_("Newest waiting first")),
    ("waiting", N_("Longest waiting first")),
    ("priority", N_("Most urgent first")),
    ("recent", N_("Recent activity")),
]
# Views of waiting conversations, which can be ordered by waiting time or urgency.
WAITING_VIEWS = ("unanswered", "urgent")
PLATFORM_LABELS = {
    "facebook": "Facebook",
    "instagram": "Instagram",
    "x": "X",
    "linkedin": "LinkedIn",
    "youtube": "YouTube",
    "email": N_("E-mail"),
    "webchat": N_("Web chat"),
    "api": "API",
}


@pass_context
def platform_label(context: Context, platform: str) -> str:
    """A platform's name; the generic ones ("E-mail", "Web chat") in the page's language."""
    return str(i18n.translate(context, PLATFORM_LABELS.get(platform, platform)))


templates.env.globals["platform_label"] = platform_label


@pass_context
def ui_words(context: Context) -> dict[str, str]:
    """The chart words of the static dashboard/wall scripts in the page's language (a JSON block)."""
    return {word: str(i18n.translate(context, word)) for word in labels.CHART_WORDS}


templates.env.globals["ui_words"] = ui_words


def request_language(request: Request, context: WebContext | None) -> str:
    """The signed-in user's language, else the organisation's default, else the browser's."""
    return i18n.choose_language(
        context.user.locale if context else None,
        context.organization_locale if context else None,
        request.headers.get("accept-language"),
    )


templates.env.filters["fold_quote"] = fold_quote


def render(
    request: Request, name: str, context: WebContext | None, status_code: int = 200, **values: Any
) -> HTMLResponse:
    values.update(
        request=request,
        me=context.user if context else None,
        csrf_token=context.csrf_token if context else "",
        can_admin=bool(context and access.can(context.user, "jobs")),
    )
    if not values.get("lang"):  # a page may choose (the customer's CSAT survey: their conversation's)
        values["lang"] = request_language(request, context)
    return templates.TemplateResponse(request, name, values, status_code=status_code)


def not_found(request: Request, context: WebContext | None) -> HTMLResponse:
    return render(
        request,
        "error.html",
        context,
        status_code=404,
        title=N_("Not found"),
        message=N_("This page does not exist, or you may not see it."),
    )


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/inbox", status_code=303)


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> HTMLResponse:
    sso = oidc.enabled(request.app.state.settings)
    return render(request, "login.html", None, next=safe_next(next), error="", email="", sso=sso)


@router.post("/login")
def login(
    request: Request,
    database: DatabaseDep,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str, Form(max_length=2000)] = "/inbox",
) -> Response:
    with database.session() as session:  # refused sign-ins are results, committed with their audit row
        result = do_sign_in(
            session,
            email=email,
            password=password,
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent", ""),
        )
    if not result.ok:
        return render(
            request,
            "login.html",
            None,
            status_code=result.status,
            next=safe_next(next),
            error=result.error,
            email=email,
            sso=oidc.enabled(request.app.state.settings),
        )
    target = safe_next(next)
    if result.second_factor_pending:
        target = f"/login/two-factor?{urlencode({'next': target})}"
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, request.app.state.settings, result.cookie)
    return response


@router.post("/logout")
def logout(request: Request, database: DatabaseDep, context: CsrfUser) -> RedirectResponse:
    del context
    with database.session() as session:
        do_sign_out(session, token=request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _filters(
    view: str,
    sort: str | None,
    platform: str | None,
    brand_id: str | None,
    *,
    user_id: int | None = None,
    team_id: int | None = None,
) -> inbox.InboxFilter:
    """Inbox filters from query parameters; anything unknown falls back to the default.

    "Mine" is the open conversations assigned to ``user_id``, "My team" those in ``team_id``'s queue
    (the agent's first team; none matches when the agent has no team), "Waiting on customer" the
    pending ones."""
    if view not in dict(VIEWS):
        view = "unanswered"
    if sort not in dict(SORTS):
        sort = {"unanswered": "newest_waiting", "urgent": "priority"}.get(view, "recent")
    if sort != "recent" and view not in WAITING_VIEWS:
        sort = "recent"  # only waiting conversations have a waiting time to sort by
    return inbox.InboxFilter(
        view=cast(inbox.View, "open" if view in PERSONAL_VIEWS else view),
        sort=cast(inbox.Sort, sort),
        platform=platform if platform in PLATFORMS else None,
        brand_id=int(brand_id) if brand_id and brand_id.isdigit() else None,
        assignee_id=(user_id or -1) if view == "mine" else None,
        team_id=(team_id or -1) if view == "team" else None,
        status="pending" if view == "waiting" else None,
    )


def first_team_id(session: Any, user: Any) -> int | None:
    """The team whose queue is the agent's "My team" view."""
    return cast(
        "int | None",
        session.scalar(
            select(TeamMember.team_id)
            .where(TeamMember.user_id == user.id)
            .order_by(TeamMember.team_id)
            .limit(1)
        ),
    )


def _qs(query: dict[str, Any], **more: Any) -> str:
    return urlencode({key: value for key, value in {**query, **more}.items() if value not in (None, "")})


def _inbox_values(
    database: Any,
    context: WebContext,
    view: str,
    sort: str | None,
    platform: str | None,
    brand_id: str | None,
    cursor: str | None,
) -> dict[str, Any]:
    settings_page = 50
    view = view if view in dict(VIEWS) else "unanswered"
    with database.reader() as session:
        filters = _filters(
            view,
            sort,
            platform,
            brand_id,
            user_id=context.user.id,
            team_id=first_team_id(session, context.user),
        )
        try:
            page = inbox.list_conversations(
                session, context.user, filters=filters, cursor=cursor, limit=settings_page
            )
        except ValueError:
            page = inbox.list_conversations(session, context.user, filters=filters, limit=settings_page)
        brands = access.brands(session, context.user)
        saved = saved_searches(session, context.user)
        names = dict(
            session.execute(
                select(User.id, User.name).where(
                    User.id.in_({row.assignee_id for row in page.rows if row.assignee_id})
                )
            ).all()
        )
    query: dict[str, Any] = {
        "view": view,
        "sort": filters.effective_sort,
        "platform": filters.platform or "",
        "brand_id": filters.brand_id or "",
    }
    return {
        "rows": page.rows,
        "now": utcnow(),
        "filters": filters,
        "current_view": view,
        "views": VIEWS,
        "saved_views": saved,
        "sorts": SORTS,
        "platforms": PLATFORMS,
        "brands": brands,
        "assignees": names,
        "viewers": {row.id: board.others(row.id, user_id=context.user.id) for row in page.rows},
        "next_url": f"/inbox?{_qs(query, cursor=page.next_cursor)}" if page.next_cursor else "",
        "rows_url": f"/inbox/rows?{_qs(query, cursor=cursor)}",
        "counts_url": f"/inbox/counts?{_qs(query)}",
    }


@router.get("/inbox")
def inbox_page(
    request: Request,
    database: DatabaseDep,
    context: WebUser,
    view: str = "unanswered",
    sort: str | None = None,
    platform: str | None = None,
    brand_id: str | None = None,
    cursor: str | None = None,
) -> HTMLResponse:
    access.require(context.user, "read")
    values = _inbox_values(database, context, view, sort, platform, brand_id, cursor)
    return render(request, "inbox.html", context, **values)


@router.get("/inbox/rows")
def inbox_rows(
    request: Request,
    database: DatabaseDep,
    context: WebUser,
    view: str = "unanswered",
    sort: str | None = None,
    platform: str | None = None,
    brand_id: str | None = None,
    cursor: str | None = None,
) -> HTMLResponse:
    access.require(context.user, "read")
    values = _inbox_values(database, context, view, sort, platform, brand_id, cursor or None)
    return render(request, "_inbox_rows.html", context, **values)


def post_context_view(context: dict[str, Any] | None) -> dict[str, Any] | None:
    """The stored post context (tilsvar.channels.context) with its time as a datetime for |clock."""
    if not context:
        return None
    view = dict(context)
    try:
        view["created_at"] = datetime.fromisoformat(str(context.get("created_at") or ""))
    except ValueError:
        view["created_at"] = None
    return view


def _conversation_values(database: Any, context: WebContext, conversation_id: int) -> dict[str, Any]:
    with database.reader() as session:
        detail = inbox.read_conversation(session, context.user, conversation_id)
    limit = TEXT_LIMITS.get(detail.row.platform, DEFAULT_TEXT_LIMIT)
    return {
        "c": detail.row,
        "messages": detail.messages,
        "platform_context": post_context_view(detail.context),
        "now": utcnow(),
        "limit": limit,
        "can_reply": access.can(context.user, "reply"),
        "can_moderate": access.can(context.user, "moderate"),
        "can_reveal": access.can(context.user, "reveal"),
        "files_allowed": files_allowed(detail.row.platform),
        "files_accept": ACCEPT,
        "files_max": MAX_FILES,
        "files_max_mb": MAX_FILE_BYTES // (1024 * 1024),
    }


@router.get("/conversations/{conversation_id}")
def conversation_page(
    request: Request, database: DatabaseDep, context: WebUser, conversation_id: int
) -> HTMLResponse:
    try:
        values = _conversation_values(database, context, conversation_id)
    except access.NotFound:
        return not_found(request, context)
    return render(request, "conversation.html", context, text="", error="", **values)


@router.get("/conversations/{conversation_id}/thread")
def conversation_thread(
    request: Request, database: DatabaseDep, context: WebUser, conversation_id: int
) -> HTMLResponse:
    try:
        values = _conversation_values(database, context, conversation_id)
    except access.NotFound:
        return not_found(request, context)
    return render(request, "_thread.html", context, **values)


def _uploads(files: list[UploadFile]) -> list[ReplyFile]:
    """The uploaded files (an empty file input sends one without a name: skipped); a file over the
    size limit is refused before it is read whole."""
    uploads = []
    for upload in files:
        if not upload.filename:
            continue
        data = upload.file.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise ActionError(
                f"{safe_filename(upload.filename)} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB"
            )
        uploads.append(ReplyFile(filename=upload.filename, content_type=upload.content_type or "", data=data))
    return uploads


@router.post("/conversations/{conversation_id}/reply")
def reply(
    request: Request,
    database: DatabaseDep,
    context: CsrfUser,
    conversation_id: int,
    text: Annotated[str, Form()] = "",
    then: Annotated[str, Form(max_length=20)] = "",
    files: Annotated[list[UploadFile] | None, File()] = None,
) -> Response:
    """Send a reply; with ``then=resolve`` ("Send and resolve") also resolve, in the same transaction.
    Files (multipart ``files``) go with it where the channel can send them (actions.reply_files)."""
    try:
        access.require(context.user, "reply")
        uploads = _uploads(files or [])
        with database.session() as session:
            conversation = access.access_conversation(session, context.user, conversation_id)
            do_reply(session, user=context.user, conversation=conversation, text=text, attachments=uploads)
            if then == "resolve":
                from tilsvar.actions.workflow import do_set_status

                do_set_status(session, user=context.user, conversation=conversation, status="resolved")
    except access.NotFound:
        return not_found(request, context)
    except access.Forbidden as error:
        raise HTTPException(403, str(error)) from error
    except ActionError as error:
        values = _conversation_values(database, context, conversation_id)
        return render(
            request, "_reply_area.html", context, status_code=422, text=text, error=error.reason, **values
        )
    values = _conversation_values(database, context, conversation_id)
    if not request.headers.get("HX-Request"):
        return RedirectResponse(f"/conversations/{conversation_id}", status_code=303)
    response = render(request, "_reply_area.html", context, text="", error="", **values)
    # After "send and resolve" the workflow panel shows the new status (and the CSAT request).
    response.headers["HX-Trigger"] = (
        "thread-refresh, workflow-refresh" if then == "resolve" else "thread-refresh"
    )
    return response


@router.post("/messages/{message_id}/retry")
def retry(request: Request, database: DatabaseDep, context: CsrfUser, message_id: int) -> Response:
    try:
        access.require(context.user, "reply")
        with database.session() as session:
            message = access.access_message(session, context.user, message_id)
            conversation_id = message.conversation_id
            do_retry_reply(session, user=context.user, message=message)
    except access.NotFound:
        return not_found(request, context)
    except ActionError as error:
        raise HTTPException(error.status, error.reason) from error
    if request.headers.get("HX-Request"):
        return render(
            request, "_thread.html", context, **_conversation_values(database, context, conversation_id)
        )
    return RedirectResponse(f"/conversations/{conversation_id}", status_code=303)


@router.get("/admin/jobs")
def admin_jobs(request: Request, database: DatabaseDep, context: WebUser) -> HTMLResponse:
    if not access.can(context.user, "jobs"):
        return render(
            request,
            "error.html",
            context,
            status_code=403,
            title=N_("Not allowed"),
            message=N_("Only administrators and supervisors see the job queue."),
        )
    with database.reader() as session:
        counts = dict(session.execute(select(Job.status, func.count()).group_by(Job.status)).all())
        dead = list(
            session.scalars(select(Job).where(Job.status == "dead").order_by(Job.id.desc()).limit(200))
        )
    return render(request, "admin_jobs.html", context, counts=counts, dead=dead)


@router.post("/admin/jobs/{job_id}/retry")
def admin_retry_job(database: DatabaseDep, context: CsrfUser, job_id: int) -> RedirectResponse:
    if not access.can(context.user, "jobs"):
        raise HTTPException(403, "not allowed")
    with database.session() as session:
        do_retry_job(session, job_id=job_id, actor_user=context.user)
    return RedirectResponse("/admin/jobs", status_code=303)


@router.get("/events")
async def events(request: Request, database: DatabaseDep, context: WebUser) -> EventSourceResponse:
    settings: Settings = request.app.state.settings
    return EventSourceResponse(event_stream(request, database, context.user, settings.events_poll_seconds))


@router.get("/docs")
def api_docs(request: Request) -> HTMLResponse:
    """The vendored Swagger UI, started by a script file (no inline script; see tilsvar.web_security)."""
    return templates.TemplateResponse(request, "docs.html", {})
