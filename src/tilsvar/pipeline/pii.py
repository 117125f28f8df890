"""Personal data in a message: e-mail addresses, phone numbers, payment cards, IBANs and national
identity numbers (DK CPR, SE personnummer/samordningsnummer, NO fødselsnummer/D-nummer, PL PESEL,
FI HETU), with Python string offsets, a redacted text for display, and ``pii_exposed`` when a customer
posted it in public (a comment or post), which raises priority and proposes hiding the comment.

Checksums come from python-stdnum and phonenumbers. Many random digit strings pass a checksum (a CPR
has only a date check, 10 % of 16-digit numbers pass Luhn, most 8-digit numbers are valid Danish
phone numbers), so the words around a number decide: "CPR", "personnummer", "ring" make an ID or phone
more likely; "ordre", "order", "booking", "faktura" make it an order number, which is not reported.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from tilsvar.pipeline.text import EMAIL_RE

if TYPE_CHECKING:
    from tilsvar.pipeline import TextItem

PUBLIC_KINDS = frozenset({"comment", "post", "mention", "reply", "tweet", "review"})

PLACEHOLDERS = {
    "email": "[EMAIL]",
    "phone": "[PHONE]",
    "payment_card": "[CARD]",
    "iban": "[IBAN]",
    "national_id.dk": "[CPR]",
    "national_id.se": "[PERSONNUMMER]",
    "national_id.no": "[FØDSELSNUMMER]",
    "national_id.pl": "[PESEL]",
    "national_id.fi": "[HETU]",
}

# Words before a number (within a few words) that say what it is.
_ID_WORDS = {
    "dk": r"cpr|cpr-?nr|cpr-?nummer|personnummer|personnr|person-?nummer",
    "se": r"personnummer|personnr|pnr|person-?nummer|samordningsnummer|samordningsnr|personnumret",
    "no": r"fødselsnummer|fødselsnr|fnr|personnummer|personnr|d-?nummer|fødselsnummeret|personnummeret",
    "pl": r"pesel|peselu|numer\s+pesel",
    "fi": r"hetu|henkilötunnus|henkilötunnukseni|sotu|sosiaaliturvatunnus|personbeteckning",
}
_ANY_ID_WORD = "|".join(_ID_WORDS.values()) + r"|ssn|social\s+security|id-?nummer|id\s+number|national\s+id"
_ORDER_WORDS = (
    r"ordre|ordren|ordrenr|ordrenummer|order|ordern|ordernummer|ordernr|bestilling|bestillingsnummer|"
    r"beställning|beställningsnummer|zamówienie|zamówienia|zamowienie|numer\s+zamówienia|tilaus|"
    r"tilausnumero|booking|bookingnummer|bokning|bokningsnummer|rezerwacja|rezerwacji|reference|ref|"
    r"referencenummer|referensnummer|referanse|faktura|fakturanummer|fakturanr|invoice|lasku|sag|sagsnr|"
    r"sagsnummer|ärende|ärendenummer|saksnummer|sak|sprawa|case|ticket|kundenummer|kundnummer|"
    r"kundenr|customer\s+number|tracking|sporing|sporingsnummer|spårning|kolli|kollinummer|pakke|"
    r"pakkenummer|paket|paketnummer|przesyłka|przesyłki|parcel|shipment|forsendelse|sendingsnummer|"
    r"varenummer|varenr|artikelnummer|artikkelnummer|item|sku|serienummer|serial|billet|billetnummer|"
    r"biljett|biljettnummer|bilett|ticketnummer|konto|kontonummer|kontonr|account|rejsekort|"
    r"medlemsnummer|medlemsnr|membership|transaktion|transaction|nr\.?|no\.?|#"
)
_PHONE_WORDS = (
    r"ring|ringe|ringer|ringa|tlf|tlf\.|telefon|telefonnummer|telefonnr|tel|tel\.|mobil|mobilnummer|"
    r"mobilnr|mob|mobile|phone|call|sms|text|whatsapp|nummer|numer|numeru|numerem|zadzwoń|dzwonić|"
    r"komórka|puhelin|puhelinnumero|soita|kontakt|contact|reach|nå|nås|når|træffes|treffes"
)
#: words that ask to be called or texted: a number right after them is a phone number even when
#: phonenumbers does not know its range (new or reserved ranges: "call me on +44 7700 900123")
_CALL_WORDS = (
    r"ring|ringe|ringer|ringa|tlf|tlf\.|telefon|telefonnummer|telefonnr|tel\.|mobil|mobilnummer|mobilnr|"
    r"mobile|phone|call|sms|text|whatsapp|zadzwoń|dzwonić|komórka|puhelin|puhelinnumero|soita"
)
_CARD_WORDS = (
    r"kort|kortet|kortnummer|kortnr|card|karta|karty|kartę|kortti|kreditkort|betalingskort|visa|"
    r"mastercard|dankort"
)

_WINDOW = 40  # characters before a number that count as its context


_FILLERS = (
    r"er|är|is|was|var|to|jest|mitt|min|mit|my|our|vores|vårt|vår|nr|no|number|nummer|numer|numret|"
    r"nummeret|numeru|numerem|kode|kod|code|id"
)


def _words_re(pattern: str) -> re.Pattern[str]:
    return re.compile(
        r"(?<![^\W_])(?:" + pattern + r")(?![^\W_])(?:\W+(?:" + _FILLERS + r")(?![^\W_]))*\W*$", re.I
    )


def _near_re(pattern: str) -> re.Pattern[str]:
    return re.compile(r"(?<![^\W_])(?:" + pattern + r")(?![^\W_])", re.I)


_ORDER_BEFORE = _words_re(_ORDER_WORDS)
_ORDER_NEAR = _near_re(_ORDER_WORDS)
_ID_NEAR = _near_re(_ANY_ID_WORD)
_PHONE_NEAR = _near_re(_PHONE_WORDS)
_CALL_NEAR = _near_re(_CALL_WORDS)
_CARD_NEAR = _near_re(_CARD_WORDS)
_COUNTRY_NEAR = {country: _near_re(words) for country, words in _ID_WORDS.items()}

_DIGITS_RE = re.compile(r"\d(?:[\s\-+./()]{0,2}\d){6,}")
_CARD_RE = re.compile(r"(?<![\d\w])(?:\d[ -]?){12,18}\d(?![\d\w])")
_IBAN_RE = re.compile(r"(?<![\w])[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){10,30}")
_TEN_RE = re.compile(r"(?<![\d\w\-+/.,])(\d{2})?(\d{6})([-+ ]?)(\d{4})(?![\d\w]|[-/.,]\d)")
_ELEVEN_RE = re.compile(r"(?<![\d\w\-+/.,])(\d{6})[ -]?(\d{5})(?![\d\w]|[-/.,]\d)")
_HETU_RE = re.compile(r"(?<![\d\w])\d{6}[-+ABCDEFYXWVU]\d{3}[0-9A-Y](?![\d\w])")
_PHONE_SHAPE_RE = re.compile(r"^\+|^00|^\(?\d{2,4}\)?[\s.-]\d")
_LANGUAGE_COUNTRY = {"da": "dk", "sv": "se", "nb": "no", "nn": "no", "pl": "pl", "fi": "fi"}
_LANGUAGE_REGIONS = {
    "da": ("DK",),
    "sv": ("SE", "FI"),
    "nb": ("NO",),
    "nn": ("NO",),
    "pl": ("PL",),
    "fi": ("FI",),
    "en": ("GB", "US", "IE"),
    "de": ("DE", "AT", "CH"),
}
_DEFAULT_REGIONS = ("DK", "SE", "NO", "PL", "FI", "GB")
_CARD_PREFIXES = re.compile(r"^(?:4|5[1-5]|2[2-7]|3[47]|6011|65|35|30[0-5]|36|38|50|56|57|58|6304|67)")


@dataclass(slots=True, frozen=True)
class Span:
    type: str
    start: int
    end: int

    def as_json(self) -> dict[str, Any]:
        return {"type": self.type, "start": self.start, "end": self.end}


def _before(text: str, start: int) -> str:
    return text[max(0, start - _WINDOW) : start]


def _around(text: str, start: int, end: int) -> str:
    return text[max(0, start - _WINDOW) : end + 20]


def _is_order_number(text: str, start: int) -> bool:
    """An order/booking/case number: an order word right before it and no ID word nearby."""
    before = _before(text, start)
    return bool(_ORDER_BEFORE.search(before)) and not _ID_NEAR.search(before)


def _date_ok(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _valid_se(digits: str) -> bool:
    from stdnum import luhn

    if not luhn.is_valid(digits):
        return False
    yy, month, day = int(digits[:2]), int(digits[2:4]), int(digits[4:6])
    if day > 60:  # samordningsnummer: day + 60 (month and day may be 00 when unknown)
        return 0 <= month <= 12 and day - 60 <= 31
    return _date_ok(2000 + yy, month, day) or _date_ok(1900 + yy, month, day)


def _valid_dk(digits: str) -> bool:
    from stdnum.dk import cpr

    return bool(cpr.is_valid(digits))


def _valid_no(digits: str) -> bool:
    from stdnum.no import fodselsnummer

    return bool(fodselsnummer.is_valid(digits))


def _valid_pl(digits: str) -> bool:
    from stdnum.pl import pesel

    return bool(pesel.is_valid(digits))


def _valid_fi(value: str) -> bool:
    from stdnum.fi import hetu

    return bool(hetu.is_valid(value.replace(" ", "-")))


def _country_hint(text: str, start: int, end: int, language: str | None) -> list[str]:
    """Countries in order of likelihood: named by a nearby ID word, then the message's language."""
    around = _around(text, start, end)
    named = [country for country, pattern in _COUNTRY_NEAR.items() if pattern.search(around)]
    by_language = _LANGUAGE_COUNTRY.get(language or "")
    if by_language and (by_language in named or not named):
        named.insert(0, by_language)
    elif by_language:
        named.append(by_language)
    return list(dict.fromkeys(named))


