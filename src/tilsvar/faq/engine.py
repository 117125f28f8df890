"""The FAQ suggestion engine: which knowledge-base articles answer a piece of customer text.

It is built for per-keystroke use (the web chat widget and the agent's reply box ask on every pause
in typing) and for many languages without a model per language, so it is lexical and in memory:

* every article becomes several *documents* — its title, each alternative question, and the start of
  its body — and every document a TF-IDF vector over folded (lower-case, diacritics removed) char
  n-grams of 3–5 letters inside words plus whole words and word pairs. Char n-grams match inflected
  and half-typed words (``forsinkelse`` ~ ``forsinket``, ``refun`` ~ ``refund``) in every language;
* a query is folded and vectorised the same way, with only the n-grams the index knows (a dict
  look-up per n-gram, no fitted model at query time); one sparse product scores every document;
* an article's score is its best question or title match, plus a share of its best body match and of
  its *centroid* (the mean of its question vectors), so an article with many phrasings of one need
  beats one with a single lucky near-duplicate;
* a language, when given, keeps articles in that language (or with none); if none exist, all
  articles compete. A brand keeps that brand's articles and the organisation-wide ones.

The index is immutable: build a new one when articles change (``faq.service`` caches one per
organisation and rebuilds it when the articles' version changes). Building 2,000 articles takes
about a second; a query takes well under a millisecond (bench/faq_speed.py).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from tilsvar.faq.text import tokens

CHAR_SIZES = (3, 4)
BODY_CHARS = 600  # the start of the body says what the article is about; the rest is detail
WEIGHT_BODY = 0.35
WEIGHT_CENTROID = 3.0
WEIGHT_WORD = 1.6  # a whole word says more than one of its n-grams
WEIGHT_PAIR = 1.2
MAX_DF_SHARE = 0.05
MIN_COMMON_DOCS = 1000


@dataclass(frozen=True, slots=True)
class Article:
    """One article as the engine sees it. ``brand`` None means every brand; ``language`` None means
    any language."""

    id: str
    title: str
    body: str = ""
    questions: tuple[str, ...] = ()
    language: str | None = None
    brand: str | None = None


@dataclass(frozen=True, slots=True)
class Suggestion:
    article_id: str
    score: float


def normalise_question(text: str) -> str:
    """A question as phrasings are compared (an article has it already, a proposal repeats one): case
    and runs of white space do not count."""
    return " ".join(text.casefold().split())


def features(text: str) -> Counter[str]:
    """The features of a text: char n-grams inside (padded) words, ``w:`` words, ``p:`` word pairs."""
    words = tokens(text)
    grams = ["w:" + word for word in words]
    grams += [f"p:{first} {second}" for first, second in itertools.pairwise(words)]
    for word in words:
        padded = f" {word} "
        for size in CHAR_SIZES:
            grams += [padded[start : start + size] for start in range(len(padded) - size + 1)]
    return Counter(grams)


def _weight(name: str) -> float:
    if name.startswith("w:"):
        return WEIGHT_WORD
    if name.startswith("p:"):
        return WEIGHT_PAIR
    return 1.0


class Vocabulary:
    """Feature name -> column, growing only; shared by the indexes one cache builds, so an article's
    vectorised documents stay valid from one index to the next."""

    def __init__(self) -> None:
        self.columns: dict[str, int] = {}
        self.weights: list[float] = []

    def encode(self, counted: Counter[str]) -> tuple[np.ndarray, np.ndarray]:
        columns = self.columns
        for name in counted:
            if name not in columns:
                columns[name] = len(columns)
                self.weights.append(_weight(name))
        return (
            np.fromiter((columns[name] for name in counted), dtype=np.int64, count=len(counted)),
            np.fromiter(counted.values(), dtype=np.float32, count=len(counted)),
        )


Encoded = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True, slots=True)
class _Prepared:
    """One article's documents as (columns, counts): title and questions, and the body."""

    questions: tuple[Encoded, ...]
    body: Encoded | None


