"""Sentiment (negative / neutral / positive, score in [-1, 1]) for da, sv, nb/nn, pl and en.

No shippable sentiment model covers sv, nb or pl (OFFLINE_NLP.md; NoReC and the Swedish set may only
evaluate), so the default is a lexicon we wrote (``lexicons.SENTIMENT_WORDS``: word stems with weights,
emoji, negation within three words, intensifiers and downtoners, exclamation marks). The score is
``tanh(sum / SCALE)``; ``|score| < NEUTRAL`` is neutral. Replace the stage with a heavier local model
through ``TILSVAR_PIPELINE_STAGE_SENTIMENT`` (see ``plugins``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from functools import cache, lru_cache
from typing import TYPE_CHECKING

from tilsvar.pipeline import lexicons
from tilsvar.pipeline.text import lexicon_form

if TYPE_CHECKING:
    from tilsvar.pipeline import TextItem

SCALE = 3.0
NEUTRAL = 0.3
_TOKEN = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*|n't|!+|\?+")


@cache
def _tables() -> tuple[dict[str, float], dict[str, float], tuple[int, ...]]:
    exact: dict[str, float] = {}
    prefixes: dict[str, float] = {}
    for word, weight in lexicons.SENTIMENT_WORDS.items():
        if word.endswith("*"):
            prefixes[word[:-1]] = weight
        else:
            exact[word] = weight
    lengths = tuple(sorted({len(prefix) for prefix in prefixes}, reverse=True))
    return exact, prefixes, lengths


@lru_cache(maxsize=200_000)
def word_weight(token: str) -> float:
    """The weight of a word: an exact entry, else the longest matching stem."""
    exact, prefixes, lengths = _tables()
    if token in exact:
        return exact[token]
    for length in lengths:
        if length <= len(token) and (weight := prefixes.get(token[:length])) is not None:
            return weight
    return 0.0


def raw_score(text: str) -> float:
    """The summed, negation-aware lexicon weight of one text (before squashing)."""
    tokens = _TOKEN.findall(lexicon_form(text))
    total = 0.0
    for index, token in enumerate(tokens):
        weight = word_weight(token)
        if not weight:
            continue
        window = tokens[max(0, index - 3) : index]
        if any(t in lexicons.NEGATIONS for t in window):
            weight = -0.7 * weight
        if index and tokens[index - 1] in lexicons.INTENSIFIERS:
            weight *= 1.5
        elif index and tokens[index - 1] in lexicons.DOWNTONERS:
            weight *= 0.5
        total += weight
    present = set(text)
    total += 1.5 * sum(text.count(ch) for ch in present & lexicons.POSITIVE_EMOJI)
    total -= 1.5 * sum(text.count(ch) for ch in present & lexicons.NEGATIVE_EMOJI)
    if total and "!" in text:
        total *= 1.2
    return total


def lexicon_score(text: str) -> float:
    """The lexicon alone, squashed to [-1, 1]."""
    return math.tanh(raw_score(text) / SCALE)


def scores(texts: Sequence[str]) -> list[float]:
    """Scores in [-1, 1] for a batch (the stage's entry point, so a model can be blended in later)."""
    return [lexicon_score(text) for text in texts]


def score(text: str) -> float:
    return scores([text])[0]


def label(value: float, neutral: float = NEUTRAL) -> str:
    if value >= neutral:
        return "positive"
    if value <= -neutral:
        return "negative"
    return "neutral"


class SentimentStage:
    name = "sentiment"

    def run(self, items: Sequence[TextItem]) -> None:
        values = scores([item.text for item in items])
        for item, value in zip(items, values, strict=True):
            item.analysis["sentiment"] = {"label": label(value), "score": round(value, 3)}
