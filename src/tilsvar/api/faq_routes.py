"""``/api/v1/faq``: knowledge-base articles, suggestions for the agent's reply box, proposals and
deflection figures; and ``/api/v1/public/faq``: the public, rate-limited suggestions the web chat
widget shows while the customer types (no token; only published articles of the named brand)."""

from __future__ import annotations

import threading
import time
from collections import deque
from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from tilsvar import access
from tilsvar.actions.faq import (
    do_decide_proposal,
    do_delete_article,
    do_look_for_proposals,
    do_record_faq_event,
    do_save_article,
)
from tilsvar.api.deps import ApiUser, DatabaseDep, ReadSession
from tilsvar.faq.service import deflection, plain_text, snippet, suggest
from tilsvar.models import Brand, Channel, Organization, User, utcnow
from tilsvar.models.knowledge import FaqArticle, FaqProposal
from tilsvar.settings import get_settings

router = APIRouter(prefix="/api/v1")

SuggestMode = Literal["keystroke", "settled"]
MODE_HELP = (
    "keystroke (default): lexical, for every pause in typing; settled: after the typist paused "
    "(~600 ms), also ranked with sentence vectors (slower, more accurate; lexical while the articles' "
    "vectors are not computed yet)."
)


class ArticleIn(BaseModel):
    key: str | None = Field(default=None, max_length=200, description="Your own id (import id).")
    brand_id: int | None = Field(default=None, description="None: every brand you may see.")
    language: str | None = Field(default=None, max_length=8)
    title: str = Field(min_length=1, max_length=300)
    body: str = Field(default="", max_length=20000)
    questions: list[str] = Field(default_factory=list, max_length=50)
    url: str = Field(default="", max_length=500)
    status: str = Field(default="published", pattern="^(published|draft)$")


def article_json(article: FaqArticle) -> dict[str, Any]:
    return {
        "id": article.id,
        "key": article.key,
        "brand_id": article.brand_id,
        "language": article.language,
        "title": article.title,
        "body": article.body,
        "questions": list(article.questions or []),
        "url": article.url,
        "status": article.status,
        "updated_at": article.updated_at.isoformat(),
    }


def visible_articles(session: Session, user: User) -> Select[FaqArticle]:
    brand_ids = access.brand_ids(session, user)
    return select(FaqArticle).where(
        FaqArticle.organization_id == user.organization_id,
        or_(FaqArticle.brand_id.is_(None), FaqArticle.brand_id.in_(brand_ids)),
    )


def access_article(session: Session, user: User, article_id: int) -> FaqArticle:
    article = session.scalar(visible_articles(session, user).where(FaqArticle.id == article_id))
    if article is None:
        raise access.NotFound(f"article {article_id}")
    return article


def _check_brand(session: Session, user: User, brand_id: int | None) -> None:
    if brand_id is not None and brand_id not in access.brand_ids(session, user):
        raise access.NotFound(f"brand {brand_id}")