class FeatureCache:
    """Articles already vectorised (by content), so rebuilding an index after one article changed
    costs array work, not text work. Thread-safe enough for one writer: entries are only added."""

    def __init__(self) -> None:
        self.vocabulary = Vocabulary()
        self._prepared: dict[tuple[object, ...], _Prepared] = {}

    def prepare(self, article: Article) -> _Prepared:
        key = (article.title, article.body[:BODY_CHARS], article.questions)
        found = self._prepared.get(key)
        if found is None:
            texts = [article.title, *article.questions]
            questions = tuple(self.vocabulary.encode(c) for c in map(features, texts) if c)
            counted_body = features(article.body[:BODY_CHARS]) if article.body else Counter[str]()
            body = self.vocabulary.encode(counted_body) if counted_body else None
            found = _Prepared(questions=questions, body=body)
            self._prepared[key] = found
        return found

    def forget_unused(self, articles: Sequence[Article]) -> None:
        keep = {(a.title, a.body[:BODY_CHARS], a.questions) for a in articles}
        for key in [key for key in self._prepared if key not in keep]:
            del self._prepared[key]


class FaqIndex:
    """An immutable index of articles; ``suggest`` ranks them for a text."""

    def __init__(self, articles: Iterable[Article], *, cache: FeatureCache | None = None) -> None:
        self.articles: list[Article] = list(articles)
        cache = cache or FeatureCache()
        self.vocabulary = cache.vocabulary.columns
        prepared = [cache.prepare(article) for article in self.articles]
        question_docs = [(number, doc) for number, item in enumerate(prepared) for doc in item.questions]
        body_docs = [(number, item.body) for number, item in enumerate(prepared) if item.body is not None]
        width = len(self.vocabulary)
        every = [doc for _, doc in question_docs] + [doc for _, doc in body_docs]
        frequency = (
            np.bincount(np.concatenate([columns for columns, _ in every]), minlength=width)
            if every
            else np.zeros(width, dtype=np.int64)
        )
        total = len(every)
        self.idf = (np.log((1.0 + total) / (1.0 + frequency)) + 1.0).astype(np.float32)
        self._column_weight = self.idf * np.array(cache.vocabulary.weights[:width], dtype=np.float32)
        # Features in more than MAX_DF_SHARE of the documents decide little and cost most (their
        # posting lists are the longest): queries leave them out.
        self._common = frequency > max(MIN_COMMON_DOCS, MAX_DF_SHARE * total)
        self._questions = self._matrix([doc for _, doc in question_docs], width)
        self._bodies = self._matrix([doc for _, doc in body_docs], width)
        self._question_owner = np.array([number for number, _ in question_docs], dtype=np.int64)
        self._body_owner = np.array([number for number, _ in body_docs], dtype=np.int64)
        count = len(self.articles)
        # Centroid: the normalised mean of an article's question (and title) vectors.
        if question_docs:
            owner_matrix = sparse.csr_matrix(
                (
                    np.ones(len(question_docs), dtype=np.float32),
                    (self._question_owner, np.arange(len(question_docs))),
                ),
                shape=(count, len(question_docs)),
            )
            centroids = (owner_matrix @ self._questions.tocsr()).tocsr()
            norms = np.sqrt(np.asarray(centroids.multiply(centroids).sum(axis=1)).ravel())
            norms[norms == 0] = 1.0
            self._centroids = sparse.csc_matrix(sparse.diags(1.0 / norms) @ centroids, dtype=np.float32)
        else:
            self._centroids = sparse.csc_matrix((count, width), dtype=np.float32)
        self._languages = np.array([article.language or "" for article in self.articles], dtype=object)
        self._brands = np.array([article.brand or "" for article in self.articles], dtype=object)

    def __len__(self) -> int:
        return len(self.articles)

    def _matrix(self, docs: Sequence[Encoded], width: int) -> sparse.csc_matrix:
        """Rows of L2-normalised TF-IDF (sublinear tf), column-major so a query reads few columns."""
        if not docs:
            return sparse.csc_matrix((0, width), dtype=np.float32)
        columns = np.concatenate([columns for columns, _ in docs])
        counts = np.concatenate([counts for _, counts in docs])
        lengths = np.array([len(columns) for columns, _ in docs], dtype=np.int64)
        pointers = np.concatenate(([0], np.cumsum(lengths)))
        data = (1.0 + np.log(counts)) * self._column_weight[columns]
        norms = np.sqrt(np.add.reduceat(data * data, pointers[:-1]))
        data /= np.repeat(np.where(norms > 0, norms, 1.0), lengths)
        return sparse.csr_matrix(
            (data.astype(np.float32), columns, pointers), shape=(len(docs), width)
        ).tocsc()

    def vector(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The query's known columns and their normalised weights."""
        vocabulary, common, width = self.vocabulary, self._common, len(self._common)
        known = [
            (column, count)
            for name, count in features(text).items()
            if (column := vocabulary.get(name, width)) < width and not common[column]
        ]
        if not known:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        columns = np.array([column for column, _ in known], dtype=np.int64)
        counts = np.array([count for _, count in known], dtype=np.float32)
        weights = (1.0 + np.log(counts)) * self._column_weight[columns]
        weights /= float(np.linalg.norm(weights)) or 1.0
        return columns, weights

    def scores(self, text: str) -> np.ndarray:
        """Every article's score for ``text`` (0 when nothing matches)."""
        count = len(self.articles)
        columns, weights = self.vector(text)
        if not len(columns) or not count:
            return np.zeros(count, dtype=np.float32)
        best = _max_by_owner(_product(self._questions, columns, weights), self._question_owner, count)
        body = _max_by_owner(_product(self._bodies, columns, weights), self._body_owner, count)
        centroid = _product(self._centroids, columns, weights)
        total = best + WEIGHT_BODY * body + WEIGHT_CENTROID * centroid
        return np.asarray(total / (1.0 + WEIGHT_BODY + WEIGHT_CENTROID), dtype=np.float32)

    def suggest(
        self,
        text: str,
        *,
        k: int = 3,
        language: str | None = None,
        brand: str | None = None,
        min_score: float = 0.0,
    ) -> list[Suggestion]:
        """The ``k`` best articles for ``text``, best first, each with a score in [0, 1]."""
        scores = self.scores(text)
        if not len(scores):
            return []
        return self.top(scores, self.allowed(brand=brand, language=language) & (scores > min_score), k=k)

    def allowed(self, *, brand: str | None = None, language: str | None = None) -> np.ndarray:
        """Which articles may be suggested: the brand's and the organisation-wide ones; of those, the
        language's and those without one (all of them when none is in that language)."""
        allowed = np.ones(len(self.articles), dtype=bool)
        if brand is not None:
            allowed &= (self._brands == brand) | (self._brands == "")
        if language:
            wanted = allowed & ((self._languages == language) | (self._languages == ""))
            if wanted.any():
                allowed = wanted
        return allowed

    def top(self, scores: np.ndarray, allowed: np.ndarray, *, k: int) -> list[Suggestion]:
        """The ``k`` best allowed articles by ``scores`` (each > 0), best first."""
        scores = np.where(allowed & (scores > 0), scores, -1.0)
        k = max(0, min(k, int((scores > 0).sum())))
        if k == 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        ranked = sorted(top.tolist(), key=lambda i: (-float(scores[i]), self.articles[i].id))[:k]
        return [Suggestion(self.articles[i].id, round(float(scores[i]), 4)) for i in ranked]


def _product(matrix: sparse.csc_matrix, columns: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``matrix[:, columns] @ weights`` read straight from the column-major arrays (several times
    faster than scipy's fancy indexing for the few dozen columns a query has)."""
    starts = matrix.indptr[columns]
    lengths = matrix.indptr[columns + 1] - starts
    if not lengths.sum():
        return np.zeros(matrix.shape[0], dtype=np.float32)
    total = int(lengths.sum())
    positions = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(total)
    values = matrix.data[positions] * np.repeat(weights, lengths)
    return np.bincount(matrix.indices[positions], weights=values, minlength=matrix.shape[0]).astype(
        np.float32
    )


def _max_by_owner(values: np.ndarray, owners: np.ndarray, count: int) -> np.ndarray:
    """The largest value per owner (owners are sorted; an owner without values gets 0)."""
    result = np.zeros(count, dtype=np.float32)
    if len(values):
        starts = np.concatenate(([0], np.flatnonzero(np.diff(owners)) + 1))
        result[owners[starts]] = np.maximum.reduceat(values, starts)
    return result