def _find_ids(text: str, language: str | None, taken: list[Span]) -> list[Span]:
    found: list[Span] = []
    for match in _HETU_RE.finditer(text):
        start, end = match.start(), match.end()
        value = match.group(0)
        finnish = (
            language == "fi"
            or value[-1].isalpha()
            or bool(_COUNTRY_NEAR["fi"].search(_around(text, start, end)))
        )
        if finnish and not _overlaps(start, end, taken) and _valid_fi(value):
            found.append(Span("national_id.fi", start, end))
    for match in _TEN_RE.finditer(text):
        century, body, separator, serial = match.groups()
        if century and century not in {"18", "19", "20"}:
            continue
        digits = body + serial
        start, end = match.start(), match.end()
        if _overlaps(start, end, taken + found) or _is_order_number(text, start):
            continue
        around = _around(text, start, end)
        id_context = bool(_ID_NEAR.search(around))
        hints = _country_hint(text, start, end, language)
        candidates: list[str] = []
        if _valid_se(digits):
            candidates.append("se")
        if not century and separator != "+" and _valid_dk(digits):
            candidates.append("dk")
        if not candidates:
            continue
        chosen = next((c for c in hints if c in candidates), None)
        if chosen is None:
            # unlabelled: a Luhn-valid date is a Swedish number; a CPR needs its dash or a word
            if "se" in candidates and (separator or century or id_context):
                chosen = "se"
            elif "dk" in candidates and (separator == "-" or id_context):
                chosen = "dk"
            elif "se" in candidates and not _ORDER_NEAR.search(_before(text, start)):
                chosen = "se"
        elif chosen == "dk" and not (separator == "-" or id_context or language == "da"):
            chosen = None
        if chosen:
            found.append(Span(f"national_id.{chosen}", start, end))
    for match in _ELEVEN_RE.finditer(text):
        digits = match.group(1) + match.group(2)
        start, end = match.start(), match.end()
        if _overlaps(start, end, taken + found) or _is_order_number(text, start):
            continue
        candidates = [c for c, ok in (("no", _valid_no(digits)), ("pl", _valid_pl(digits))) if ok]
        if not candidates:
            continue
        hints = _country_hint(text, start, end, language)
        chosen = next((c for c in hints if c in candidates), candidates[0])
        found.append(Span(f"national_id.{chosen}", start, end))
    return found


