"""Language identification for short, noisy social-media messages.

URLs, @handles, e-mail addresses, emoji and symbols are stripped first (they otherwise pull short
messages towards English). By default (``TILSVAR_PIPELINE_LANGUAGE_MODE=auto``) lingua decides,
restricted to the 16 languages of ``LANGUAGES`` (high-accuracy mode over nine languages for texts under
40 letters, the fast mode for longer ones, whose Danish/Swedish/Norwegian answers are asked again in the
high-accuracy mode; ``high``/``low`` force one). lingua scores Danish, Swedish
and Norwegian within a few per cent of each other, so its answer then goes through ``nordic.decide``:
a clear majority of distinctive function words and spellings ("ikke/inte/ikkje", "af/av", æ ø against
ä ö) picks between da, sv, nb and nn; a short text lingua calls Nynorsk without a Nynorsk form is
Bokmål (``nordic.bokmaal_over_nynorsk``); last, ``word_frequencies.decide`` lets the word frequency
lists of 11 languages overrule a clearly wrong guess (Bokmål sentences that share their short words
with Danish). ``TILSVAR_PIPELINE_NORDIC=0`` turns these three steps off.

``model`` uses a shipped linear model over hashed character 1–4-grams and words instead
(``data/language.npz``, trained by ``training/train_language.py`` on shippable text) for a whole batch
at once; Cyrillic and Arabic script are decided by rule (uk when the Ukrainian letters і ї є ґ occur,
else ru; ar). It loads faster but is much worse on Norwegian. A caller that knows the brand's markets
may pass ``context["languages"]`` (e.g. ``["da"]``): when a hinted language is a close second (da/nb/sv
are often within a few per cent of each other) the hint wins.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from tilsvar.pipeline import nordic, word_frequencies
from tilsvar.pipeline.linear import FeatureSpec, featurize_normalized, shipped
from tilsvar.pipeline.text import letters, strip_noise

if TYPE_CHECKING:
    from lingua import LanguageDetector

    from tilsvar.pipeline import TextItem

#: ISO 639-1 codes of the languages told apart (nb and nn are separate)
LANGUAGES = ("da", "sv", "nb", "nn", "pl", "en", "de", "fi", "is", "fr", "es", "uk", "ar", "nl", "ru", "it")
#: the languages of the shipped model (the rest are told by their script)
MODEL_CLASSES = ("da", "sv", "nb", "nn", "pl", "en", "de", "fi", "is", "fr", "es", "it", "nl")
MODEL_NAME = "language"
SPEC = FeatureSpec(chars=(1, 2, 3, 4), words=(1,), bits=17)
#: below this many letters nothing is claimed
MIN_LETTERS = 2
#: a hinted language this close to the winner's confidence replaces it
HINT_MARGIN = 0.15

#: the languages lingua's high-accuracy detector considers for short texts (loading all costs seconds)
SHORT_TEXT_LANGUAGES = ("da", "sv", "nb", "nn", "pl", "en", "de", "fi", "is")
#: texts with fewer letters than this go to lingua's high-accuracy detector in "auto" mode
SHORT_TEXT_LETTERS = 40

_DIGITS = re.compile(r"\d+")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_UKRAINIAN = re.compile(r"[іїєґІЇЄҐ]")
_ARABIC = re.compile(r"[\u0600-\u06ff]")


def mode() -> str:
    """auto (default: lingua, high accuracy for short texts only), high, low, or model (ours)."""
    return os.environ.get("TILSVAR_PIPELINE_LANGUAGE_MODE", "auto")


def prepare(text: str) -> str:
    """What the model sees: the text without noise and digits, case-folded."""
    return _DIGITS.sub(" ", strip_noise(text)).casefold()


def _script(text: str) -> str | None:
    """uk, ru or ar when most letters are Cyrillic or Arabic, else None."""
    count = letters(text)
    if count and len(_CYRILLIC.findall(text)) * 2 > count:
        return "uk" if _UKRAINIAN.search(text) else "ru"
    if count and len(_ARABIC.findall(text)) * 2 > count:
        return "ar"
    return None


def probabilities(texts: Sequence[str]) -> tuple[list[str], Any]:
    """The model's classes and a (texts × classes) probability matrix for already prepared texts."""
    model = shipped(MODEL_NAME)
    return model.classes, model.proba_of(featurize_normalized(texts, model.spec))


def _detect_model(
    cleaned: list[str], todo: list[int], hints: Sequence[Sequence[str]] | None
) -> dict[int, str]:
    import numpy as np

    found: dict[int, str] = {}
    rest = []
    for index in todo:
        script = _script(cleaned[index])
        if script:
            found[index] = script
        else:
            rest.append(index)
    if not rest:
        return found
    classes, matrix = probabilities([_DIGITS.sub(" ", cleaned[i]).casefold() for i in rest])
    best = np.argmax(matrix, axis=1)
    for row, index in enumerate(rest):
        code = classes[int(best[row])]
        wanted = [c.lower() for c in (hints[index] or ())] if hints else []
        if wanted and code not in wanted:
            top = float(matrix[row, best[row]])
            close = [
                (float(matrix[row, k]), classes[k])
                for k in range(len(classes))
                if classes[k] in wanted and top - float(matrix[row, k]) <= HINT_MARGIN
            ]
            if close:
                code = max(close)[1]
        found[index] = code
    return found


