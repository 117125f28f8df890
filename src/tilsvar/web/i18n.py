"""The web UI in the agent's own language: English, Danish, Swedish, Norwegian (bokmål) and Polish.

Why this shape:

- The catalogs are gettext ``.po`` files under ``web/locale/<lang>/LC_MESSAGES/messages.po``; they are
  compiled in memory the first time a language is used (a few milliseconds), so no binary ``.mo`` file
  is committed or has to be built at install time.
- Each request renders with the language chosen for it (``choose_language``): the signed-in user's own
  setting, else the organisation's default, else the browser's ``Accept-Language``, else English. The
  language travels in the template *context* (``lang``), and the gettext callables installed on the
  shared jinja2 environment read it from there, so concurrent requests in different languages never
  see each other's words (no process-wide or context-variable state).
- Python-side labels (view names, page titles, error messages in ``web/``) are marked with ``N_`` so
  extraction finds them and are translated when the template shows them (``{{ title|t }}``).
- Dates and numbers go through Babel's CLDR formats (``|clock``, ``|day``, ``|number``, ``|percent``).

``tilsvar i18n extract|update|check`` (``make messages``) keeps the catalogs in step with the sources;
``tests/test_ui_languages.py`` fails when a word has no translation.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from functools import cache
from gettext import NullTranslations
from pathlib import Path
from typing import Any

from babel.core import Locale
from babel.dates import format_date, format_time
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.support import Translations
from jinja2 import Environment, pass_context
from jinja2.runtime import Context

from tilsvar.models.org import UI_LANGUAGES

DEFAULT_LANGUAGE = "en"
# Language code -> its own name (shown in the language menu in that language, as people look for it).
LANGUAGES: dict[str, str] = UI_LANGUAGES
TRANSLATED = tuple(code for code in LANGUAGES if code != DEFAULT_LANGUAGE)
# Browser language tags that mean one of ours (Norwegian is often sent as "no" or "nn").
_ALIASES = {"no": "nb", "nn": "nb", "nob": "nb", "dan": "da", "swe": "sv", "pol": "pl", "eng": "en"}

WEB_DIR = Path(__file__).parent
LOCALE_DIR = WEB_DIR / "locale"
DOMAIN = "messages"
# Where the words live: the web templates and the Python modules of the web UI.
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
METHOD_MAP = [("templates/**.html", "jinja2"), ("**.py", "python")]
# The weekly report is rendered for PDF by its own environment (tilsvar.reports), not by the web UI.
SKIPPED_TEMPLATES = ("templates/report_weekly.html", "templates/docs.html")


def N_(message: str) -> str:
    """Marks a Python string for extraction; it is translated where it is shown (``|t``)."""
    return message


def normalize(code: str | None) -> str:
    """One of ``LANGUAGES`` for a stored setting or language tag, or "" when it is none of ours."""
    if not code:
        return ""
    base = code.strip().replace("_", "-").split("-")[0].casefold()
    base = _ALIASES.get(base, base)
    return base if base in LANGUAGES else ""


def from_accept_language(header: str | None) -> str:
    """The best of our languages for an ``Accept-Language`` header, or "" when none fits."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        code = normalize(tag)
        if code and quality > 0:
            ranked.append((-quality, position, code))
    return min(ranked)[2] if ranked else ""


def choose_language(user_setting: str | None, organization_default: str | None, accept: str | None) -> str:
    """The user's own choice, else the organisation's default, else the browser's, else English."""
    return (
        normalize(user_setting)
        or normalize(organization_default)
        or from_accept_language(accept)
        or DEFAULT_LANGUAGE
    )


def catalog_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(language: str) -> NullTranslations:
    """The compiled catalog of a language (English is the source language: null translations)."""
    if language not in TRANSLATED:
        return NullTranslations()
    with catalog_path(language).open("rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


def _lang(context: Context) -> str:
    value = context.get("lang")
    return value if isinstance(value, str) and value in LANGUAGES else DEFAULT_LANGUAGE


@pass_context
def _gettext(context: Context, message: str) -> str:
    return translations(_lang(context)).gettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, count: int) -> str:
    return translations(_lang(context)).ngettext(singular, plural, count)