def _overlaps(start: int, end: int, spans: Sequence[Span]) -> bool:
    return any(start < span.end and span.start < end for span in spans)


def _find_ibans(text: str) -> list[Span]:
    from stdnum import iban

    found: list[Span] = []
    for match in _IBAN_RE.finditer(text):
        candidate = match.group(0)
        # the pattern may have eaten a following upper-case word: shorten until valid
        while len(candidate) >= 15:
            if iban.is_valid(candidate):
                found.append(Span("iban", match.start(), match.start() + len(candidate)))
                break
            candidate = candidate[:-1].rstrip()
    return found


def _find_cards(text: str, taken: list[Span]) -> list[Span]:
    from stdnum import luhn

    found: list[Span] = []
    for match in _CARD_RE.finditer(text):
        value = match.group(0).rstrip(" -")
        start, end = match.start(), match.start() + len(value)
        digits = re.sub(r"\D", "", value)
        if _overlaps(start, end, taken) or not 13 <= len(digits) <= 19:
            continue
        if not luhn.is_valid(digits) or not _CARD_PREFIXES.match(digits):
            continue
        grouped = bool(
            re.fullmatch(r"\d{4}([ -])\d{4}\1\d{4}\1\d{4}(?:\1?\d{1,3})?|\d{4} \d{6} \d{5}", value)
        )
        if _is_order_number(text, start) and not grouped:
            continue
        if grouped or len(digits) in {15, 16} or _CARD_NEAR.search(_around(text, start, end)):
            found.append(Span("payment_card", start, end))
    return found


