"""How text is folded before it is indexed or looked up, so that search tolerates missing diacritics
and inflection in Danish, Swedish, Norwegian, Polish and English.

The index (filled by database triggers, migration 0005) holds each message's *surface* words with
diacritics folded away: ``żółty`` is indexed as ``zolty``, ``Østersund`` as ``ostersund``, ``æble``
as ``aeble``. SQLite's FTS5 tokenizer (``unicode61 remove_diacritics 2``) folds every letter with a
canonical decomposition itself; the few Nordic/Polish letters it leaves alone (``ł ø æ ß đ ð œ þ ħ ı``)
are replaced in the trigger. On PostgreSQL a SQL function does the whole table below (``translate``
plus ``replace``), so no extension (``unaccent``) is needed. The query side applies :func:`fold`,
which is the same table, so both sides meet.

Inflection is handled on the query side only (the index stays language-neutral, because a message's
language is often unknown or wrong): :func:`stem` strips one common inflectional ending of da, sv, nb,
pl or en from a word when at least ``MIN_STEM`` letters remain, and the word is then matched as a
prefix. ``forsinkelse`` becomes ``forsinkels*`` (finds *forsinkelsen*), ``forsinket`` becomes
``forsink*`` (finds *forsinkelse*, *forsinkede*), ``refunds`` becomes ``refund*``. Exact words are
still available as a quoted phrase.
"""

from __future__ import annotations

import re

# Latin letters (U+00C0–U+024F) and what they fold to; the same characters, in the same order, are
# written into the PostgreSQL function of migration 0005.
FOLD_SINGLE_FROM = (
    "ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝàáâãäåçèéêëìíîïðñòóôõöøùúûüýÿĀāĂăĄąĆćĈĉĊċČčĎďĐđĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥ"
    "ĦħĨĩĪīĬĭĮįİıĴĵĶķĹĺĻļĽľĿŀŁłŃńŅņŇňŉŊŋŌōŎŏŐőŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽžſƠơƯưǍǎǏǐǑǒǓǔ"
    "ǕǖǗǘǙǚǛǜǞǟǠǡǦǧǨǩǪǫǬǭǰǴǵǸǹǺǻȀȁȂȃȄȅȆȇȈȉȊȋȌȍȎȏȐȑȒȓȔȕȖȗȘșȚțȞȟȦȧȨȩȪȫȬȭȮȯȰȱȲȳ"
)
FOLD_SINGLE_TO = (
    "AAAAAACEEEEIIIIDNOOOOOOUUUUYaaaaaaceeeeiiiidnoooooouuuuyyAaAaAaCcCcCcCcDdDdEeEeEeEeEeGgGgGgGgHh"
    "HhIiIiIiIiIiJjKkLlLlLlLlLlNnNnNnnNnOoOoOoRrRrRrSsSsSsSsTtTtUuUuUuUuUuUuWwYyYZzZzZzsOoUuAaIiOoUu"
    "UuUuUuUuAaAaGgKkOoOojGgNnAaAaAaEeEeIiIiOoOoRrRrUuUuSsTtHhAaEeOoOoOoOoYy"
)
FOLD_MULTI = {
    "Æ": "AE",
    "æ": "ae",
    "Þ": "TH",
    "þ": "th",
    "ß": "ss",
    "Œ": "OE",
    "œ": "oe",
    "Ĳ": "IJ",
    "ĳ": "ij",
}
# The letters SQLite's unicode61 tokenizer does not fold by itself (no canonical decomposition); the
# SQLite trigger replaces exactly these.
SQLITE_EXTRA_FOLDS = {
    "ł": "l",
    "Ł": "l",
    "ø": "o",
    "Ø": "o",
    "æ": "ae",
    "Æ": "ae",
    "ß": "ss",
    "đ": "d",
    "Đ": "d",
    "ð": "d",
    "Ð": "d",
    "œ": "oe",
    "Œ": "oe",
    "þ": "th",
    "Þ": "th",
    "ħ": "h",
    "ı": "i",
}

_TABLE: dict[int, str] = {
    ord(source): target for source, target in zip(FOLD_SINGLE_FROM, FOLD_SINGLE_TO, strict=True)
} | {ord(source): target for source, target in FOLD_MULTI.items()}

# A word is a run of letters and digits (underscore and punctuation separate words), as in FTS5's
# unicode61 tokenizer and close to PostgreSQL's parser for the folded text.
WORD = re.compile(r"[^\W_]+")

MIN_STEM = 5
# Common inflectional endings of da, sv, nb, pl and en (after folding), longest first.
_ENDINGS = sorted(
    {
        # Danish / Norwegian
        "erne", "ene", "ende", "ede", "ens", "ets", "er", "en", "et", "te", "e", "s",
        # Swedish
        "arna", "orna", "erna", "ande", "arnas", "ornas", "ernas", "ar", "or", "na", "a",
        # Polish
        "ami", "ach", "ego", "emu", "ych", "ymi", "owi", "om", "ow", "ie", "ia", "y", "u", "i",
        # English
        "ing", "ed", "es", "ly",
    },
    key=len,
    reverse=True,
)  # fmt: skip


def fold(text: str) -> str:
    """``text`` lower-cased with Latin diacritics removed (``Żółty Østersund`` → ``zolty ostersund``)."""
    return text.translate(_TABLE).lower()


def words(text: str) -> list[str]:
    """The folded words of ``text``."""
    return WORD.findall(fold(text))


def stem(word: str) -> str:
    """``word`` (folded) without one common inflectional ending, if at least ``MIN_STEM`` letters stay."""
    if not word.isalpha():
        return word
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= MIN_STEM:
            return word[: -len(ending)]
    return word


def matches_term(token: str, term: str, *, prefix: bool) -> bool:
    """Whether the folded ``token`` of a text is matched by the query ``term``."""
    return token.startswith(term) if prefix else token == term
