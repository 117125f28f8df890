"""Sentiment (negative / neutral / positive, score in [-1, 1]) for da, sv, nb/nn, pl and en.

No shippable sentiment model covers sv, nb or pl (OFFLINE_NLP.md; NoReC and the Swedish set may only
evaluate), so the default is a lexicon we wrote (``lexicons.SENTIMENT_WORDS``: word stems with weights,
emoji, negation within three words, intensifiers and downtoners, exclamation marks), backed by two
shipped word lists for words ours lacks (``data/sentiment``: AFINN-da, ODbL, and the Swedish VADER
list, MIT; see CREDIT.md there), scaled by ``EXTERNAL_FACTOR``. Nynorsk forms (``-leg``, ``-ande``,
``-laus``, ``-a``) fall back to the Bokmål entry, a ``u-``/``o-`` prefix turns a positive word negative
("uinspirerende"), intensifying compound prefixes strengthen ("kjempebra") and a compound's last part
carries the judgement ("fortellerglede"). Patterns that reviews and customers use for criticism: a
negation after the verb ("fungerer ikke"), "for/altfor/litt for" + adjective, "lite" (hardly),
"mindre/uten/langt fra", "kunne vært" + praise, "ikke (noe) særlig/helt/nok"; "ikke bare" does not
negate. After a contrastive "men/but" the clause before counts ``1 / CONTRAST`` as much. The score is
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
#: in Norwegian texts (the language stage's "nb"/"nn") the negative entries of the shipped lists count
#: this much: the lists are Danish and Swedish, and their negative words that Norwegian shares are mostly
#: what a story or a message is about ("alene", "vanskelig", "mørke", "venter", "tom") rather than a
#: judgement (NoReC train: a quarter of the sentences with one are negative, more are positive; 1.0 /
#: 0.6 / 0.4 / 0.2 / 0 tried on NoReC train). Danish and Swedish texts keep them whole.
NORWEGIAN = frozenset(["nb", "nn", "no"])
NORWEGIAN_EXTERNAL_NEGATIVE = 0.4
#: the clause after "men/but" weighs this much more than the one before (1.5/2/3 tried on NoReC train)
CONTRAST = 1.5
#: a negated word counts this much the other way; "too …" patterns count TOO (0.5/0.7/1.0 and
#: 1.0/1.2/1.4 tried on NoReC train, together with NEUTRAL 0.2/0.25/0.3)
NEGATED = 1.0
TOO = 1.5
#: negative words count this much more than positive ones: reviews and customers state criticism more
#: mildly than praise ("litt langdryg" against "fantastisk")
NEGATIVE_BOOST = 1.2
#: the shortest last part of a compound that is looked up on its own
COMPOUND_HEAD = 5
DATA = Path(__file__).resolve().parent / "data" / "sentiment"
EXTERNAL_FILES = ("AFINN-da-32.txt", "vader_sv.txt")
#: entries of those lists that mislead in our five languages or in customer messages: English
#: interjections left in the Swedish list that are Nordic words ("ha" = have, "nå"), prepositions and
#: politeness ("trots" = despite, "gärna" = gladly), false friends ("fiks": da neat, nb fix) and
#: laughter, which is chit-chat rather than a judgement
#: Common Norwegian words are neutral where the lists score them: function words ("når" = when, "bort",
#: "tro", "ber", "full", "klart") and false friends of the Swedish list ("stor" = big, "vann" = water,
#: "lov" = law, "tur" = trip, "fag" = subject, "gift" = married, "fan" = a fan, "svært" = very, "rar" =
#: odd, "lyve" = to lie); checked on NoReC train, the Swedish set and LCC Danish together.
_EXCLUDED = """
fiks trots gärna gerne haha hahaha hehe lol lmao
når bort tro ber bor bodde full driver helst klart klar mening meningen steg kar hit bla antar dra drar
stor størst vann lov tur turen fag lik gift fan hot rar fyller lyve dog strengt matt svært
pris priser prisen roman romanen livet fly foster sand fest jakten dom mørke komedie
ass vile die vanvittig vanvittige vanvittigt skyld ansvar raser besatt betydning
"""
EXTERNAL_EXCLUDED = frozenset(_EXCLUDED.split())
#: a capitalised word inside a sentence (not after . ! ? : « " or a dash): a name or a title ("Harry",
#: "« Beyond Good & Evil »"), which does not judge
_NAME = re.compile(r"(?<=[\w,)] )[A-ZÆØÅÄÖ][a-zæøåäöé]+")
#: a short span in «guillemets» is a title ("« Lykkelig alle sine dager »") or a quoted phrase: it names
#: rather than judges (longer spans are quoted speech and count)
_TITLE = re.compile(r"«[^«»]{0,60}»")
_TOKEN = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*|n't|!+|\?+|[,;.]")
#: a negation does not reach past these into the next clause ("not yesterday, are outages …")
_CLAUSE_END = frozenset("!?,;.")
#: Nynorsk adjective/adverb endings and the Bokmål ones our stems are written in
_NYNORSK = (
    ("legaste", "ligste"),
    ("legast", "ligst"),
    ("legare", "ligere"),
    ("lege", "lige"),
    ("legt", "ligt"),
    ("leg", "lig"),
    ("ande", "ende"),
    ("aste", "este"),
    ("ast", "est"),
    ("are", "ere"),
    ("laust", "løst"),
    ("lause", "løse"),
    ("laus", "løs"),
)
_WITHOUT_ENDINGS = ("løs", "løst", "løse", "laus", "laust", "lause", "lös", "löst", "lösa", "løshet", "løyse")
_WITHOUT = re.compile("(?:" + "|".join(sorted(_WITHOUT_ENDINGS, key=len, reverse=True)) + ")$")
_NYNORSK_ENDINGS = tuple(nynorsk for nynorsk, _ in _NYNORSK)


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


def _own_weight(token: str, shortest_stem: int = 1, external: bool = True) -> float:
    exact, prefixes, lengths = _tables()
    if token in exact:
        return exact[token]
    for length in lengths:
        if shortest_stem <= length <= len(token) and (weight := prefixes.get(token[:length])) is not None:
            return weight
    return external_words().get(token, 0.0) if external else 0.0


def _compound_head(token: str) -> float:
    """A compound whose last part is one of our words ("fortellerglede", "årsskuffelse"): Nordic
    compounds put the head, which carries the judgement, last."""
    exact, prefixes, _ = _tables()
    for start in range(3, len(token) - COMPOUND_HEAD + 1):
        if token[start:] in lexicons.NOT_COMPOUND_HEADS:
            return 0.0
        if weight := exact.get(token[start:]):
            return weight
        # a stem with at most a short ending after it ("glede|r"): few lookups per split point
        for end in range(len(token), max(start + COMPOUND_HEAD, len(token) - 4) - 1, -1):
            if weight := prefixes.get(token[start:end]):
                return weight
    return 0.0


@lru_cache(maxsize=200_000)
def word_weight(token: str) -> float:
    """The weight of a word: our exact entry, else our longest matching stem, else the shipped lists;
    then the Bokmål form of a Nynorsk ending, an intensifying compound prefix ("kjempebra" = 1.5 ×
    "bra"), a negated positive word ("u"/"o" + word), and finally the compound's last part."""
    weight = _own_weight(token)
    if token.endswith(_WITHOUT_ENDINGS) and weight >= 0:
        # "energiløst", "gledelaus": a positive word + "-løs" (without) is a lack; "sømløs" is listed
        stem = _WITHOUT.sub("", token)
        if (
            len(stem) >= 4
            and (
                (positive := _own_weight(stem, 4)) > 0
                or (stem[-1] == "s" and (positive := _own_weight(stem[:-1], 4)) > 0)
            )
            and weight in (0.0, positive)
        ):
            return -max(1.5, positive)
    if weight:
        # a stem that begins a compound whose head judges the other way ("troverdighetsproblemer")
        if len(token) >= COMPOUND_HEAD + 8 and token not in _tables()[0]:
            head = _compound_head(token)
            if head * weight < 0:
                return head
        return weight
    if token.endswith(_NYNORSK_ENDINGS):
        for nynorsk, bokmal in _NYNORSK:
            if token.endswith(nynorsk):
                if weight := _own_weight(token[: -len(nynorsk)] + bokmal):
                    return weight
                break
    # Nynorsk past participles in "-a" ("skuffa", "vellukka") → the Bokmål "-et" form
    if len(token) >= 6 and token.endswith("a") and (weight := _own_weight(token[:-1] + "et", 5)):
        return weight
    if token.startswith(lexicons.INTENSIFYING_PREFIXES):
        for prefix in lexicons.INTENSIFYING_PREFIXES:
            if token.startswith(prefix) and len(token) - len(prefix) >= 3:
                if weight := _own_weight(token[len(prefix) :], 3):
                    return max(-3.0, min(3.0, 1.5 * weight))
                break
    if len(token) >= 7 and token[0] in "uo" and (weight := _own_weight(token[1:], 5)) > 0:
        return -0.75 * weight
    if len(token) >= COMPOUND_HEAD + 3:
        return _compound_head(token)
    return 0.0