@router.get("/faq/articles", summary="Knowledge-base articles")
def list_articles(
    user: ApiUser,
    session: ReadSession,
    brand_id: int | None = None,
    language: str | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    access.require(user, "read")
    query = visible_articles(session, user).order_by(FaqArticle.title, FaqArticle.id)
    if brand_id is not None:
        query = query.where(or_(FaqArticle.brand_id == brand_id, FaqArticle.brand_id.is_(None)))
    if language:
        query = query.where(FaqArticle.language == language)
    if q:
        query = query.where(FaqArticle.title.ilike(f"%{q}%"))
    return {"items": [article_json(article) for article in session.scalars(query.limit(5000))]}


@router.post("/faq/articles", status_code=201, summary="Create an article")
def create_article(body: ArticleIn, user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    access.require(user, "workflow")
    with database.session() as session:
        _check_brand(session, user, body.brand_id)
        article = do_save_article(session, user=user, fields=body.model_dump(), brand_id=body.brand_id)
        return article_json(article)


@router.get("/faq/articles/{article_id}", summary="One article")
def read_article(article_id: int, user: ApiUser, session: ReadSession) -> dict[str, Any]:
    access.require(user, "read")
    return article_json(access_article(session, user, article_id))


@router.put("/faq/articles/{article_id}", summary="Change an article")
def update_article(article_id: int, body: ArticleIn, user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    access.require(user, "workflow")
    with database.session() as session:
        article = access_article(session, user, article_id)
        _check_brand(session, user, body.brand_id)
        do_save_article(session, user=user, fields=body.model_dump(), brand_id=body.brand_id, article=article)
        return article_json(article)


@router.delete("/faq/articles/{article_id}", status_code=204, summary="Delete an article")
def delete_article(article_id: int, user: ApiUser, database: DatabaseDep) -> Response:
    access.require(user, "workflow")
    with database.session() as session:
        do_delete_article(session, user=user, article=access_article(session, user, article_id))
    return Response(status_code=204)


@router.get("/faq/suggest", summary="Articles that answer a text (the agent's reply box)")
def agent_suggest(
    user: ApiUser,
    session: ReadSession,
    q: Annotated[str, Query(max_length=1000)] = "",
    brand: Annotated[int | None, Query(description="Brand id.")] = None,
    language: Annotated[str | None, Query(max_length=8)] = None,
    platform: Annotated[
        str | None, Query(max_length=32, description="Adapt the answer to this platform.")
    ] = None,
    k: Annotated[int, Query(ge=1, le=10)] = 3,
    mode: Annotated[SuggestMode, Query(description=MODE_HELP)] = "keystroke",
) -> dict[str, Any]:
    """Each suggestion carries ``answer``: the article as a reply on ``platform`` (plain text within
    the platform's limit, cut at a word with the article's link when too long, e.g. X 280).
    ``mode`` in the answer says how they were ranked: ``lexical`` or ``settled`` (vectors)."""
    access.require(user, "read")
    visible = set(access.brand_ids(session, user))  # one read per keystroke besides the token's
    if brand is not None and brand not in visible:
        raise access.NotFound(f"brand {brand}")
    found = suggest(
        session,
        organization_id=user.organization_id,
        text=q,
        brand_id=brand,
        language=language,
        k=k,
        min_score=get_settings().faq_min_score,
        settled=mode == "settled",
    )
    return {
        "suggestions": [
            s.as_json() | {"answer": s.answer(platform or "")}
            for s in found
            if s.brand_id is None or s.brand_id in visible
        ],
        "mode": found.mode,
    }


class FaqEventIn(BaseModel):
    article_id: int
    kind: str = Field(default="inserted", pattern="^(opened|inserted|helpful|unhelpful)$")
    conversation_id: int | None = Field(
        default=None,
        description="The conversation the article was inserted into: its customer's question is "
        "proposed as a new alternative question of the article (docs/faq.md).",
    )


@router.post("/faq/events", status_code=202, summary="An agent inserted (or opened) an article")
def agent_event(body: FaqEventIn, user: ApiUser, database: DatabaseDep) -> dict[str, str]:
    """A conversation you may not see is a 404, like an article you may not see."""
    access.require(user, "read")
    with database.session() as session:
        article = access_article(session, user, body.article_id)
        if body.conversation_id is not None:
            access.access_conversation(session, user, body.conversation_id)
        do_record_faq_event(
            session, article=article, kind=body.kind, source="agent", conversation_id=body.conversation_id
        )
    return {"status": "recorded"}


def proposal_json(proposal: FaqProposal) -> dict[str, Any]:
    return {
        "id": proposal.id,
        "kind": proposal.kind,
        "article_id": proposal.article_id,
        "brand_id": proposal.brand_id,
        "language": proposal.language,
        "title": proposal.title,
        "questions": proposal.questions,
        "answer": proposal.answer,
        "size": proposal.size,
        "conversation_ids": proposal.conversation_ids,
        "status": proposal.status,
    }


@router.get("/faq/proposals", summary="Proposed articles and phrasings")
def list_proposals(
    user: ApiUser,
    session: ReadSession,
    status: str = "open",
    kind: Annotated[str | None, Query(pattern="^(article|phrasing)$")] = None,
) -> dict[str, Any]:
    """``kind`` article: a new article from resolved conversations; phrasing: a customer's question
    proposed as a new alternative question of the article ``article_id`` (an agent answered it with
    that article)."""
    access.require(user, "read")
    brand_ids = access.brand_ids(session, user)
    query = (
        select(FaqProposal)
        .where(
            FaqProposal.organization_id == user.organization_id,
            FaqProposal.status == status,
            or_(FaqProposal.brand_id.is_(None), FaqProposal.brand_id.in_(brand_ids)),
        )
        .order_by(FaqProposal.size.desc(), FaqProposal.id)
    )
    if kind:
        query = query.where(FaqProposal.kind == kind)
    return {"items": [proposal_json(p) for p in session.scalars(query)]}


@router.post("/faq/proposals/run", summary="Look for new proposals (articles and phrasings) now")
def run_proposals(user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    access.require(user, "workflow")
    with database.session() as session:
        made, phrasings = do_look_for_proposals(session, organization_id=user.organization_id, user=user)
        return {"created": len(made) + len(phrasings), "articles": len(made), "phrasings": len(phrasings)}


@router.post("/faq/proposals/{proposal_id}/{decision}", summary="Accept (draft article) or dismiss")
def decide_proposal(proposal_id: int, decision: str, user: ApiUser, database: DatabaseDep) -> dict[str, Any]:
    access.require(user, "workflow")
    if decision not in ("accept", "dismiss"):
        raise HTTPException(404, "accept or dismiss")
    with database.session() as session:
        proposal = session.get(FaqProposal, proposal_id)
        if proposal is None or proposal.organization_id != user.organization_id:
            raise access.NotFound(f"proposal {proposal_id}")
        _check_brand(session, user, proposal.brand_id)
        if proposal.kind == "phrasing" and proposal.article_id is not None:
            access_article(session, user, proposal.article_id)
        article = do_decide_proposal(session, user=user, proposal=proposal, accept=decision == "accept")
        return {
            "id": proposal.id,
            "kind": proposal.kind,
            "article_id": proposal.article_id,
            "status": proposal.status,
            "article": article_json(article) if article else None,
        }


@router.get("/faq/stats", summary="Deflection: widget article opens not followed by a message")
def faq_stats(
    user: ApiUser, session: ReadSession, days: Annotated[int, Query(ge=1, le=366)] = 30
) -> dict[str, Any]:
    access.require(user, "report")
    settings = get_settings()
    return deflection(
        session,
        organization_id=user.organization_id,
        since=utcnow() - timedelta(days=days),
        minutes=settings.faq_deflection_minutes,
    ) | {"deflection_minutes": settings.faq_deflection_minutes}


# -- public: the web chat widget ---------------------------------------------------------------------


class _RateLimiter:
    """At most ``limit`` requests per minute per client address (per process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hits: dict[str, deque[float]] = {}

    def allow(self, key: str, limit: int) -> bool:
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - 60:
                hits.popleft()
            if len(hits) >= limit:
                return False
            hits.append(now)
            if len(self._hits) > 50_000:
                self._hits = {k: v for k, v in self._hits.items() if v and v[-1] > now - 60}
            return True


limiter = _RateLimiter()


def _public_brand(session: Session, request: Request, org: str, brand: str) -> Brand:
    client = request.client.host if request.client else "unknown"
    if not limiter.allow(client, get_settings().faq_widget_requests_per_minute):
        raise HTTPException(429, "too many requests", headers={"Retry-After": "60"})
    found = session.scalar(
        select(Brand)
        .join(Organization, Organization.id == Brand.organization_id)
        .where(Organization.slug == org, Brand.slug == brand)
    )
    # Only brands with a web chat channel offer public suggestions.
    if found is None or not session.scalar(
        select(Channel.id).where(Channel.brand_id == found.id, Channel.platform == "webchat").limit(1)
    ):
        raise HTTPException(404, "no such brand")
    return found


@router.get("/public/faq/suggest", summary="Public: FAQ suggestions for the web chat widget", tags=["public"])
def public_suggest(
    request: Request,
    session: ReadSession,
    org: Annotated[str, Query(max_length=64)],
    brand: Annotated[str, Query(max_length=64)],
    q: Annotated[str, Query(max_length=500)] = "",
    language: Annotated[str | None, Query(max_length=8)] = None,
    k: Annotated[int, Query(ge=1, le=5)] = 3,
    mode: Annotated[SuggestMode, Query(description=MODE_HELP)] = "keystroke",
) -> dict[str, Any]:
    """No token. ``org`` and ``brand`` are slugs; the brand must have a web chat channel. Returns
    ``{"suggestions": [{"article_id", "title", "snippet", "url", "score"}]}``; rate-limited per client
    address (429 with Retry-After)."""
    found = _public_brand(session, request, org, brand)
    suggestions = suggest(
        session,
        organization_id=found.organization_id,
        text=q,
        brand_id=found.id,
        language=language,
        k=k,
        min_score=get_settings().faq_min_score,
        settled=mode == "settled",
    )
    return {
        "suggestions": [
            {
                "article_id": s.article_id,
                "title": s.title,
                "snippet": s.short or snippet(s.body),
                "url": s.url,
                "score": s.score,
            }
            for s in suggestions
        ],
        "mode": suggestions.mode,
    }


def _public_article(session: Session, found: Brand, article_id: int) -> FaqArticle:
    article = session.get(FaqArticle, article_id)
    if (
        article is None
        or article.organization_id != found.organization_id
        or article.status != "published"
        or article.brand_id not in (None, found.id)
    ):
        raise HTTPException(404, "no such article")
    return article


@router.get(
    "/public/faq/articles/{article_id}", summary="Public: one article for the widget", tags=["public"]
)
def public_article(
    article_id: int,
    request: Request,
    session: ReadSession,
    org: Annotated[str, Query(max_length=64)],
    brand: Annotated[str, Query(max_length=64)],
) -> dict[str, Any]:
    """The article as plain text: ``{"article_id", "title", "body", "url"}``."""
    found = _public_brand(session, request, org, brand)
    article = _public_article(session, found, article_id)
    return {
        "article_id": article.id,
        "title": article.title,
        "body": plain_text(article.body),
        "url": article.url,
    }


class OpenedIn(BaseModel):
    org: str = Field(max_length=64)
    brand: str = Field(max_length=64)
    article_id: int
    visitor: str = Field(default="", max_length=200, description="The id the widget writes messages with.")


@router.post(
    "/public/faq/opened", status_code=202, summary="Public: the visitor opened an article", tags=["public"]
)
def public_opened(body: OpenedIn, request: Request, database: DatabaseDep) -> dict[str, str]:
    """Counts toward deflection: an open not followed by a web chat message from the same ``visitor``
    within TILSVAR_FAQ_DEFLECTION_MINUTES is a deflected contact."""
    with database.session() as session:
        found = _public_brand(session, request, body.org, body.brand)
        article = _public_article(session, found, body.article_id)
        do_record_faq_event(
            session, article=article, kind="opened", source="widget", visitor=body.visitor, brand_id=found.id
        )
    return {"status": "recorded"}