@lru_cache(maxsize=2)
def detector(accuracy: str = "low") -> LanguageDetector:
    """A lingua detector, built once per process (lazily: importing this module costs nothing)."""
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    codes = SHORT_TEXT_LANGUAGES if accuracy == "high" and mode() == "auto" else LANGUAGES
    languages = [Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in codes]
    builder = LanguageDetectorBuilder.from_languages(*languages)
    if accuracy == "low":
        builder = builder.with_low_accuracy_mode()
    return builder.build()


def _accuracy(text: str) -> str:
    chosen = mode()
    if chosen in {"low", "high"}:
        return chosen
    return "high" if letters(text) < SHORT_TEXT_LETTERS else "low"


def _code(language: Any) -> str:
    return str(language.iso_code_639_1.name).lower()


def _detect_lingua(
    cleaned: list[str], todo: list[int], hints: Sequence[Sequence[str]] | None
) -> dict[int, str]:
    found: dict[int, str] = {}

    def run(group: list[int], accuracy: str) -> None:
        if group:
            languages = detector(accuracy).detect_languages_in_parallel_of([cleaned[i] for i in group])
            for index, language in zip(group, languages, strict=True):
                if language is not None:
                    found[index] = _code(language)

    fast = [i for i in todo if _accuracy(cleaned[i]) == "low"]
    run(fast, "low")
    accurate = sorted(set(todo) - set(fast))
    if mode() == "auto":
        # The fast mode tells Danish, Swedish and the two Norwegians apart worst (lingua's own
        # report: Bokmål sentences 72.8 % fast, 76.6 % accurate, most of the rest called Nynorsk):
        # a long text it calls Nordic is asked again with the short ones, in the accurate mode.
        accurate = sorted(accurate + [i for i in fast if found.get(i) in nordic.NORDIC])
    run(accurate, "high")
    _tie_break(cleaned, todo, found)
    if hints:
        for index in todo:
            wanted = [code.lower() for code in hints[index] or ()]
            if wanted and found.get(index) not in wanted:
                hinted = _apply_hint(cleaned[index], wanted)
                if hinted:
                    found[index] = hinted
    return found


def _tie_break(cleaned: list[str], todo: list[int], found: dict[int, str]) -> None:
    """Let the Nordic markers decide between da/sv/nb/nn (``nordic.decide``; short Nynorsk guesses
    without a Nynorsk form become Bokmål), then the word frequencies between da/nb/sv/en and seven more
    (``word_frequencies.decide``; a text they call Bokmål keeps Nynorsk when its markers say so),
    unless turned off."""
    if os.environ.get("TILSVAR_PIPELINE_NORDIC", "1") == "0":
        return
    for index in todo:
        text = cleaned[index]
        marked = nordic.decide(text, found.get(index))
        if marked == "nn" and nordic.bokmaal_over_nynorsk(text):
            marked = "nb"
        decided = word_frequencies.decide(text, marked)
        if decided == "nb" and marked not in nordic.NORWEGIAN:
            decided = nordic.norwegian_standard(text)
        if decided is not None:
            found[index] = decided


def _apply_hint(text: str, wanted: list[str]) -> str | None:
    values = detector(_accuracy(text)).compute_language_confidence_values(text)
    if not values:
        return None
    best = values[0].value
    for candidate in values:
        if best - candidate.value > HINT_MARGIN:
            break
        if _code(candidate.language) in wanted:
            return _code(candidate.language)
    return None


def detect(texts: Sequence[str], hints: Sequence[Sequence[str]] | None = None) -> list[str | None]:
    """The language code of each text, or None when it has too few letters to tell."""
    cleaned = [strip_noise(text) for text in texts]
    results: list[str | None] = [None] * len(texts)
    todo = [i for i, text in enumerate(cleaned) if letters(text) >= MIN_LETTERS]
    if not todo:
        return results
    if hints is not None and not any(hints):
        hints = None
    if mode() == "model":
        found = _detect_model(cleaned, todo, hints)
        # a hinted text already had the brand's markets weighed in (see _detect_model)
        _tie_break(cleaned, [i for i in todo if not (hints and hints[i])], found)
    else:
        found = _detect_lingua(cleaned, todo, hints)
    for index, code in found.items():
        results[index] = code
    return results


class LanguageStage:
    name = "language"

    def run(self, items: Sequence[TextItem]) -> None:
        hints = [list(item.context.get("languages") or ()) for item in items]
        codes = detect([item.text for item in items], hints if any(hints) else None)
        for item, code in zip(items, codes, strict=True):
            item.analysis["language"] = code
