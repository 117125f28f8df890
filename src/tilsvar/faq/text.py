"""Folding text for matching: lower case, diacritics and the Nordic/Polish letters NFKD leaves alone
(ø æ ł ß ð þ) replaced, social-media noise (URLs, @handles, e-mail addresses) dropped, and only
letters and digits kept. The FAQ engine and the chorus detector both match on these forms, so
"żółty", "zolty" and "ZÓŁTY" are one word and "forsinkelse"/"forsinket" share their char n-grams."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_NOISE_RE = re.compile(r"(?:https?://|www\.)\S+|\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b|(?<!\w)@\w+")
_TOKEN_RE = re.compile(r"[a-z0-9]+")
_SPECIAL = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "ð": "d", "ı": "i", "ħ": "h"})
_MULTI = {"æ": "ae", "ß": "ss", "þ": "th", "œ": "oe"}


@lru_cache(maxsize=65536)
def fold_word(word: str) -> str:
    """One lower-case word without diacritics (``Østersund`` → ``ostersund``, ``Łódź`` → ``lodz``)."""
    word = word.casefold().translate(_SPECIAL)
    for letter, replacement in _MULTI.items():
        if letter in word:
            word = word.replace(letter, replacement)
    if word.isascii():
        return word
    return "".join(ch for ch in unicodedata.normalize("NFKD", word) if not unicodedata.combining(ch))


def tokens(text: str) -> list[str]:
    """The folded words of ``text`` (letters and digits), URLs, handles and e-mail addresses left out."""
    text = _NOISE_RE.sub(" ", text)
    return _TOKEN_RE.findall(" ".join(fold_word(word) for word in text.split()))