@lru_cache(maxsize=1)
def _phonenumbers() -> Any:
    import phonenumbers

    return phonenumbers


def _find_phones(text: str, language: str | None, taken: list[Span]) -> list[Span]:
    phonenumbers = _phonenumbers()
    regions = _LANGUAGE_REGIONS.get(language or "", ()) + _DEFAULT_REGIONS
    found: list[Span] = []
    for region in dict.fromkeys(regions):
        for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
            start, end = match.start, match.end
            if _overlaps(start, end, taken + found):
                continue
            raw = match.raw_string
            digits = re.sub(r"\D", "", raw)
            before = _before(text, start)
            if _is_order_number(text, start) and not _PHONE_NEAR.search(before):
                continue
            if re.fullmatch(r"\d{1,4}[./-]\d{1,2}[./-]\d{2,4}", raw.strip()):
                continue  # a date
            international = raw.startswith(("+", "00"))
            if region not in regions[:1] and not international and not _PHONE_NEAR.search(before):
                continue  # a national number of a region the message has no reason to use
            if len(digits) < 8 and not (international or _PHONE_NEAR.search(before)):
                continue
            found.append(Span("phone", start, end))
    return found + _possible_phones(text, regions[0], taken + found)


def _possible_phones(text: str, region: str, taken: list[Span]) -> list[Span]:
    """Numbers of a possible length that phonenumbers does not hold valid, right after a word that asks
    to be called ("call me on", "ring til mig på"): masked too, since a message that asks to be called
    gives its number, whatever range it is in. Not after an order word, and eight digits or more."""
    if not _CALL_NEAR.search(text):
        return []  # most messages: no second pass of the matcher
    phonenumbers = _phonenumbers()
    found: list[Span] = []
    for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.POSSIBLE):
        start, end = match.start, match.end
        before = _before(text, start)
        if _overlaps(start, end, taken + found) or not _CALL_NEAR.search(before):
            continue
        if _is_order_number(text, start) or len(re.sub(r"\D", "", match.raw_string)) < 8:
            continue
        found.append(Span("phone", start, end))
    return found


def find(text: str, language: str | None = None) -> list[Span]:
    """Every personal-data span in ``text``, sorted, not overlapping."""
    spans: list[Span] = [Span("email", m.start(), m.end()) for m in EMAIL_RE.finditer(text)]
    if _DIGITS_RE.search(text):
        spans += _find_ibans(text)
        spans += _find_cards(text, spans)
        spans += _find_ids(text, language, spans)
        spans += _find_phones(text, language, spans)
    return sorted(spans, key=lambda span: span.start)


def redact(text: str, spans: Sequence[Span], placeholder: Callable[[Span], str] | None = None) -> str:
    """``text`` with each span replaced by its placeholder ([CPR], [EMAIL], ...)."""
    parts: list[str] = []
    position = 0
    for span in sorted(spans, key=lambda s: s.start):
        parts += [text[position : span.start], placeholder(span) if placeholder else PLACEHOLDERS[span.type]]
        position = span.end
    parts.append(text[position:])
    return "".join(parts)


class PiiStage:
    name = "pii"

    def run(self, items: Sequence[TextItem]) -> None:
        for item in items:
            spans = find(item.text, item.analysis.get("language"))
            item.analysis["pii"] = [span.as_json() for span in spans]
            item.analysis["redacted"] = redact(item.text, spans) if spans else item.text
            public = (item.context.get("public") is True) or (
                item.context.get("public") is None and item.kind in PUBLIC_KINDS
            )
            exposed = bool(spans) and public
            item.analysis.setdefault("details", {})["pii_exposed"] = exposed
