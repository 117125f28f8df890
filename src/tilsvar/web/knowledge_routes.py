"""The web UI of the knowledge base (``/faq``: articles per brand and language, editing, proposals)
and of chorus detection (``/trends``: alerts, one alert with its timeline and masked samples, and the
actions incident / bulk reply / escalate). Thin: authorize via ``access``, call one action or read
model, render autoescaped templates (customer text is never marked safe)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import or_, select

from tilsvar import access, inbox
from tilsvar.actions.common import ActionError
from tilsvar.actions.faq import do_decide_proposal, do_record_faq_event, do_save_article
from tilsvar.actions.trends import do_bulk_reply, do_escalate_alert, do_open_incident
from tilsvar.api.deps import DatabaseDep
from tilsvar.faq.service import suggest
from tilsvar.models.knowledge import FaqArticle, FaqProposal, TrendAlert
from tilsvar.settings import get_settings
from tilsvar.trends.queries import alert_detail, list_alerts
from tilsvar.web.routes import not_found, render
from tilsvar.web.session import CsrfUser, WebUser

router = APIRouter(include_in_schema=False)


@router.get("/faq")
def faq_page(
    request: Request, database: DatabaseDep, context: WebUser, brand_id: int | None = None
) -> HTMLResponse:
    access.require(context.user, "read")
    with database.reader() as session:
        brand_ids = access.brand_ids(session, context.user)
        query = (
            select(FaqArticle)
            .where(
                FaqArticle.organization_id == context.user.organization_id,
                or_(FaqArticle.brand_id.is_(None), FaqArticle.brand_id.in_(brand_ids)),
            )
            .order_by(FaqArticle.title)
        )
        if brand_id is not None:
            query = query.where(or_(FaqArticle.brand_id == brand_id, FaqArticle.brand_id.is_(None)))
        articles = list(session.scalars(query.limit(2000)))
        proposals = list(
            session.scalars(
                select(FaqProposal)
                .where(
                    FaqProposal.organization_id == context.user.organization_id,
                    FaqProposal.status == "open",
                    or_(FaqProposal.brand_id.is_(None), FaqProposal.brand_id.in_(brand_ids)),
                )
                .order_by(FaqProposal.size.desc(), FaqProposal.id)
            )
        )
        # The titles of the articles phrasing proposals would add to (those the user may see).
        wanted = {p.article_id for p in proposals if p.kind == "phrasing" and p.article_id is not None}
        article_titles = (
            {
                row[0]: row[1]
                for row in session.execute(
                    select(FaqArticle.id, FaqArticle.title).where(
                        FaqArticle.id.in_(wanted),
                        FaqArticle.organization_id == context.user.organization_id,
                        or_(FaqArticle.brand_id.is_(None), FaqArticle.brand_id.in_(brand_ids)),
                    )
                )
            }
            if wanted
            else {}
        )
        proposals = [p for p in proposals if p.kind != "phrasing" or p.article_id in article_titles]
        brands = {brand.id: brand.name for brand in access.brands(session, context.user)}
    return render(
        request,
        "faq.html",
        context,
        articles=articles,
        proposals=proposals,
        article_titles=article_titles,
        brands=brands,
        brand_id=brand_id,
        can_edit=access.can(context.user, "workflow"),
    )


def _article(database: DatabaseDep, context: WebUser, article_id: int) -> FaqArticle | None:
    with database.reader() as session:
        article = session.get(FaqArticle, article_id)
        if (
            article is None
            or article.organization_id != context.user.organization_id
            or (
                article.brand_id is not None
                and article.brand_id not in access.brand_ids(session, context.user)
            )
        ):
            return None
        session.expunge(article)
        return article


@router.get("/conversations/{conversation_id}/faq")
def reply_box_faq(
    request: Request,
    database: DatabaseDep,
    context: WebUser,
    conversation_id: int,
    text: str = "",
    mode: str = "",
) -> HTMLResponse:
    """FAQ articles for the reply box: for what the agent is typing, or (before they type) for the
    customer's last message; each with its answer adapted to the conversation's channel (plain text,
    within the platform's limit), ready to insert. ``mode=settled`` (asked when typing pauses, and
    for the customer's message) also ranks with sentence vectors (docs/faq.md)."""
    access.require(context.user, "read")
    try:
        with database.reader() as session:
            detail = inbox.read_conversation(session, context.user, conversation_id)
            typed = text.strip()[:1000]
            asked = next((m.text for m in reversed(detail.messages) if m.direction == "in"), "")
            found = suggest(
                session,
                organization_id=context.user.organization_id,
                text=typed if len(typed) >= 3 else asked[:1000],
                brand_id=detail.row.brand_id,
                language=detail.row.language,
                k=3,
                min_score=get_settings().faq_min_score,
                settled=mode == "settled",
            )
    except access.NotFound:
        return not_found(request, context)
    suggestions = [s.as_json() | {"answer": s.answer(detail.row.platform)} for s in found]
    return render(
        request, "_faq_suggestions.html", context, suggestions=suggestions, conversation_id=conversation_id
    )


@router.post("/conversations/{conversation_id}/faq/inserted")
def reply_box_faq_inserted(
    request: Request,
    database: DatabaseDep,
    context: CsrfUser,
    conversation_id: int,
    article_id: Annotated[str, Form()] = "",
) -> Response:
    """The agent inserted an article's answer into a reply (counted per article; the customer's
    question in the conversation becomes a proposed phrasing of the article). An article they may
    not see (or none) is a 422, like any bad form field."""
    access.require(context.user, "reply")
    try:
        with database.session() as session:
            access.access_conversation(session, context.user, conversation_id)
            article = session.get(FaqArticle, int(article_id)) if article_id.isdigit() else None
            if (
                article is None
                or article.organization_id != context.user.organization_id
                or (
                    article.brand_id is not None
                    and article.brand_id not in access.brand_ids(session, context.user)
                )
            ):
                return Response("no such article", status_code=422, media_type="text/plain")
            do_record_faq_event(
                session, article=article, kind="inserted", source="agent", conversation_id=conversation_id
            )
    except access.NotFound:
        return not_found(request, context)
    return Response(status_code=204)


@router.get("/faq/new")
@router.get("/faq/{article_id}/edit")
def faq_edit_page(
    request: Request, database: DatabaseDep, context: WebUser, article_id: int | None = None
) -> HTMLResponse:
    access.require(context.user, "workflow")
    article = _article(database, context, article_id) if article_id is not None else None
    if article_id is not None and article is None:
        return not_found(request, context)
    with database.reader() as session:
        brands = {brand.id: brand.name for brand in access.brands(session, context.user)}
    return render(request, "faq_edit.html", context, article=article, brands=brands, error="")


@router.post("/faq/save")
def faq_save(
    request: Request,
    database: DatabaseDep,
    context: CsrfUser,
    title: Annotated[str, Form()] = "",
    body: Annotated[str, Form()] = "",
    questions: Annotated[str, Form()] = "",
    language: Annotated[str, Form()] = "",
    url: Annotated[str, Form()] = "",
    status: Annotated[str, Form()] = "published",
    brand_id: Annotated[str, Form()] = "",
    article_id: Annotated[str, Form()] = "",
) -> Response:
    access.require(context.user, "workflow")
    fields = {
        "title": title,
        "body": body,
        "questions": questions,
        "language": language,
        "url": url,
        "status": status,
    }
    chosen = int(brand_id) if brand_id.isdigit() else None
    try:
        with database.session() as session:
            if chosen is not None and chosen not in access.brand_ids(session, context.user):
                raise ActionError("no such brand")
            article = None
            if article_id.isdigit():
                article = session.get(FaqArticle, int(article_id))
                if article is None or article.organization_id != context.user.organization_id:
                    raise ActionError("no such article")
            do_save_article(session, user=context.user, fields=fields, brand_id=chosen, article=article)
    except ActionError as error:
        with database.reader() as session:
            brands = {brand.id: brand.name for brand in access.brands(session, context.user)}
        return render(
            request,
            "faq_edit.html",
            context,
            status_code=422,
            article=None,
            brands=brands,
            error=error.reason,
        )
    return RedirectResponse("/faq", status_code=303)


@router.post("/faq/proposals/{proposal_id}/{decision}")
def faq_decide(proposal_id: int, decision: str, database: DatabaseDep, context: CsrfUser) -> Response:
    """Accept (an article proposal becomes a draft to finish, opened next; a phrasing joins its
    article's questions) or dismiss. A proposal of a brand, or for an article, the user may not see
    is not found."""
    access.require(context.user, "workflow")
    with database.session() as session:
        proposal = session.get(FaqProposal, proposal_id)
        brand_ids = access.brand_ids(session, context.user)
        if (
            proposal is None
            or proposal.organization_id != context.user.organization_id
            or (proposal.brand_id is not None and proposal.brand_id not in brand_ids)
        ):
            raise access.NotFound(f"proposal {proposal_id}")
        if proposal.kind == "phrasing":
            article = session.get(FaqArticle, proposal.article_id) if proposal.article_id else None
            if article is not None and article.brand_id is not None and article.brand_id not in brand_ids:
                raise access.NotFound(f"proposal {proposal_id}")
        article = do_decide_proposal(
            session, user=context.user, proposal=proposal, accept=decision == "accept"
        )
        target = f"/faq/{article.id}/edit" if article and proposal.kind == "article" else "/faq"
    return RedirectResponse(target, status_code=303)


@router.get("/trends")
def trends_page(request: Request, database: DatabaseDep, context: WebUser) -> HTMLResponse:
    access.require(context.user, "read")
    with database.reader() as session:
        alerts = list_alerts(session, brand_ids=access.brand_ids(session, context.user), limit=200)
    return render(request, "trends.html", context, alerts=alerts)


@router.get("/trends/{alert_id}")
def trend_page(
    alert_id: int, request: Request, database: DatabaseDep, context: WebUser, done: str = ""
) -> HTMLResponse:
    access.require(context.user, "read")
    settings = get_settings()
    with database.reader() as session:
        detail = alert_detail(
            session,
            alert_id=alert_id,
            brand_ids=access.brand_ids(session, context.user),
            window=timedelta(minutes=settings.trends_window_minutes),
            cooldown=timedelta(hours=settings.trends_cooldown_hours),
        )
    if detail is None:
        return not_found(request, context)
    peak = max([point["count"] for point in detail["timeline"]] or [1])
    return render(
        request,
        "trend.html",
        context,
        a=detail,
        peak=peak,
        done=done,
        can_reply=access.can(context.user, "reply"),
    )


@router.post("/trends/{alert_id}/action")
def trend_action(
    alert_id: int,
    database: DatabaseDep,
    context: CsrfUser,
    action: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
) -> Response:
    access.require(context.user, "reply")
    done = ""
    with database.session() as session:
        alert = session.get(TrendAlert, alert_id)
        if alert is None or alert.brand_id not in access.brand_ids(session, context.user):
            raise access.NotFound(f"alert {alert_id}")
        if action == "incident":
            do_open_incident(session, user=context.user, alert=alert)
            done = "incident"
        elif action == "reply":
            incident = do_open_incident(session, user=context.user, alert=alert)
            result = do_bulk_reply(session, user=context.user, incident=incident, text_=text)
            done = f"replied-{result['queued']}"
        elif action == "escalate":
            do_escalate_alert(session, user=context.user, alert=alert, note=text)
            done = "escalated"
    return RedirectResponse(f"/trends/{alert_id}?done={done}", status_code=303)
