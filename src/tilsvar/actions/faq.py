"""Writes to the knowledge base: import and edit articles, record what customers and agents did with
suggestions (deflection), mine resolved conversations for articles worth writing, and learn new
alternative questions of an article from the customers' questions agents answered with it
(``do_propose_phrasings``; docs/faq.md, "Phrasings learned from use").

Every change bumps the article's ``updated_at`` (or the article count), which is the version the
in-memory suggestion indexes (``faq.service``) compare, and tells this process's index to look at
that version on its next request (``articles_changed``, after commit); other processes look at
most a second later. Creating, changing or importing articles also asks the ``faq.embed`` job for
their sentence vectors (``actions.faq_vectors``; the settled suggestion mode).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tilsvar.actions.common import ActionError, audit
from tilsvar.actions.faq_vectors import request_embeddings
from tilsvar.faq.engine import Article, FaqIndex, normalise_question
from tilsvar.faq.service import articles_changed
from tilsvar.models import Brand, Conversation, Message, Organization, User, utcnow
from tilsvar.models.knowledge import FaqArticle, FaqEvent, FaqProposal

MAX_QUESTIONS = 50
EVENT_KINDS = ("opened", "inserted", "helpful", "unhelpful")
# A customer message is proposed as a phrasing when it has this many words and at most this many
# characters (a long message is a story, not a question).
PHRASING_MIN_WORDS = 3
PHRASING_MAX_CHARS = 500


@dataclass(slots=True)
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[str] | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": self.errors or [],
        }


def _clean_questions(values: Iterable[Any]) -> list[str]:
    seen: list[str] = []
    for value in values:
        text = str(value).strip()[:500]
        if text and text not in seen:
            seen.append(text)
    return seen[:MAX_QUESTIONS]


def check_article_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The article columns from user input, or an ``ActionError`` saying what is wrong."""
    title = str(fields.get("title") or "").strip()
    if not title:
        raise ActionError("an article needs a title")
    questions = fields.get("questions") or []
    if isinstance(questions, str):
        questions = questions.splitlines()
    if not isinstance(questions, list | tuple):
        raise ActionError("questions must be a list of strings")
    language = str(fields.get("language") or "").strip().lower()[:8] or None
    status = str(fields.get("status") or "published")
    if status not in ("published", "draft"):
        raise ActionError("status must be published or draft")
    return {
        "title": title[:300],
        "body": str(fields.get("body") or "").strip()[:20000],
        "questions": _clean_questions(questions),
        "language": language,
        "url": str(fields.get("url") or "").strip()[:500],
        "status": status,
    }