@pass_context
def translate(context: Context, message: str | None) -> str:
    """``{{ label|t }}``: a word chosen in Python (marked with ``N_``), shown in the page's language."""
    return translations(_lang(context)).gettext(message) if message else ""


def gettext_for(language: str) -> Callable[[str], str]:
    """Translation outside templates (e.g. a value placed in an HTTP header)."""
    return translations(normalize(language) or DEFAULT_LANGUAGE).gettext


def _locale(context: Context) -> Locale:
    return _babel_locale(_lang(context))


@cache
def _babel_locale(language: str) -> Locale:
    """Parsed once per process: Babel's formatting functions parse a locale name on every call."""
    return Locale.parse({"nb": "nb_NO", "en": "en_GB"}.get(language, language))


@pass_context
def clock(context: Context, value: datetime | str | None) -> str:
    """A moment in UTC: '2026-12-06 05:29 UTC' in English, '6. dec. 2026 05.29 UTC' in Danish
    (an ISO 8601 string is read first)."""
    if not value:
        return ""
    if isinstance(value, str):
        text = value
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            return text
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    if _lang(context) == DEFAULT_LANGUAGE:
        return value.strftime("%Y-%m-%d %H:%M UTC")
    locale = _locale(context)
    return f"{format_date(value, 'medium', locale=locale)} {format_time(value, 'short', locale=locale)} UTC"


@pass_context
def day(context: Context, value: date | datetime | None) -> str:
    """A date: '2026-12-06' in English, '6. dec. 2026' in Danish."""
    if value is None:
        return ""
    if _lang(context) == DEFAULT_LANGUAGE:
        return value.strftime("%Y-%m-%d")
    return format_date(value, "medium", locale=_locale(context))


@pass_context
def number(context: Context, value: float | None, digits: int = 0) -> str:
    """A number with the language's grouping and decimal signs: 12,345.6 / 12.345,6 / 12 345,6."""
    if value is None:
        return ""
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=_locale(context))


@pass_context
def percent(context: Context, value: float | None, digits: int = 1) -> str:
    """A share (0.25) as a percentage in the language's style: 25.0% / 25,0 % (the locale's own
    pattern, with ``digits`` decimals)."""
    if value is None:
        return ""
    locale = _locale(context)
    pattern = locale.percent_formats[None].pattern.split(";")[0]
    if digits:
        position = pattern.rindex("0") + 1
        pattern = pattern[:position] + "." + "0" * digits + pattern[position:]
    return format_percent(value, format=pattern, locale=locale)


@pass_context
def duration(context: Context, minutes: float | None) -> str:
    """Waiting time for people: '45 min', '3 h 12 min', '2 d 4 h' (in the page's language)."""
    if minutes is None:
        return ""
    gettext = translations(_lang(context)).gettext
    minutes = max(minutes, 0)
    if minutes < 60:
        return gettext("%(minutes)d min") % {"minutes": int(minutes)}
    hours, rest = divmod(int(minutes), 60)
    if hours < 24:
        return gettext("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": rest}
    days, hours = divmod(hours, 24)
    return gettext("%(days)d d %(hours)d h") % {"days": days, "hours": hours}


@pass_context
def countdown(context: Context, minutes: float | None) -> str:
    """'in 1 h 5 min', '12 min overdue' (in the page's language)."""
    if minutes is None:
        return ""
    gettext = translations(_lang(context)).gettext
    value = abs(minutes)
    hours, rest = divmod(int(value), 60)
    text = (
        gettext("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": rest}
        if hours
        else gettext("%(minutes)d min") % {"minutes": rest}
    )
    if minutes < 0:
        return gettext("%(time)s overdue") % {"time": text}
    return gettext("in %(time)s") % {"time": text}


