"""``tilsvar eval faq``: how often the FAQ engine puts the right article first (and in the top 3),
measured on BANKING77 (CC BY 4.0) used as a knowledge base.

The 77 intents become 77 articles (title = the intent's name in words); ``questions`` train questions
per intent, drawn at random with a fixed seed, become each article's alternative questions; every
*other* train question of the intent is a customer query whose right answer is that article. The
test split is never read. The figures are reported for several numbers of alternative questions,
because that is what an editor controls.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from tilsvar.faq.engine import Article, FaqIndex

QUESTION_COUNTS = (5, 10, 20, 40)
SEED = 20261122


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


def evaluate(rows: list[tuple[str, str]], questions: int, *, limit: int | None = None) -> dict[str, Any]:
    articles, queries = knowledge_base(rows, questions)
    if limit is not None and len(queries) > limit:
        queries = random.Random(SEED).sample(queries, limit)
    index = FaqIndex(articles)
    top1 = top3 = 0
    started = time.perf_counter()
    for text, intent in queries:
        found = [suggestion.article_id for suggestion in index.suggest(text, k=3)]
        top1 += found[:1] == [intent]
        top3 += intent in found
    elapsed = time.perf_counter() - started
    return {
        "questions_per_article": questions,
        "articles": len(articles),
        "queries": len(queries),
        "top1": round(top1 / len(queries), 4),
        "top3": round(top3 / len(queries), 4),
        "ms_per_query": round(1000 * elapsed / len(queries), 3),
    }


def evaluate_faq(folder: Path, limit: int | None = 3000) -> dict[str, Any]:
    """The figures for each number of alternative questions (at most ``limit`` queries each)."""
    rows = banking77_rows(folder)
    return {
        "dataset": "BANKING77 train (CC BY 4.0), 77 intents as articles; test split not used",
        "seed": SEED,
        "results": [evaluate(rows, count, limit=limit) for count in QUESTION_COUNTS],
    }
