"""The web UI in the agent's own language: a user picks Danish on the account page and every page,
date and number follows; the default comes from the organisation, else the browser; concurrent
requests in different languages never mix. And the catalogs: every word the UI shows has a non-empty
translation in every language, with the same placeholders, and the catalogs match the sources."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from babel.dates import format_date
from babel.messages.pofile import read_po, write_po
from fastapi.testclient import TestClient
from sqlalchemy import select

from tilsvar.actions.csat import survey_token
from tilsvar.db import Database
from tilsvar.models import AuditEntry, Conversation, Message, Organization, User
from tilsvar.models.workflow import CsatSurvey
from tilsvar.web import i18n
from tilsvar.web.routes import templates

from conftest import IngestFn, Seeded

TEMPLATES = Path(i18n.__file__).parent / "templates"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def csrf_in(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    return match.group(1)


def sign_in(client: TestClient, email: str, password: str) -> str:
    response = client.post("/login", data={"email": email, "password": password}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return csrf_in(client.get("/account").text)


def test_a_user_who_picks_danish_gets_danish_pages_dates_and_numbers(
    client: TestClient, seeded: Seeded, ingest: IngestFn, database: Database
) -> None:
    ingest(seeded.x_channel, "Toget er forsinket", external_id="x1", minutes_ago=200)
    csrf = sign_in(client, seeded.agent.email, seeded.password)
    english = client.get("/inbox").text
    assert '<html lang="en">' in english
    assert ">Inbox<" in english
    assert "3 h 20 min" in english

    chosen = client.post(
        "/account/language", data={"csrf_token": csrf, "language": "da"}, follow_redirects=False
    )
    assert chosen.status_code == 303
    inbox = client.get("/inbox").text
    assert '<html lang="da">' in inbox
    assert ">Indbakke<" in inbox
    assert "Ubesvarede" in inbox  # a view name chosen in Python, shown through the catalog
    assert "3 t 20 min" in inbox  # waiting time in Danish units
    assert ">Inbox<" not in inbox
    assert "Toget er forsinket" in inbox  # customer text is never translated

    conversation_id = re.search(r"/conversations/(\d+)", inbox)
    assert conversation_id
    page = client.get(f"/conversations/{conversation_id.group(1)}").text
    received = format_date(datetime.now(UTC) - timedelta(minutes=200), "medium", locale="da")
    assert received in page  # the message's day, e.g. "6. dec. 2026", not "2026-12-06"
    assert "Svar på X" in page
    account = client.get("/account").text
    assert "Sprog i Tilsvar for dig" in account
    assert re.search(r'<option value="da" lang="da" selected>Dansk</option>', account)

    with database.reader() as session:
        user = session.get(User, seeded.agent.id)
        assert user is not None
        assert user.locale == "da"
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "user.language_changed")).all()
        assert [row.details for row in audit] == [{"from": "", "to": "da"}]

    # back to automatic: English again (no organisation default, no Accept-Language)
    client.post("/account/language", data={"csrf_token": csrf, "language": ""})
    assert ">Inbox<" in client.get("/inbox").text
    refused = client.post("/account/language", data={"csrf_token": csrf, "language": "xx"})
    assert refused.status_code == 400


def test_the_default_is_the_organisation_then_the_browser(
    client: TestClient, seeded: Seeded, database: Database
) -> None:
    swedish_browser = {"Accept-Language": "sv-SE,sv;q=0.9,en;q=0.5"}
    assert "Logga in" in client.get("/login", headers=swedish_browser).text  # not signed in yet
    assert "Logg inn" in client.get("/login", headers={"Accept-Language": "no, en;q=0.2"}).text
    assert "Sign in" in client.get("/login", headers={"Accept-Language": "de-DE, fr;q=0.8"}).text

    csrf = sign_in(client, seeded.agent.email, seeded.password)
    assert ">Inkorg<" in client.get("/inbox", headers=swedish_browser).text
    # only administrators set the organisation's default
    refused = client.post(
        "/account/language", data={"csrf_token": csrf, "language": "", "organization_language": "nb"}
    )
    assert refused.status_code == 403
    client.post("/logout", data={"csrf_token": csrf})

    admin_csrf = sign_in(client, seeded.admin.email, seeded.password)
    assert 'id="organization-language"' in client.get("/account").text
    client.post(
        "/account/language", data={"csrf_token": admin_csrf, "language": "", "organization_language": "nb"}
    )
    with database.reader() as session:
        organization = session.get(Organization, seeded.org.id)
        assert organization is not None
        assert organization.locale == "nb"
    client.post("/logout", data={"csrf_token": admin_csrf})

    csrf = sign_in(client, seeded.agent.email, seeded.password)
    assert ">Innboks<" in client.get("/inbox", headers=swedish_browser).text  # organisation beats browser
    client.post("/account/language", data={"csrf_token": csrf, "language": "pl"})
    assert ">Skrzynka<" in client.get("/inbox", headers=swedish_browser).text  # own choice beats both


@contextmanager
def two_users(client: TestClient, seeded: Seeded) -> Iterator[tuple[TestClient, TestClient]]:
    """Two more signed-in clients on the same app: the agent in Danish, the supervisor in Polish."""
    with TestClient(client.app) as danish, TestClient(client.app) as polish:
        for other, user, language in ((danish, seeded.agent, "da"), (polish, seeded.supervisor, "pl")):
            csrf = sign_in(other, user.email, seeded.password)
            other.post("/account/language", data={"csrf_token": csrf, "language": language})
        yield danish, polish


def test_concurrent_requests_in_different_languages_never_mix(client: TestClient, seeded: Seeded) -> None:
    def fetch(pair: tuple[TestClient, str]) -> tuple[str, str]:
        return pair[1], pair[0].get("/inbox").text

    with two_users(client, seeded) as (danish, polish), ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(fetch, [(danish, "da"), (polish, "pl")] * 8))
    for language, page in results:
        assert f'<html lang="{language}">' in page
        if language == "da":
            assert ">Indbakke<" in page
            assert "Skrzynka" not in page
        else:
            assert ">Skrzynka<" in page
            assert "Indbakke" not in page


@pytest.mark.parametrize(
    ("language", "number", "percent", "clock"),
    [
        ("en", "12,345.5", "25.0%", "2026-03-05 14:07 UTC"),
        ("da", "12.345,5", "25,0\u00a0%", "5. mar. 2026 14.07 UTC"),
        ("sv", "12\u00a0345,5", "25,0\u00a0%", "5 mars 2026 14:07 UTC"),
        ("nb", "12\u00a0345,5", "25,0\u00a0%", "5. mars 2026 14:07 UTC"),
        ("pl", "12\u00a0345,5", "25,0%", "5 mar 2026 14:07 UTC"),
    ],
)
def test_numbers_and_dates_follow_the_language(language: str, number: str, percent: str, clock: str) -> None:
    render = templates.env.from_string("{{ 12345.5|number(1) }}|{{ 0.25|percent }}|{{ moment|clock }}").render
    moment = datetime(2026, 3, 5, 14, 7, tzinfo=UTC)
    assert render(lang=language, moment=moment).split("|") == [number, percent, clock]


def test_every_word_has_a_translation_in_every_catalog_and_catalogs_match_the_sources() -> None:
    report = i18n.problems()
    assert set(report) == {"da", "sv", "nb", "pl"}
    assert report == {language: [] for language in report}, (
        "run `make messages` and translate:\n"
        + "\n".join(f"{language}: {problem}" for language, found in report.items() for problem in found[:20])
    )


def test_translations_keep_the_placeholders_of_their_source() -> None:
    for language in i18n.TRANSLATED:
        for message in i18n.read_catalog(language):
            if not message.id:
                continue
            sources = [str(part) for part in (message.id if isinstance(message.id, tuple) else (message.id,))]
            strings = [
                str(part)
                for part in (message.string if isinstance(message.string, tuple) else (message.string,))
            ]
            wanted = set(PLACEHOLDER.findall(sources[-1])) | set(PLACEHOLDER.findall(sources[0]))
            for string in strings:
                assert set(PLACEHOLDER.findall(string)) <= wanted, (language, message.id, string)
                if not isinstance(message.id, tuple):  # plural forms may leave the count out
                    assert set(PLACEHOLDER.findall(string)) == wanted, (language, message.id, string)


def test_the_check_fails_on_a_missing_or_stale_translation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(i18n.LOCALE_DIR, tmp_path / "locale")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path / "locale")
    path = i18n.catalog_path("sv")
    with path.open("rb") as handle:
        catalog = read_po(handle, locale="sv")
    catalog["Inbox"].string = ""
    catalog.delete("Sign out")
    catalog.add("A word nobody uses any more", "Ett ord")
    with path.open("wb") as handle:
        write_po(handle, catalog)
    found = i18n.problems()["sv"]
    assert "untranslated: 'Inbox'" in found
    assert any("not in the catalog" in problem and "'Sign out'" in problem for problem in found)
    assert any("no longer used" in problem and "A word nobody uses" in problem for problem in found)
    assert i18n.problems()["da"] == []


def _unmarked_words(source: str) -> list[str]:
    """Text between tags and template code that contains letters but is not inside ``_()``."""
    without_code = re.sub(r"<(code|pre|script|style)\b.*?</\1>|<meta [^\n]*>", "", source, flags=re.S)
    parts = re.split(
        r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}|<(?:[^>{]|\{\{.*?\}\}|\{%.*?%\})*>", without_code, flags=re.S
    )
    words = [part.strip() for part in parts if re.search(r"[A-Za-z]", part) and part.strip() not in ALLOWED]
    attributes = re.findall(r'\b(?:title|placeholder|aria-label|alt)="([^"{]*[A-Za-z][^"{]*)"', without_code)
    return words + [value for value in attributes if value not in ALLOWED]


# Product names, file names and search syntax stay as they are in every language.
ALLOWED = {
    "Tilsvar",
    "· Tilsvar",
    "API",
    "routing-rules.yaml",
    "facebook",
    "auth.",
    "channel: brand: lang: intent: sentiment: status: from: to: has:pii author:",
}


@pytest.mark.parametrize(
    "name",
    sorted(
        path.name for path in TEMPLATES.glob("*.html") if path.name not in ("report_weekly.html", "docs.html")
    ),
)
def test_templates_show_no_unmarked_words(name: str) -> None:
    assert _unmarked_words((TEMPLATES / name).read_text(encoding="utf-8")) == []


def test_confirmations_after_a_redirect_are_in_the_readers_language(
    client: TestClient, seeded: Seeded, ingest: IngestFn
) -> None:
    ingest(seeded.x_channel, "Toget er forsinket", external_id="x1")
    csrf = sign_in(client, seeded.admin.email, seeded.password)
    conversation_id = re.search(r"/conversations/(\d+)", client.get("/inbox").text)
    assert conversation_id
    client.post("/account/language", data={"csrf_token": csrf, "language": "da"})
    page = client.post(
        "/admin/privacy/holds",
        data={"csrf_token": csrf, "conversation_id": conversation_id.group(1), "reason": "retssag"},
    )
    assert f"Samtale {conversation_id.group(1)} er tilbageholdt af retlige grunde." in page.text
    # a made-up message in the URL is only text: escaped like any other
    odd = client.get("/admin/privacy", params={"done": "<b>%(x)s</b>", "v_x": "<i>"}).text
    assert "&lt;b&gt;&lt;i&gt;&lt;/b&gt;" in odd
    assert "<b>" not in odd


def test_the_customers_survey_page_speaks_the_conversations_language(
    client: TestClient, seeded: Seeded, ingest: IngestFn, database: Database
) -> None:
    message_id = ingest(seeded.fb_channel, "Mit kort er spærret", external_id="root")
    with database.session() as session:
        conversation_id = session.scalar(select(Message.conversation_id).where(Message.id == message_id))
        conversation = session.get(Conversation, conversation_id)
        assert conversation is not None
        conversation.language = "sv"
        survey = CsatSurvey(conversation_id=conversation.id)
        session.add(survey)
        session.flush()
        token = survey_token(survey.id)
    page = client.get(f"/csat/{token}", headers={"Accept-Language": "en"}).text
    assert '<html lang="sv">' in page
    assert "Hur tycker du att vi skötte det?" in page
    assert "Bra" in page  # the faces' words too
    with database.session() as session:
        conversation = session.get(Conversation, conversation_id)
        assert conversation is not None
        conversation.language = "de"  # not a UI language: the browser's
    assert "Jak oceniasz naszą pomoc?" in client.get(f"/csat/{token}", headers={"Accept-Language": "pl"}).text


def test_every_intent_the_pipeline_can_give_has_a_word_in_the_catalogs() -> None:
    from tilsvar.pipeline.intent import INTENTS
    from tilsvar.web import labels

    assert set(labels.INTENTS) == set(INTENTS)
    assert i18n.translations("da").gettext("sales_lead") == "salgsmulighed"


def test_chart_words_reach_the_static_scripts_in_the_page_language(
    client: TestClient, seeded: Seeded
) -> None:
    csrf = sign_in(client, seeded.admin.email, seeded.password)
    client.post("/account/language", data={"csrf_token": csrf, "language": "nb"})
    page = client.get("/dashboard").text
    block = re.search(r'<script type="application/json" id="ui-words">(.*?)</script>', page)
    assert block
    words = json.loads(block.group(1))
    assert words["Happy"] == "Fornøyd"
    assert words["green: within the %(minutes)s min target"] == "grønn: innenfor målet på %(minutes)s min"
    assert words["complaint"] == "klage"
