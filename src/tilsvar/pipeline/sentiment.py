"""Sentiment (negative / neutral / positive, score in [-1, 1]) for da, sv, nb/nn, pl and en.

No shippable sentiment model covers sv, nb or pl (OFFLINE_NLP.md; NoReC and the Swedish set may only
evaluate), so the default is a lexicon we wrote (``lexicons.SENTIMENT_WORDS``: word stems with weights,
emoji, negation within three words, intensifiers and downtoners, exclamation marks), backed by two
shipped word lists for words ours lacks (``data/sentiment``: AFINN-da, ODbL, and the Swedish VADER
list, MIT; see CREDIT.md there), scaled by ``EXTERNAL_FACTOR``. Nynorsk ``-leg`` forms fall back to the
Bokmål ``-lig`` entry, a ``u-``/``o-`` prefix turns a positive word negative ("uinspirerende"), and after
a contrastive "men/but" the clause before counts ``1 / CONTRAST`` as much. The score is
``tanh(sum / SCALE)``; ``|score| < NEUTRAL`` is neutral. Replace the stage with a heavier local model
through ``TILSVAR_PIPELINE_STAGE_SENTIMENT`` (see ``plugins``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from tilsvar.pipeline import lexicons
from tilsvar.pipeline.text import lexicon_form

if TYPE_CHECKING:
    from tilsvar.pipeline import TextItem

SCALE = 3.0
#: chosen on NoReC train (0.25 vs 0.2/0.3/0.35), reported on NoReC dev: see docs/pipeline.md
NEUTRAL = 0.25
#: AFINN runs −5..5 and VADER −4..4, ours 1.5..3 (0.35–0.75 tried on NoReC train: flat within 0.003;
#: 0.45 keeps one mid-strength listed word alone just inside intent's −0.3 complaint cut)
EXTERNAL_FACTOR = 0.45
#: the clause after "men/but" weighs this much more than the one before (1.5/2/3 tried on NoReC train)
CONTRAST = 1.5
DATA = Path(__file__).resolve().parent / "data" / "sentiment"
EXTERNAL_FILES = ("AFINN-da-32.txt", "vader_sv.txt")
#: entries of those lists that mislead in our five languages or in customer messages: English
#: interjections left in the Swedish list that are Nordic words ("ha" = have, "nå"), prepositions and
#: politeness ("trots" = despite, "gärna" = gladly), false friends ("fiks": da neat, nb fix) and
#: laughter, which is chit-chat rather than a judgement
EXTERNAL_EXCLUDED = frozenset(["fiks", "trots", "gärna", "gerne", "haha", "hahaha", "hehe", "lol", "lmao"])
_TOKEN = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*|n't|!+|\?+")
#: Nynorsk adjective/adverb endings and the Bokmål ones our stems are written in
_NYNORSK = (
    ("legaste", "ligste"),
    ("legast", "ligst"),
    ("legare", "ligere"),
    ("lege", "lige"),
    ("legt", "ligt"),
    ("leg", "lig"),
)


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


@cache
def external_words() -> dict[str, float]:
    """Single-word entries of the shipped lists, scaled to our weights; a word the lists disagree on
    in sign is left out."""
    words: dict[str, float] = {}
    conflicts: set[str] = set()
    for name in EXTERNAL_FILES:
        for line in (DATA / name).read_text(encoding="utf-8").splitlines():
            word, _, rest = line.partition("\t")
            word = word.strip().lower()
            try:
                value = float(rest.split("\t")[0])
            except ValueError:
                continue
            if not value or " " in word or len(word) < 3 or word in EXTERNAL_EXCLUDED:
                continue
            if word in words and (words[word] > 0) != (value > 0):
                conflicts.add(word)
            words.setdefault(word, value * EXTERNAL_FACTOR)
    for word in conflicts:
        del words[word]
    return words


def _own_weight(token: str, shortest_stem: int = 1) -> float:
    exact, prefixes, lengths = _tables()
    if token in exact:
        return exact[token]
    for length in lengths:
        if shortest_stem <= length <= len(token) and (weight := prefixes.get(token[:length])) is not None:
            return weight
    return external_words().get(token, 0.0)


@lru_cache(maxsize=200_000)
def word_weight(token: str) -> float:
    """The weight of a word: our exact entry, else our longest matching stem, else the shipped lists;
    then the Bokmål form of a Nynorsk ending, then a negated positive word ("u"/"o" + word)."""
    if weight := _own_weight(token):
        return weight
    for nynorsk, bokmal in _NYNORSK:
        if token.endswith(nynorsk):
            if weight := _own_weight(token[: -len(nynorsk)] + bokmal):
                return weight
            break
    if len(token) >= 7 and token[0] in "uo" and (weight := _own_weight(token[1:], 5)) > 0:
        return -0.75 * weight
    return 0.0


def raw_score(text: str) -> float:
    """The summed, negation-aware lexicon weight of one text (before squashing)."""
    tokens = _TOKEN.findall(lexicon_form(text))
    total = 0.0
    for index, token in enumerate(tokens):
        if token in lexicons.CONTRASTIVE:
            total /= CONTRAST
            continue
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
