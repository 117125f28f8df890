"""Language identification for short, noisy social-media messages.

Uses lingua (OFFLINE_NLP.md: the most accurate offline detector) restricted to the languages a Nordic
brand meets, after stripping URLs, @handles, e-mail addresses and emoji, which otherwise pull short
messages towards English. By default (``TILSVAR_PIPELINE_LANGUAGE_MODE=auto``) texts under 40 letters
go to lingua's high-accuracy mode over the nine most likely languages and longer ones to its fast
low-accuracy mode over all sixteen; ``high`` or ``low`` force one mode. A caller that knows the
brand's markets may pass ``context["languages"]`` (e.g. ``["da"]``): when a hinted language is a
close second (da/nb/sv are often within a few per cent of each other) the hint wins.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from tilsvar.pipeline.text import letters, strip_noise

if TYPE_CHECKING:
    from lingua import LanguageDetector

    from tilsvar.pipeline import TextItem

#: ISO 639-1 codes of the languages told apart (lingua names them; nb and nn are separate)
LANGUAGES = ("da", "sv", "nb", "nn", "pl", "en", "de", "fi", "is", "fr", "es", "uk", "ar", "nl", "ru", "it")
#: below this many letters nothing is claimed
MIN_LETTERS = 2
#: a hinted language this close to the winner's confidence replaces it
HINT_MARGIN = 0.15


#: the languages the high-accuracy detector considers for short texts (loading all costs seconds)
SHORT_TEXT_LANGUAGES = ("da", "sv", "nb", "nn", "pl", "en", "de", "fi", "is")
#: texts with fewer letters than this go to the high-accuracy detector in "auto" mode
SHORT_TEXT_LETTERS = 40


def mode() -> str:
    """auto (default: high accuracy for short texts only), high (always) or low (never)."""
    return os.environ.get("TILSVAR_PIPELINE_LANGUAGE_MODE", "auto")


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


def detect(texts: Sequence[str], hints: Sequence[Sequence[str]] | None = None) -> list[str | None]:
    """The language code of each text, or None when it has too few letters to tell."""
    cleaned = [strip_noise(text) for text in texts]
    results: list[str | None] = [None] * len(texts)
    todo = [i for i, text in enumerate(cleaned) if letters(text) >= MIN_LETTERS]
    if not todo:
        return results
    for accuracy in ("low", "high"):
        group = [i for i in todo if _accuracy(cleaned[i]) == accuracy]
        if not group:
            continue
        found = detector(accuracy).detect_languages_in_parallel_of([cleaned[i] for i in group])
        for index, language in zip(group, found, strict=True):
            results[index] = _code(language) if language is not None else None
    if hints:
        for index in todo:
            wanted = [code.lower() for code in hints[index] or ()]
            if wanted and results[index] not in wanted:
                results[index] = _apply_hint(cleaned[index], wanted) or results[index]
    return results


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


class LanguageStage:
    name = "language"

    def run(self, items: Sequence[TextItem]) -> None:
        hints = [list(item.context.get("languages") or ()) for item in items]
        codes = detect([item.text for item in items], hints if any(hints) else None)
        for item, code in zip(items, codes, strict=True):
            item.analysis["language"] = code
