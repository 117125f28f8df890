"""Text clean-up shared by the stages: social-media noise (URLs, @handles, emoji) removed before
language identification, and a lexicon form of a message (lower case, leetspeak and repeated letters
undone, spaced-out letters joined) so word lists match what people actually type."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

URL_RE = re.compile(
    r"(?:https?://|www\.)\S+|\b[\w.-]+\.(?:com|dk|se|no|pl|fi|net|org|io|eu|de|ly|co)/\S*", re.I
)
HANDLE_RE = re.compile(r"(?<!\w)@\w+")
HASHTAG_RE = re.compile(r"(?<!\w)#(\w+)")
EMAIL_RE = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
WORD_RE = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
_SPACE_RE = re.compile(r"\s+")
_LETTER_RUN_RE = re.compile(r"(?<![^\W\d_])(?:[^\W\d_][ .\-_*]){2,}[^\W\d_](?![^\W\d_])")
_REPEAT_RE = re.compile(r"(.)\1{2,}")
_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "€": "e"}
)
_LEET_TOKEN_RE = re.compile(r"(?<!\S)[\w@$€*!]*[^\W\d_][\w@$€*]*(?!\S)")


def strip_noise(text: str) -> str:
    """The text without URLs, e-mail addresses, @handles, emoji and symbols; hashtags keep their word."""
    text = URL_RE.sub(" ", text)
    text = EMAIL_RE.sub(" ", text)
    text = HANDLE_RE.sub(" ", text)
    text = HASHTAG_RE.sub(r"\1", text)
    kept = [ch if not unicodedata.category(ch).startswith(("S", "C")) or ch in "\n\t" else " " for ch in text]
    return _SPACE_RE.sub(" ", "".join(kept)).strip()


def letters(text: str) -> int:
    return sum(1 for ch in text if ch.isalpha())


@lru_cache(maxsize=65536)
def _deleet_token(token: str) -> str:
    if not any(ch in token for ch in "0134579@$€"):
        return token
    return token.translate(_LEET)


@lru_cache(maxsize=4096)
def lexicon_form(text: str) -> str:
    """Lower-cased text with leetspeak undone (sh1t → shit), runs of one letter collapsed
    (fuuuuck → fuck), and spaced-out letters joined (f u c k, f.u.c.k → fuck)."""
    text = URL_RE.sub(" ", text)
    text = HANDLE_RE.sub(" ", text).casefold()
    text = _LETTER_RUN_RE.sub(lambda m: re.sub(r"[ .\-_*]", "", m.group(0)), text)
    text = _LEET_TOKEN_RE.sub(lambda m: _deleet_token(m.group(0)), text)
    return _REPEAT_RE.sub(r"\1", text)


def words(text: str) -> list[str]:
    return WORD_RE.findall(text)


@lru_cache(maxsize=65536)
def fold(word: str) -> str:
    """A word without diacritics (for lexicons that must match "jävla" and "javla" alike)."""
    return (
        "".join(ch for ch in unicodedata.normalize("NFKD", word) if not unicodedata.combining(ch))
        .replace("ø", "o")
        .replace("æ", "ae")
        .replace("ł", "l")
        .replace("å", "a")
    )
