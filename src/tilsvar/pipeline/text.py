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
_LEET_CHARS_RE = re.compile(r"[0134579@$€]")
_LEET_TOKEN_RE = re.compile(r"(?<!\S)[\w@$€*!]*[^\W\d_][\w@$€*]*(?!\S)")


class _NoiseTable(dict[int, int]):
    """``str.translate`` table mapping symbols (emoji, ©, +) and control characters to a space, filled
    lazily: each distinct character is classified once per process, then looked up in C."""

    def __missing__(self, code: int) -> int:
        category = unicodedata.category(chr(code))
        value = 32 if category[0] in "SC" and chr(code) not in "\n\t" else code
        self[code] = value
        return value


_NOISE = _NoiseTable()


def strip_noise(text: str) -> str:
    """The text without URLs, e-mail addresses, @handles, emoji and symbols; hashtags keep their word."""
    text = URL_RE.sub(" ", text)
    text = EMAIL_RE.sub(" ", text)
    text = HANDLE_RE.sub(" ", text)
    text = HASHTAG_RE.sub(r"\1", text)
    return " ".join(text.translate(_NOISE).split())


def letters(text: str) -> int:
    return sum(map(str.isalpha, text))


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
    if _LEET_CHARS_RE.search(text):
        text = _LEET_TOKEN_RE.sub(lambda m: _deleet_token(m.group(0)), text)
    return _REPEAT_RE.sub(r"\1", text)


def words(text: str) -> list[str]:
    return WORD_RE.findall(text)


@lru_cache(maxsize=65536)
def fold(word: str) -> str:
    """A word without diacritics (for lexicons that must match "jävla" and "javla" alike)."""
    if word.isascii():
        return word
    return (
        "".join(ch for ch in unicodedata.normalize("NFKD", word) if not unicodedata.combining(ch))
        .replace("ø", "o")
        .replace("æ", "ae")
        .replace("ł", "l")
        .replace("å", "a")
    )


_ANCHOR_GROUP_RE = re.compile(r"^\(\?:((?:\w+\|)*\w+)\)(?![?*{])")
_ANCHOR_WORD_RE = re.compile(r"^\w+")
_ANCHOR_LENGTH = 3


def _anchors(pattern: str) -> list[str] | None:
    """The literal word prefixes one of which every match of ``pattern`` starts with (at most three
    letters each), or None when the pattern may start otherwise (it is then always tried)."""
    depth = 0
    for index, ch in enumerate(pattern):
        if ch == "\\":
            continue
        if ch == "(" and (index == 0 or pattern[index - 1] != "\\"):
            depth += 1
        elif ch == ")" and pattern[index - 1] != "\\":
            depth -= 1
        elif ch == "|" and depth == 0 and pattern[index - 1] != "\\":
            return None
    if group := _ANCHOR_GROUP_RE.match(pattern):
        return [word[:_ANCHOR_LENGTH].casefold() for word in group.group(1).split("|")]
    word = _ANCHOR_WORD_RE.match(pattern)
    if not word:
        return None
    literal = word.group(0)
    if pattern[len(literal) : len(literal) + 1] in {"?", "*", "{"}:
        literal = literal[:-1]
    return [literal[:_ANCHOR_LENGTH].casefold()] if literal else None


@lru_cache(maxsize=4096)
def token_prefixes(form: str) -> frozenset[str]:
    """The first one, two and three characters of every word of a lexicon form."""
    found: set[str] = set()
    for token in set(re.findall(r"\w+", form)):
        found.update(token[:k] for k in range(1, min(len(token), _ANCHOR_LENGTH) + 1))
    return frozenset(found)


class CueSet:
    """Many regular expressions searched in a text as fast as one: each pattern is tried only when a
    word of the text starts with one of the pattern's literal prefixes (patterns without one are always
    tried). A single big alternation makes ``re`` try every alternative at every position, which cost
    most of the moderation and intent stages' time. ``search`` returns the leftmost match."""

    def __init__(self, patterns: list[str], prefix: str = r"(?<!\w)(?:", suffix: str = ")") -> None:
        self.always: list[re.Pattern[str]] = []
        self.by_anchor: dict[str, list[re.Pattern[str]]] = {}
        for pattern in patterns:
            compiled = re.compile(prefix + pattern + suffix, re.I)
            anchors = _anchors(pattern)
            if anchors is None:
                self.always.append(compiled)
                continue
            for anchor in anchors:
                self.by_anchor.setdefault(anchor, []).append(compiled)
        self.keys = frozenset(self.by_anchor)

    def search(self, form: str) -> re.Match[str] | None:
        candidates = list(self.always)
        for anchor in self.keys & token_prefixes(form):
            candidates += self.by_anchor[anchor]
        best: re.Match[str] | None = None
        for pattern in dict.fromkeys(candidates):
            found = pattern.search(form)
            if found and (best is None or found.start() < best.start()):
                best = found
        return best