def _negated(tokens: list[str], index: int) -> bool:
    """A negation among the three words before (not across "men/but"), unless it is "ikke bare/minst"
    (not only, not least)."""
    for back in range(1, 4):
        before = tokens[index - back] if index >= back else ""
        if not before or before in lexicons.CONTRASTIVE or before[0] in _CLAUSE_END:  # "ikke slik, men bra"
            break
        if before in lexicons.NEGATIONS:
            return back == 1 or tokens[index - back + 1] not in lexicons.NOT_ONLY
    if index > 1 and (tokens[index - 2], tokens[index - 1]) in lexicons.NEGATING_PAIRS:
        return True
    # "ikke alltid like heldig", "ikke en like imponerende": the negation reaches over "like/så"
    return index > 3 and tokens[index - 1] in lexicons.AS and _negated(tokens, index - 1)


def _negated_after(tokens: list[str], index: int) -> bool:
    """A negation right after the word, or after one short word ("fungerer dessverre ikke")."""
    at = index + 1
    if at < len(tokens) and tokens[at] in lexicons.POST_NEGATION_GAP:
        at += 1
    return (
        at < len(tokens)
        and tokens[at] in lexicons.NEGATIONS
        and not (at + 1 < len(tokens) and tokens[at + 1] in lexicons.NOT_NEGATING_AFTER)
    )


