"""The settled FAQ ranking: sentence vectors of the articles' texts, blended with the lexical engine.

Pure (numpy only, no database, no model): ``faq.service`` gives it the articles' stored vectors and
the query's vector, ``faq.evaluation`` the same for BANKING77. An article's embedding score is its
best text (kNN: the nearest of its title and alternative questions) plus its *centroid* (the mean
of its text vectors, normalised), each standardised over the articles for this query, plus
``WEIGHT_LEXICAL`` times the lexical engine's standardised score. When the question is English, the
English articles also get ``WEIGHT_ENGLISH`` times the same kNN + centroid of a second, English-only
encoder (``faq.english``, all-MiniLM-L6-v2; ``EnglishIndex``), standardised over those articles (the
others get 0 from it). The English vectors are first *whitened within articles*: the spread of the
knowledge base's own texts around their article's mean (the within-article covariance, shrunk towards
the identity) is turned into a linear map that makes directions along which an article's phrasings
vary count less and directions that tell articles apart count more; it is computed from the articles
whenever the index is built, so every edit is reflected. Measured in docs/faq.md ("Settled
suggestions"); the weights were chosen on held-out BANKING77 train questions that are not the
evaluation's.
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
# The English encoder's kNN + centroid, for English questions and articles (docs/faq.md).
WEIGHT_ENGLISH = 3.0
# The English vectors are whitened with (S + WHITENING_SHRINKAGE * mean eigenvalue of S * I)^(-1/2), S being
# the within-article covariance of the English articles' texts (docs/faq.md).
WHITENING_SHRINKAGE = 2.0
# A settled suggestion needs some lexical match (the caller's minimum score) or an embedding this
# close (cosine of the nearest article text): calibrated in docs/faq.md.
MIN_SIMILARITY = 0.84
# Turns the blended (standardised) scores into a share per article: the reported score.
TEMPERATURE = 1.5


def article_texts(title: str, questions: Iterable[str] | None) -> list[str]:
    """The texts of an article that get a vector: its title and each alternative question."""
    texts = [title.strip(), *(str(q).strip() for q in questions or [])]
    return [text for text in dict.fromkeys(texts) if text]


def is_english(language: str | None) -> bool:
    """Whether a language code is English (``en``, ``en-GB``, ``en_US``): where ``faq.english`` is used."""
    return bool(language) and str(language).lower().replace("_", "-").split("-")[0] == "en"


def digest(text: str) -> str:
    """Identifies an article text as embedded (with ``ARTICLE_PREFIX``) without storing the text."""
    return hashlib.sha256(f"{ARTICLE_PREFIX}\n{text}".encode()).hexdigest()


def _standardised(scores: np.ndarray) -> np.ndarray:
    spread = float(scores.std()) or 1.0
    return np.asarray((scores - scores.mean()) / spread, dtype=np.float32)


def _unit_rows(rows: np.ndarray) -> np.ndarray:
    return np.asarray(rows / np.maximum(np.linalg.norm(rows, axis=-1, keepdims=True), 1e-9), dtype=np.float32)


def within_whitening(per_article: Sequence[np.ndarray], shrinkage: float) -> np.ndarray | None:
    """The symmetric map (S + shrinkage * mean eigenvalue of S * I)^(-1/2), S being the covariance
    of every article's vectors around that article's mean (``per_article[j]``: article j's rows);
    None when no article has two different texts (nothing varies within an article) or ``shrinkage``
    is not positive (the covariance of few texts is singular)."""
    counts = np.array([len(rows) for rows in per_article])
    vectors = np.concatenate(per_article).astype(np.float32)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    means = np.add.reduceat(vectors, starts, axis=0) / counts[:, None]
    residuals = vectors - np.repeat(means, counts, axis=0)
    within = (residuals.T @ residuals).astype(np.float64) / len(vectors)
    scale = float(np.trace(within)) / len(within)
    if scale <= 1e-12 or shrinkage <= 0:
        return None
    values, basis = np.linalg.eigh(within + shrinkage * scale * np.eye(len(within)))
    return np.asarray((basis / np.sqrt(values)) @ basis.T, dtype=np.float32)


@dataclass(frozen=True, slots=True)
class VectorIndex:
    """The vectors of every article's texts, ``owner[i]`` being the article (position) of row i;
    with ``transform``, rows, centroids and queries are compared after that linear map."""

    vectors: np.ndarray  # (texts, dimensions), unit rows (transformed)
    owner: np.ndarray  # (texts,), sorted
    centroids: np.ndarray  # (articles, dimensions), unit rows (transformed)
    starts: np.ndarray  # first row of each article
    transform: np.ndarray | None = None  # (dimensions, dimensions), symmetric; None: the identity

    @classmethod
    def build(cls, per_article: Sequence[np.ndarray], whitening: float | None = None) -> VectorIndex:
        """``per_article[j]``: the (texts, dimensions) vectors of article j (at least one row each);
        ``whitening``: the shrinkage of ``within_whitening`` to compare with, None for plain cosines."""
        counts = [len(rows) for rows in per_article]
        vectors = np.concatenate(per_article).astype(np.float32)
        transform = within_whitening(per_article, whitening) if whitening is not None else None
        if transform is not None:
            vectors = _unit_rows(vectors @ transform)
        owner = np.repeat(np.arange(len(per_article)), counts)
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        centroids = _unit_rows(np.add.reduceat(vectors, starts, axis=0))  # the normalised means
        return cls(vectors=vectors, owner=owner, centroids=centroids, starts=starts, transform=transform)

    def __len__(self) -> int:
        return len(self.centroids)

    def parts(self, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(kNN, centroid) cosine similarities of every article to the unit vector ``query`` (both
        after ``transform``)."""
        if self.transform is not None:
            query = _unit_rows(query @ self.transform)
        similarity = self.vectors @ query
        knn = np.maximum.reduceat(similarity, self.starts)
        return np.asarray(knn, dtype=np.float32), np.asarray(self.centroids @ query, dtype=np.float32)

    def scores(self, query: np.ndarray, lexical: np.ndarray, english: np.ndarray | None = None) -> np.ndarray:
        """The blended score of every article (higher is better; comparable within one query);
        ``english``: ``EnglishIndex.scores`` of an English question."""
        knn, centroid = self.parts(query)
        return blend(knn, centroid, lexical, english)


@dataclass(frozen=True, slots=True)
class EnglishIndex:
    """The English encoder's vectors of the English articles (``members``: their positions among all
    ``count`` articles)."""

    vectors: VectorIndex
    members: np.ndarray
    count: int

    @classmethod
    def build(cls, per_article: Sequence[np.ndarray | None]) -> EnglishIndex | None:
        """``per_article[j]``: the English vectors of article j's texts, None when it is not English;
        None when fewer than two articles are English (nothing to standardise over)."""
        members = [number for number, rows in enumerate(per_article) if rows is not None and len(rows)]
        if len(members) < 2:
            return None
        rows = [per_article[number] for number in members]
        return cls(
            vectors=VectorIndex.build([row for row in rows if row is not None], WHITENING_SHRINKAGE),
            members=np.asarray(members),
            count=len(per_article),
        )

    def scores(self, query: np.ndarray) -> np.ndarray:
        """Every article's English kNN + centroid, each standardised over the English articles, for
        the English encoder's unit vector ``query``; 0 for the other articles."""
        result = np.zeros(self.count, dtype=np.float32)
        knn, centroid = self.vectors.parts(query)
        result[self.members] = WEIGHT_KNN * _standardised(knn) + WEIGHT_CENTROID * _standardised(centroid)
        return result


def blend(
    knn: np.ndarray, centroid: np.ndarray, lexical: np.ndarray, english: np.ndarray | None = None
) -> np.ndarray:
    blended = (
        WEIGHT_KNN * _standardised(knn)
        + WEIGHT_CENTROID * _standardised(centroid)
        + WEIGHT_LEXICAL * _standardised(lexical)
    )
    if english is not None:
        blended = blended + WEIGHT_ENGLISH * english
    return np.asarray(blended, dtype=np.float32)


def shares(blended: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """The allowed articles' blended scores as shares summing to 1 (a softmax), others 0."""
    result = np.zeros(len(blended), dtype=np.float32)
    if allowed.any():
        values = blended[allowed] * TEMPERATURE
        weights = np.exp(values - values.max())
        result[allowed] = weights / weights.sum()
    return result