def do_import_articles(
    session: Session,
    *,
    organization: Organization,
    records: Iterable[tuple[int, dict[str, Any]]],
    actor: str = "cli",
) -> ImportResult:
    """Create or update articles from ``(line number, record)`` pairs (``tilsvar faq import``). The
    record's ``id`` is the article's key; ``brand`` a brand slug (absent: every brand)."""
    brands = {
        brand.slug: brand.id
        for brand in session.scalars(select(Brand).where(Brand.organization_id == organization.id))
    }
    existing = {
        article.key: article
        for article in session.scalars(
            select(FaqArticle).where(FaqArticle.organization_id == organization.id)
        )
    }
    result = ImportResult(errors=[])
    now = utcnow()
    for number, record in records:
        try:
            key = str(record["id"]).strip()[:200]
            if not key:
                raise ActionError("id is empty")
            values = check_article_fields(record)
            brand_slug = record.get("brand")
            brand_id = None
            if brand_slug:
                if brand_slug not in brands:
                    raise ActionError(f"unknown brand {brand_slug!r}")
                brand_id = brands[brand_slug]
            values["brand_id"] = brand_id
        except (ActionError, KeyError, TypeError) as error:
            reason = error.reason if isinstance(error, ActionError) else f"missing or bad field {error}"
            assert result.errors is not None
            result.errors.append(f"line {number}: {reason}")
            continue
        article = existing.get(key)
        if article is None:
            article = FaqArticle(
                organization_id=organization.id, key=key, created_at=now, updated_at=now, **values
            )
            session.add(article)
            existing[key] = article
            result.created += 1
        elif any(getattr(article, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(article, name, value)
            article.updated_at = now
            result.updated += 1
        else:
            result.unchanged += 1
    session.flush()
    articles_changed(session, organization.id)
    if result.created or result.updated:
        request_embeddings(session, organization_id=organization.id)
    audit(
        session,
        action="faq.imported",
        actor=actor,
        organization_id=organization.id,
        target_type="organization",
        target_id=organization.id,
        details=result.as_json() | {"errors": len(result.errors or [])},
    )
    return result


def do_save_article(
    session: Session,
    *,
    user: User,
    fields: Mapping[str, Any],
    brand_id: int | None,
    article: FaqArticle | None = None,
) -> FaqArticle:
    """Create an article (``article`` None) or change one; the caller checked access to the brand."""
    values = check_article_fields(fields)
    now = utcnow()
    if article is None:
        key = str(fields.get("key") or "").strip()[:200] or f"article-{now.strftime('%Y%m%d%H%M%S%f')}"
        if session.scalar(
            select(FaqArticle.id).where(
                FaqArticle.organization_id == user.organization_id, FaqArticle.key == key
            )
        ):
            raise ActionError(f"an article with the id {key!r} exists", status=409)
        article = FaqArticle(
            organization_id=user.organization_id, key=key, brand_id=brand_id, created_at=now, **values
        )
        session.add(article)
    else:
        for name, value in values.items():
            setattr(article, name, value)
        article.brand_id = brand_id
    article.updated_at = now
    session.flush()
    articles_changed(session, user.organization_id)
    request_embeddings(session, organization_id=user.organization_id)
    audit(session, action="faq.saved", actor_user=user, target_type="faq_article", target_id=article.id)
    return article


def do_delete_article(session: Session, *, user: User, article: FaqArticle) -> None:
    # Its open phrasing proposals have nothing left to add to.
    session.execute(
        delete(FaqProposal).where(
            FaqProposal.article_id == article.id,
            FaqProposal.kind == "phrasing",
            FaqProposal.status == "open",
        )
    )
    audit(
        session,
        action="faq.deleted",
        actor_user=user,
        target_type="faq_article",
        target_id=article.id,
        details={"key": article.key},
    )
    session.delete(article)
    session.flush()
    articles_changed(session, article.organization_id)


def do_record_faq_event(
    session: Session,
    *,
    article: FaqArticle,
    kind: str,
    source: str,
    visitor: str = "",
    brand_id: int | None = None,
    conversation_id: int | None = None,
) -> None:
    """A customer opened an article in the widget, or an agent inserted one into a reply;
    ``conversation_id`` is the conversation the agent replies in (the caller checked they may see
    it): its customer's question becomes a proposed phrasing of the article."""
    if kind not in EVENT_KINDS:
        raise ActionError(f"kind must be one of {', '.join(EVENT_KINDS)}")
    session.add(
        FaqEvent(
            organization_id=article.organization_id,
            brand_id=brand_id if brand_id is not None else article.brand_id,
            article_id=article.id,
            kind=kind,
            source=source[:16],
            visitor=visitor[:200],
            conversation_id=conversation_id,
            occurred_at=utcnow(),
        )
    )


# -- proposals --------------------------------------------------------------------------------------


def _fingerprint(conversation_ids: Iterable[int]) -> str:
    return hashlib.sha256(",".join(map(str, sorted(conversation_ids))).encode()).hexdigest()[:64]


def do_propose_articles(
    session: Session,
    *,
    organization_id: int,
    min_size: int = 3,
    similarity: float = 0.25,
    limit: int = 2000,
) -> list[FaqProposal]:
    """Group the first customer questions of recently resolved conversations by similarity (the FAQ
    engine itself, each question a one-question article) and propose an article for every group of at
    least ``min_size`` that no existing article already answers; the brand's reply in the first
    conversation is offered as the answer. Groups proposed before are not proposed again."""
    rows = session.execute(
        select(Conversation.id, Conversation.brand_id, Conversation.language)
        .where(
            Conversation.organization_id == organization_id,
            Conversation.status.in_(("resolved", "closed")),
        )
        .order_by(Conversation.resolved_at.desc().nulls_last(), Conversation.id.desc())
        .limit(limit)
    ).all()
    if not rows:
        return []
    ids = [row[0] for row in rows]
    meta = {row[0]: (row[1], row[2]) for row in rows}
    first_in: dict[int, str] = {}
    first_out: dict[int, str] = {}
    for conversation_id, direction, text, redacted in session.execute(
        select(Message.conversation_id, Message.direction, Message.text, Message.redacted_text)
        .where(Message.conversation_id.in_(ids))
        .order_by(Message.conversation_id, Message.created_at, Message.id)
    ):
        target = first_in if direction == "in" else first_out
        target.setdefault(conversation_id, redacted or text)
    questions = [(cid, text) for cid, text in first_in.items() if len(text.split()) >= 3 and cid in first_out]
    if len(questions) < min_size:
        return []
    existing = [
        Article(id=str(a.id), title=a.title, body=a.body, questions=tuple(a.questions or []))
        for a in session.scalars(select(FaqArticle).where(FaqArticle.organization_id == organization_id))
    ]
    answered = FaqIndex(existing) if existing else None
    index = FaqIndex([Article(id=str(cid), title=text) for cid, text in questions])
    text_of = dict(questions)
    used: set[int] = set()
    proposals: list[FaqProposal] = []
    known = set(
        session.scalars(select(FaqProposal.fingerprint).where(FaqProposal.organization_id == organization_id))
    )
    for cid, text in questions:
        if cid in used:
            continue
        group = [
            int(s.article_id)
            for s in index.suggest(text, k=50, min_score=similarity)
            if int(s.article_id) not in used
        ]
        if cid not in group:
            group.insert(0, cid)
        if len(group) < min_size:
            continue
        used.update(group)
        if answered is not None and answered.suggest(text, k=1, min_score=0.5):
            continue  # an article already answers this
        fingerprint = _fingerprint(group)
        if fingerprint in known:
            continue
        brand_ids = Counter(meta[c][0] for c in group)
        languages = Counter(meta[c][1] for c in group if meta[c][1])
        proposal = FaqProposal(
            organization_id=organization_id,
            brand_id=brand_ids.most_common(1)[0][0] if len(brand_ids) == 1 else None,
            language=languages.most_common(1)[0][0] if languages else None,
            title=text[:300],
            questions=[text_of[c][:500] for c in group[:20]],
            answer=first_out.get(group[0], "")[:20000],
            conversation_ids=group,
            size=len(group),
            fingerprint=fingerprint,
        )
        session.add(proposal)
        proposals.append(proposal)
    session.flush()
    return proposals


def phrasing_fingerprint(article_id: int, text: str) -> str:
    return hashlib.sha256(f"phrasing:{article_id}:{normalise_question(text)}".encode()).hexdigest()


def customer_question(text: str, redacted: str | None) -> str | None:
    """The text a customer message offers as a phrasing: the redacted text when it held personal
    data (``messages.text`` is already the redacted one then; the original is sealed and never read
    here), stripped; None when it has fewer than three words or more than 500 characters."""
    question = (redacted or text or "").strip()
    if len(question.split()) < PHRASING_MIN_WORDS or len(question) > PHRASING_MAX_CHARS:
        return None
    return question


def do_propose_phrasings(
    session: Session,
    *,
    organization_id: int,
    since_days: int = 30,
    limit: int = 2000,
    user: User | None = None,
    actor: str = "",
) -> list[FaqProposal]:
    """Propose the customers' own questions as alternative questions of the articles agents answered
    them with: for each of the last ``limit`` "inserted" events of the last ``since_days`` days that
    name a conversation, the conversation's last customer message before the event (its redacted
    text; 3+ words, ≤ 500 characters) becomes a phrasing proposal of the article, unless the article
    already has that question or title (case and space aside) or a proposal of the same text for the
    same article was made before (open, accepted or dismissed)."""
    events = session.execute(
        select(FaqEvent.article_id, FaqEvent.conversation_id, FaqEvent.occurred_at)
        .where(
            FaqEvent.organization_id == organization_id,
            FaqEvent.kind == "inserted",
            FaqEvent.conversation_id.is_not(None),
            FaqEvent.occurred_at >= utcnow() - timedelta(days=since_days),
        )
        .order_by(FaqEvent.occurred_at.desc(), FaqEvent.id.desc())
        .limit(limit)
    ).all()
    if not events:
        return []
    articles = {
        article.id: article
        for article in session.scalars(
            select(FaqArticle).where(
                FaqArticle.organization_id == organization_id,
                FaqArticle.id.in_({event.article_id for event in events}),
            )
        )
    }
    known = set(
        session.scalars(select(FaqProposal.fingerprint).where(FaqProposal.organization_id == organization_id))
    )
    has: dict[int, set[str]] = {
        article.id: {normalise_question(q) for q in [article.title, *(article.questions or [])]}
        for article in articles.values()
    }
    inbound = _inbound_messages(session, {event.conversation_id for event in events})
    seen: set[tuple[int, int]] = set()
    proposals: list[FaqProposal] = []
    for article_id, conversation_id, occurred_at in events:
        article = articles.get(article_id)
        if article is None or conversation_id is None or (article_id, conversation_id) in seen:
            continue
        seen.add((article_id, conversation_id))  # the latest insert into a conversation counts
        row = next((m for m in reversed(inbound.get(conversation_id, [])) if m[2] <= occurred_at), None)
        question = customer_question(row[0], row[1]) if row is not None else None
        if question is None or normalise_question(question) in has[article_id]:
            continue
        fingerprint = phrasing_fingerprint(article_id, question)
        if fingerprint in known:
            continue
        known.add(fingerprint)
        proposal = FaqProposal(
            organization_id=organization_id,
            kind="phrasing",
            brand_id=article.brand_id,
            language=article.language,
            title=question[:300],
            questions=[question],
            answer="",
            conversation_ids=[conversation_id],
            size=1,
            fingerprint=fingerprint,
            article_id=article_id,
        )
        session.add(proposal)
        proposals.append(proposal)
    session.flush()
    if proposals:
        audit(
            session,
            action="faq.phrasings_proposed",
            actor_user=user,
            actor=actor,
            organization_id=organization_id,
            target_type="organization",
            target_id=organization_id,
            details={"created": len(proposals)},
        )
    return proposals


def _inbound_messages(
    session: Session, conversation_ids: set[int | None]
) -> dict[int, list[tuple[str, str | None, datetime]]]:
    """The customer messages (not removed) of each conversation, oldest first by creation: read in a
    few queries for all the events' conversations, not one query per event."""
    wanted = sorted(cid for cid in conversation_ids if cid is not None)
    found: dict[int, list[tuple[str, str | None, datetime]]] = {}
    for start in range(0, len(wanted), 500):
        rows = session.execute(
            select(Message.conversation_id, Message.text, Message.redacted_text, Message.received_at)
            .where(
                Message.conversation_id.in_(wanted[start : start + 500]),
                Message.direction == "in",
                Message.platform_state != "removed",
            )
            .order_by(Message.conversation_id, Message.created_at, Message.id)
        ).all()
        for conversation_id, text, redacted, received_at in rows:
            found.setdefault(conversation_id, []).append((text, redacted, received_at))
    return found


def do_look_for_proposals(
    session: Session,
    *,
    organization_id: int,
    min_size: int = 3,
    user: User | None = None,
    actor: str = "",
) -> tuple[list[FaqProposal], list[FaqProposal]]:
    """Both kinds of proposals, as the API, ``tilsvar faq propose`` and the daily worker run look for
    them: new articles (``do_propose_articles``) and phrasings (``do_propose_phrasings``)."""
    articles = do_propose_articles(session, organization_id=organization_id, min_size=min_size)
    phrasings = do_propose_phrasings(session, organization_id=organization_id, user=user, actor=actor)
    return articles, phrasings


def do_decide_proposal(
    session: Session, *, user: User, proposal: FaqProposal, accept: bool
) -> FaqArticle | None:
    """Accept a proposal or dismiss it. Accepting an article proposal makes it a draft article an
    editor finishes; accepting a phrasing adds its question to the article's alternative questions
    (``do_save_article``: the article's vectors are computed again). Returns the article."""
    if proposal.status != "open":
        raise ActionError("this proposal was already decided", status=409)
    article = None
    if accept and proposal.kind == "phrasing":
        article = session.get(FaqArticle, proposal.article_id) if proposal.article_id else None
        if article is None or article.organization_id != proposal.organization_id:
            raise ActionError("the article of this phrasing no longer exists", status=409)
        questions = list(article.questions or [])
        present = {normalise_question(q) for q in [article.title, *questions]}
        new = [q for q in proposal.questions or [] if normalise_question(q) not in present]
        if len(questions) + len(new) > MAX_QUESTIONS:
            raise ActionError(f"the article already has {MAX_QUESTIONS} questions", status=409)
        if new:
            do_save_article(
                session,
                user=user,
                brand_id=article.brand_id,
                article=article,
                fields={
                    "title": article.title,
                    "body": article.body,
                    "questions": questions + new,
                    "language": article.language,
                    "url": article.url,
                    "status": article.status,
                },
            )
    elif accept:
        article = do_save_article(
            session,
            user=user,
            brand_id=proposal.brand_id,
            fields={
                "key": f"proposal-{proposal.id}",
                "title": proposal.title,
                "body": proposal.answer,
                "questions": proposal.questions,
                "language": proposal.language,
                "status": "draft",
            },
        )
        proposal.article_id = article.id
    proposal.status = "accepted" if accept else "dismissed"
    proposal.decided_at = utcnow()
    audit(
        session,
        action="faq.proposal_accepted" if accept else "faq.proposal_dismissed",
        actor_user=user,
        target_type="faq_proposal",
        target_id=proposal.id,
        details={"kind": proposal.kind, "article_id": proposal.article_id},
    )
    return article