def _too(tokens: list[str], index: int, previous: str) -> bool:
    """ "altfor X", "alt/litt for X", or "for" + a scalar adjective ("for lang")."""
    if previous in lexicons.TOO:
        return True
    if previous not in lexicons.TOO_BARE:
        return False
    return tokens[index] in lexicons.SCALAR or (
        index > 1
        and tokens[index - 2] in lexicons.TOO_LEAD
        and tokens[index] not in lexicons.INFINITIVE_MARKERS
    )


def _unweighted(tokens: list[str], index: int, previous: str) -> float:
    """What a word without a weight of its own adds through a pattern: "for lang", "virker ikke",
    "ikke (noe) særlig" with no judgement after it."""
    token = tokens[index]
    if _too(tokens, index, previous):
        return 0.0 if _negated(tokens, index - 1) else -TOO
    if token in lexicons.FAILS_WHEN_NEGATED and (_negated(tokens, index) or _negated_after(tokens, index)):
        return -TOO
    if (
        token in lexicons.PARTICULARLY
        and (
            previous in lexicons.NEGATIONS
            or (
                previous in lexicons.NOT_PARTICULARLY
                and index > 1
                and tokens[index - 2] in lexicons.NEGATIONS
            )
        )
        and not (index + 1 < len(tokens) and word_weight(tokens[index + 1]))
    ):
        return -TOO
    return 0.0


@lru_cache(maxsize=200_000)
def from_external(token: str) -> bool:
    """Whether the word's weight is the shipped lists' own entry (none of ours matched)."""
    return not _own_weight(token, 1, external=False) and token in external_words()