def install(environment: Environment) -> None:
    """Per-render translations and locale-aware filters on the web UI's jinja2 environment."""
    environment.add_extension("jinja2.ext.i18n")
    environment.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=_gettext, ngettext=_ngettext, newstyle=True
    )
    environment.filters.update(
        t=translate,
        clock=clock,
        day=day,
        number=number,
        percent=percent,
        duration=duration,
        countdown=countdown,
    )
    environment.globals["languages"] = LANGUAGES


# --- catalogs: extraction, update, completeness -------------------------------------------------


def extract() -> Catalog:
    """Every word the web UI shows, from its templates and Python modules, as a template catalog."""
    catalog = Catalog(project="Tilsvar", domain=DOMAIN, charset="utf-8", fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
        str(WEB_DIR),
        method_map=METHOD_MAP,
        keywords=KEYWORDS,
        comment_tags=("Translators:",),
        options_map={"templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}},
    ):
        if filename in SKIPPED_TEMPLATES:
            continue
        catalog.add(message, None, [(f"web/{filename}", lineno)], auto_comments=comments, context=context)
    return catalog


def read_catalog(language: str) -> Catalog:
    with catalog_path(language).open("rb") as handle:
        return read_po(handle, locale=language)


def _message_ids(catalog: Iterable[Any]) -> set[Any]:
    return {message.id for message in catalog if message.id}


def problems(template: Catalog | None = None) -> dict[str, list[str]]:
    """Per language: the words missing, untranslated, fuzzy or no longer used (empty lists = complete)."""
    template = template or extract()
    wanted = _message_ids(template)
    report: dict[str, list[str]] = {}
    for language in TRANSLATED:
        found: list[str] = []
        if not catalog_path(language).exists():
            report[language] = ["catalog file missing"]
            continue
        catalog = read_catalog(language)
        have = _message_ids(catalog)
        found += [
            f"not in the catalog (run tilsvar i18n update): {key!r}" for key in sorted(wanted - have, key=str)
        ]
        found += [
            f"no longer used (run tilsvar i18n update): {key!r}" for key in sorted(have - wanted, key=str)
        ]
        for message in catalog:
            if not message.id or message.id not in wanted:
                continue
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if not all(strings):
                found.append(f"untranslated: {message.id!r}")
            elif message.fuzzy:
                found.append(f"fuzzy (check and clear the flag): {message.id!r}")
        report[language] = found
    return report


def update() -> dict[str, int]:
    """Merge newly extracted words into every catalog (kept translations stay); per language the
    number of words still without a translation."""
    template = extract()
    untranslated: dict[str, int] = {}
    for language in TRANSLATED:
        path = catalog_path(language)
        if path.exists():
            catalog = read_catalog(language)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(locale=language, domain=DOMAIN, project="Tilsvar", charset="utf-8")
        catalog.update(template, no_fuzzy_matching=True, update_creation_date=False)
        catalog.obsolete.clear()
        # A stable header: the catalogs change only when their words do.
        catalog.fuzzy = False
        catalog.creation_date = catalog.revision_date = _CATALOG_DATE
        catalog.version, catalog.copyright_holder = "", "the Tilsvar authors"
        catalog.last_translator = catalog.language_team = "Tilsvar <tilsvar@localhost>"
        catalog.msgid_bugs_address = "tilsvar@localhost"
        write_catalog(catalog, path)
        untranslated[language] = sum(1 for message in catalog if message.id and not all(_strings(message)))
    translations.cache_clear()
    return untranslated


_CATALOG_DATE = datetime(2026, 12, 6, tzinfo=UTC)


def _strings(message: Any) -> tuple[str, ...]:
    return message.string if isinstance(message.string, tuple) else (message.string,)


def write_catalog(catalog: Catalog, path: Path) -> None:
    from babel.messages.pofile import write_po

    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, omit_header=False, sort_output=False, include_lineno=False)
    path.write_bytes(buffer.getvalue())
