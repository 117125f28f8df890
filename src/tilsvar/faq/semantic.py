"""The settled FAQ ranking: sentence vectors of the articles' texts, blended with the lexical engine.

Pure (numpy only, no database, no model): ``faq.service`` gives it the articles' stored vectors and
the query's vector, ``faq.evaluation`` the same for BANKING77. An article's embedding score is its
best text (kNN: the nearest of its title and alternative questions) plus its *centroid* (the mean
of its text vectors, normalised), each standardised over the articles for this query, plus
``WEIGHT_LEXICAL`` times the lexical engine's standardised score. Measured in docs/faq.md
("Settled suggestions"); the weights were chosen on held-out BANKING77 train questions that are not
the evaluation's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

# Which e5 prefix the article texts are embedded with (queries always get "query: ").
ARTICLE_PREFIX = "passage"
WEIGHT_KNN = 1.0
WEIGHT_CENTROID = 1.0
WEIGHT_LEXICAL = 0.5
# A settled suggestion needs some lexical match (the caller's minimum score) or an embedding this
# close (cosine of the nearest article text): calibrated in docs/faq.md.
MIN_SIMILARITY = 0.84
# Turns the blended (standardised) scores into a share per article: the reported score.
TEMPERATURE = 1.5


def article_texts(title: str, questions: Iterable[str] | None) -> list[str]:
    """The texts of an article that get a vector: its title and each alternative question."""
    texts = [title.strip(), *(str(q).strip() for q in questions or [])]
    return [text for text in dict.fromkeys(texts) if text]


def digest(text: str) -> str:
    """Identifies an article text as embedded (with ``ARTICLE_PREFIX``) without storing the text."""
    return hashlib.sha256(f"{ARTICLE_PREFIX}\n{text}".encode()).hexdigest()


def _standardised(scores: np.ndarray) -> np.ndarray:
    spread = float(scores.std()) or 1.0
    return np.asarray((scores - scores.mean()) / spread, dtype=np.float32)


@dataclass(frozen=True, slots=True)
class VectorIndex:
    """The vectors of every article's texts, ``owner[i]`` being the article (position) of row i."""

    vectors: np.ndarray  # (texts, dimensions), unit rows
    owner: np.ndarray  # (texts,), sorted
    centroids: np.ndarray  # (articles, dimensions), unit rows
    starts: np.ndarray  # first row of each article

    @classmethod
    def build(cls, per_article: Sequence[np.ndarray]) -> VectorIndex:
        """``per_article[j]``: the (texts, dimensions) vectors of article j (at least one row each)."""
        vectors = np.concatenate(per_article).astype(np.float32)
        owner = np.repeat(np.arange(len(per_article)), [len(rows) for rows in per_article])
        centroids = np.stack([rows.mean(axis=0) for rows in per_article]).astype(np.float32)
        centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-9)
        starts = np.concatenate(([0], np.cumsum([len(rows) for rows in per_article])[:-1]))
        return cls(vectors=vectors, owner=owner, centroids=centroids, starts=starts)

    def __len__(self) -> int:
        return len(self.centroids)

    def parts(self, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(kNN, centroid) cosine similarities of every article to the unit vector ``query``."""
        similarity = self.vectors @ query
        knn = np.maximum.reduceat(similarity, self.starts)
        return np.asarray(knn, dtype=np.float32), np.asarray(self.centroids @ query, dtype=np.float32)

    def scores(self, query: np.ndarray, lexical: np.ndarray) -> np.ndarray:
        """The blended score of every article (higher is better; comparable within one query)."""
        knn, centroid = self.parts(query)
        return blend(knn, centroid, lexical)


def blend(knn: np.ndarray, centroid: np.ndarray, lexical: np.ndarray) -> np.ndarray:
    return (
        WEIGHT_KNN * _standardised(knn)
        + WEIGHT_CENTROID * _standardised(centroid)
        + WEIGHT_LEXICAL * _standardised(lexical)
    )


def shares(blended: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """The allowed articles' blended scores as shares summing to 1 (a softmax), others 0."""
    result = np.zeros(len(blended), dtype=np.float32)
    if allowed.any():
        values = blended[allowed] * TEMPERATURE
        weights = np.exp(values - values.max())
        result[allowed] = weights / weights.sum()
    return result
