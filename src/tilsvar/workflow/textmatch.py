"""Keyword matching for routing rules: case- and diacritic-insensitive, on word boundaries.

Customers write "forsinkelse", "FORSINKELSE" and "forsinkelsé"; Polish customers write "opóźnienie"
or "opoznienie". Rules should match all of them, but "tog" must not match "togbane". Text and keywords
are folded the same way (casefold, accents removed, ø/æ/ł and friends spelled out) and split into
words once per message; a keyword is then a set lookup, a phrase a substring test on the joined
words, and a keyword ending in `*` a prefix test.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property

# Letters that Unicode does not decompose into a base letter and an accent.
_SPELLED = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i"})
_WORD = re.compile(r"\w+")


def fold(text: str) -> str:
    """Lower-case, accent-free text for comparisons ("Københavns Ø" -> "kobenhavns o")."""
    if text.isascii():
        return text.lower()
    text = text.casefold().translate(_SPELLED)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


class FoldedText:
    """A message's text, folded and split once, shared by every keyword condition."""

    def __init__(self, text: str) -> None:
        self.original = text

    @cached_property
    def folded(self) -> str:
        return fold(self.original)

    @cached_property
    def tokens(self) -> list[str]:
        return _WORD.findall(self.folded)

    @cached_property
    def token_set(self) -> frozenset[str]:
        return frozenset(self.tokens)

    @cached_property
    def joined(self) -> str:
        return " " + " ".join(self.tokens) + " "


@dataclass(frozen=True)
class Keyword:
    """One keyword as written in a rule, compiled to the cheapest test that matches it."""

    written: str
    word: str | None = None  # a single word: set lookup
    phrase: str | None = None  # several words: " a b " in the joined words
    prefix: str | None = None  # "forsink*": any word starting with "forsink"
    raw: str | None = None  # no word characters at all (an emoji): substring of the folded text

    @classmethod
    def compile(cls, written: str) -> Keyword:
        text = written.strip()
        if not text:
            raise ValueError("empty keyword")
        if text.endswith("*"):
            parts = words(text[:-1])
            if len(parts) != 1:
                raise ValueError(f"a wildcard keyword is one word followed by '*', not {written!r}")
            return cls(written, prefix=parts[0])
        parts = words(text)
        if not parts:
            return cls(written, raw=fold(text))
        if len(parts) == 1:
            return cls(written, word=parts[0])
        return cls(written, phrase=" " + " ".join(parts) + " ")

    def found_in(self, text: FoldedText) -> bool:
        if self.word is not None:
            return self.word in text.token_set
        if self.phrase is not None:
            return self.phrase in text.joined
        if self.prefix is not None:
            prefix = self.prefix
            return any(token.startswith(prefix) for token in text.tokens)
        assert self.raw is not None
        return self.raw in text.folded


class KeywordSet:
    """Keywords of one condition; single words are tested together with one set intersection."""

    def __init__(self, written: list[str]) -> None:
        self.keywords = [Keyword.compile(text) for text in written]
        self._words = frozenset(k.word for k in self.keywords if k.word is not None)
        self._others = [k for k in self.keywords if k.word is None]
        prefixes = tuple(k.prefix for k in self._others if k.prefix is not None)
        self._prefixes = prefixes
        self._rest = [k for k in self._others if k.prefix is None]

    def any_in(self, text: FoldedText) -> bool:
        if not self._words.isdisjoint(text.token_set):
            return True
        if self._prefixes and any(token.startswith(self._prefixes) for token in text.tokens):
            return True
        return any(k.found_in(text) for k in self._rest)

    def all_in(self, text: FoldedText) -> bool:
        return self._words <= text.token_set and all(k.found_in(text) for k in self._others)

    def found(self, text: FoldedText) -> list[str]:
        """The keywords (as written) that occur in the text, for explanations."""
        return [k.written for k in self.keywords if k.found_in(text)]