def raw_score(text: str, language: str | None = None) -> float:
    """The summed, negation-aware lexicon weight of one text (before squashing); ``language`` is the
    language stage's code, if known."""
    norwegian = language in NORWEGIAN
    if "«" in text:
        text = _TITLE.sub(" ", text)
    tokens = _TOKEN.findall(lexicon_form(text))
    names = {name.casefold() for name in _NAME.findall(text)}
    total = 0.0
    wish = -10  # index of the "vært" in "kunne/burde vært": praise just after it is a wish
    soft_wish = False  # "hadde/ville vært": a wish unless a suggestion follows ("fint om …")
    for index, token in enumerate(tokens):
        if token in lexicons.CONTRASTIVE:
            total /= CONTRAST
            continue
        previous = tokens[index - 1] if index else ""
        if previous in lexicons.PHRASE_STARTS and (phrase := lexicons.PHRASES.get((previous, token))):
            if _negated(tokens, index - 1):  # "lite/ingenting å utsette på"
                phrase = -NEGATED * phrase
            total += phrase * NEGATIVE_BOOST if phrase < 0 else phrase
            continue
        if token in lexicons.COUNTERFACTUAL_BE:
            before = tokens[max(0, index - 3) : index]
            if any(t in lexicons.COUNTERFACTUAL_MODALS for t in before):
                wish, soft_wish = index, False
                if any(t in lexicons.OUGHT for t in before):  # "burde vært gjort før": a reproach
                    total -= NEGATIVE_BOOST
            elif any(t in lexicons.SOFT_COUNTERFACTUAL for t in before):
                wish, soft_wish = index, True
        weight = 0.0 if token in names else word_weight(token)
        if weight < 0 and norwegian and from_external(token):
            weight *= NORWEGIAN_EXTERNAL_NEGATIVE
        if token in lexicons.MAY_WELL and previous in lexicons.MODAL_VERBS:
            continue
        if not weight:
            if previous in lexicons.PATTERN_PREVIOUS or token in lexicons.PATTERN_TOKENS:
                total += _unweighted(tokens, index, previous) * NEGATIVE_BOOST
            continue
        if _too(tokens, index, previous):
            weight = TOO * weight if weight < 0 else -TOO
        elif (weight > 0 and previous in lexicons.HARDLY) or (
            token not in lexicons.SENTENCE_ADVERBS
            and (
                _negated(tokens, index)
                or previous in lexicons.LESS
                or (
                    weight > 0
                    and index - wish <= 3
                    and not (
                        soft_wish
                        and index + 1 < len(tokens)
                        and tokens[index + 1] in lexicons.SUGGESTION_AFTER
                    )
                )
                or _negated_after(tokens, index)
            )
        ):
            weight = -NEGATED * weight
        elif previous in lexicons.DOWNTONERS:
            total += 0.5 * weight  # softened on purpose ("lidt rodet"): no NEGATIVE_BOOST
            continue
        if previous in lexicons.INTENSIFIERS:
            weight *= 1.5
        total += weight * NEGATIVE_BOOST if weight < 0 else weight
    present = set(text)
    total += 1.5 * sum(text.count(ch) for ch in present & lexicons.POSITIVE_EMOJI)
    total -= 1.5 * sum(text.count(ch) for ch in present & lexicons.NEGATIVE_EMOJI)
    if total and "!" in text:
        total *= 1.2
    return total


def lexicon_score(text: str, language: str | None = None) -> float:
    """The lexicon alone, squashed to [-1, 1]."""
    return math.tanh(raw_score(text, language) / SCALE)


def scores(texts: Sequence[str], languages: Sequence[str | None] | None = None) -> list[float]:
    """Scores in [-1, 1] for a batch (the stage's entry point, so a model can be blended in later);
    ``languages`` are the language stage's codes, one per text, where known."""
    if languages is None:
        return [lexicon_score(text) for text in texts]
    return [lexicon_score(text, language) for text, language in zip(texts, languages, strict=True)]


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
        values = scores([item.text for item in items], [item.analysis.get("language") for item in items])
        for item, value in zip(items, values, strict=True):
            item.analysis["sentiment"] = {"label": label(value), "score": round(value, 3)}
