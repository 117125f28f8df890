"""FAQ suggestions where people type: in the web chat widget (customer side, through the widget's own
CORS-fenced endpoints, opening an article counted for deflection) and in the agent's reply box (the
answer inserted fitted to the channel: plain text, X within 280 characters). API-level tests, then
both in headless Chromium; and the read model answering keystrokes without a database read."""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tilsvar.actions.webchat import do_connect_webchat_channel
from tilsvar.channels.webchat import visitor_id
from tilsvar.db import Database
from tilsvar.models import Brand
from tilsvar.models.knowledge import FaqEvent
from tilsvar.settings import get_settings

from conftest import IngestFn, Seeded
from helpers import auth, sign_in

SITE = "https://www.nordicrail.example"
CHROMIUM = Path("/usr/bin/chromium")
DELAY = {
    "title": "Compensation for delays",
    "language": "en",
    "body": "**If** your train is more than 30 minutes late you get 50 % back. " * 12,
    "questions": ["Do I get money back when the train is late?", "delay compensation"],
    "url": "https://rail.example/delay",
}
BIKE = {
    "title": "Bikes <on> board",
    "language": "en",
    "body": "Yes, bikes travel free outside rush hour. See [the rules](https://rail.example/bike).",
    "questions": ["Can I bring my bicycle on the train?"],
    "url": "javascript:alert(1)",
}


def _articles(client: TestClient, seeded: Seeded) -> dict[str, int]:
    ids = {}
    for name, article in {"delay": DELAY, "bike": BIKE}.items():
        created = client.post(
            "/api/v1/faq/articles",
            json={**article, "brand_id": seeded.rail.id},
            headers=auth(seeded.admin_token),
        )
        assert created.status_code == 201, created.text
        ids[name] = created.json()["id"]
    return ids


def _chat(database: Database, seeded: Seeded, site: str) -> str:
    with database.session() as session:
        channel = do_connect_webchat_channel(
            session, brand=session.get_one(Brand, seeded.rail.id), account="rail-web", allowed_origins=[site]
        )
        return str(channel.config["public_key"])


def test_widget_suggests_articles_and_counts_an_open_without_a_message_as_deflected(
    client: TestClient, seeded: Seeded, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _articles(client, seeded)
    key = _chat(database, seeded, SITE)
    token = secrets.token_hex(24)
    headers = {"Origin": SITE, "X-Visitor-Token": token}
    found = client.get(f"/api/widget/{key}/faq", params={"q": "train was late, money back?"}, headers=headers)
    assert found.status_code == 200
    assert found.headers["access-control-allow-origin"] == SITE
    suggestions = found.json()["suggestions"]
    assert suggestions[0]["article_id"] == ids["delay"]
    assert set(suggestions[0]) == {"article_id", "title", "snippet", "url"}
    # Only web links reach the widget.
    bike = client.get(f"/api/widget/{key}/faq", params={"q": "bicycle", "language": "en-GB"}, headers=headers)
    assert bike.json()["suggestions"][0]["url"] == ""
    # Other sites, unknown keys and missing tokens are refused; preflight is answered.
    assert (
        client.get(
            f"/api/widget/{key}/faq", params={"q": "late"}, headers={"Origin": "https://evil.example"}
        ).status_code
        == 403
    )
    assert client.get("/api/widget/nope/faq", params={"q": "late"}, headers=headers).status_code == 404
    assert (
        client.post(f"/api/widget/{key}/faq/{ids['delay']}/open", headers={"Origin": SITE}).status_code == 401
    )
    preflight = client.options(
        f"/api/widget/{key}/faq/{ids['delay']}/open",
        headers={"Origin": SITE, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 204
    # Opening returns plain text and records the open for this visitor.
    opened = client.post(f"/api/widget/{key}/faq/{ids['delay']}/open", headers=headers, json={})
    assert opened.status_code == 200
    assert opened.json()["title"] == "Compensation for delays"
    assert "**" not in opened.json()["body"]
    with database.reader() as session:
        events = session.scalars(select(FaqEvent).where(FaqEvent.kind == "opened")).all()
        assert [(e.visitor, e.source, e.brand_id) for e in events] == [
            (visitor_id(token), "widget", seeded.rail.id)
        ]
    # An article of another brand is not offered through this chat.
    other = client.post(
        "/api/v1/faq/articles",
        json={**DELAY, "brand_id": seeded.market.id, "title": "Market only"},
        headers=auth(seeded.admin_token),
    ).json()["id"]
    assert client.post(f"/api/widget/{key}/faq/{other}/open", headers=headers, json={}).status_code == 404

    monkeypatch.setenv("TILSVAR_FAQ_DEFLECTION_MINUTES", "0")
    get_settings.cache_clear()
    stats = client.get("/api/v1/faq/stats", headers=auth(seeded.admin_token)).json()
    assert (stats["opened"], stats["deflected"], stats["contacted"]) == (1, 1, 0)


def test_a_visitor_who_opens_an_article_and_then_writes_counts_as_contacted(
    client: TestClient, seeded: Seeded, database: Database
) -> None:
    ids = _articles(client, seeded)
    key = _chat(database, seeded, SITE)
    headers = {"Origin": SITE, "X-Visitor-Token": secrets.token_hex(24)}
    assert (
        client.post(f"/api/widget/{key}/faq/{ids['bike']}/open", headers=headers, json={}).status_code == 200
    )
    posted = client.post(
        f"/api/widget/{key}/messages", headers=headers, json={"text": "Still unsure about bikes"}
    )
    assert posted.status_code == 201
    stats = client.get("/api/v1/faq/stats", headers=auth(seeded.admin_token)).json()
    assert (stats["opened"], stats["deflected"], stats["contacted"]) == (1, 0, 1)


def test_reply_box_suggests_answers_fitted_to_the_channel_and_records_inserts(
    client: TestClient, seeded: Seeded, database: Database, ingest: IngestFn
) -> None:
    ids = _articles(client, seeded)
    ingest(seeded.x_channel, "@NordicRailHelp my train is late again, do I get money back?", external_id="x1")
    csrf = sign_in(client, seeded.agent.email, seeded.password)
    with database.reader() as session:
        from tilsvar.models import Conversation

        conversation_id = session.scalars(select(Conversation.id)).one()
    page = client.get(f"/conversations/{conversation_id}").text
    assert f'hx-get="/conversations/{conversation_id}/faq"' in page
    # Before the agent types: suggestions for the customer's message.
    fragment = client.get(f"/conversations/{conversation_id}/faq").text
    answers = re.findall(r'data-faq-answer="([^"]*)"', fragment)
    assert answers, fragment
    first = answers[0].replace("&#34;", '"').replace("&amp;", "&").replace("&#39;", "'")
    assert len(first) <= 280
    assert first.endswith("https://rail.example/delay")
    assert "**" not in first
    # While the agent types: suggestions for what they type; customer-controlled words stay escaped.
    fragment = client.get(f"/conversations/{conversation_id}/faq", params={"text": "bicycle"}).text
    assert "Bikes &lt;on&gt; board" in fragment
    assert "the rules (https://rail.example/bike)" in fragment
    # Inserting is recorded (CSRF required).
    url = f"/conversations/{conversation_id}/faq/inserted"
    form = {"article_id": str(ids["bike"])}
    assert client.post(url, data=form).status_code == 403
    assert client.post(url, data={"article_id": "999"}, headers={"X-CSRF-Token": csrf}).status_code == 422
    assert client.post(url, data=form, headers={"X-CSRF-Token": csrf}).status_code == 204
    with database.reader() as session:
        kinds = session.scalars(select(FaqEvent.kind).where(FaqEvent.source == "agent")).all()
    assert kinds == ["inserted"]
    # Another brand's conversation is not reachable for a user without that brand.
    assert client.get("/conversations/999999/faq").status_code == 404


# --- in a real browser --------------------------------------------------------------------------


def _launch(playwright: Any) -> Any:
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
    )


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed (make chromium)")
def test_widget_shows_suggestions_while_typing_and_opens_an_article_in_chromium(
    live_server: str, brand_site: tuple[str, dict[str, str]], database: Database, seeded: Seeded
) -> None:
    import httpx
    from playwright.sync_api import expect, sync_playwright

    site, pages = brand_site
    with httpx.Client(base_url=live_server, headers=auth(seeded.admin_token)) as api:
        for article in (DELAY, BIKE):
            assert (
                api.post("/api/v1/faq/articles", json={**article, "brand_id": seeded.rail.id}).status_code
                == 201
            )
    key = _chat(database, seeded, site)
    pages["/"] = (
        '<!doctype html><html lang="en"><head><meta charset=utf-8><title>Nordic Rail</title></head><body>'
        f'<h1>Nordic Rail</h1><script src="{live_server}/widget/{key}.js" async></script></body></html>'
    )
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = _launch(playwright)
        page = browser.new_page()
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(f"{site}/")
        widget = page.locator("[data-tilsvar-chat]")
        widget.get_by_role("button", name="Chat with Nordic Rail").click()
        box = widget.get_by_label("Message")
        box.press_sequentially("my train was late, money back?", delay=20)
        suggestions = widget.locator("[data-tilsvar-faq] li button")
        expect(suggestions.first).to_have_text("Compensation for delays", timeout=10_000)
        suggestions.first.click()
        article = widget.locator("[data-tilsvar-article]")
        expect(article).to_be_visible()
        expect(article.locator("h2")).to_have_text("Compensation for delays")
        expect(article.get_by_role("link", name="Read more")).to_have_attribute(
            "href", "https://rail.example/delay"
        )
        # A bike question: a javascript: link is never offered, the title stays text.
        article.get_by_role("button", name="Back").click()
        box.fill("")
        box.press_sequentially("bicycle on the train", delay=20)
        expect(suggestions.first).to_have_text("Bikes <on> board", timeout=10_000)
        suggestions.first.click()
        expect(article.locator("h2")).to_have_text("Bikes <on> board")
        expect(article.get_by_role("link", name="Read more")).to_be_hidden()
        assert problems == []
        browser.close()
    with database.reader() as session:
        opened = session.scalars(select(FaqEvent.article_id).where(FaqEvent.kind == "opened")).all()
    assert len(opened) == 2


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed (make chromium)")
def test_reply_box_inserts_an_answer_fitted_to_x_in_chromium(
    live_server: str, seeded: Seeded, ingest: IngestFn, database: Database
) -> None:
    import httpx
    from playwright.sync_api import expect, sync_playwright

    with httpx.Client(base_url=live_server, headers=auth(seeded.admin_token)) as api:
        assert api.post("/api/v1/faq/articles", json={**DELAY, "brand_id": seeded.rail.id}).status_code == 201
    ingest(seeded.x_channel, "@NordicRailHelp train late again, money back?", external_id="x1")
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = _launch(playwright)
        page = browser.new_page()
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(f"{live_server}/login")
        page.get_by_label("E-mail").fill(seeded.agent.email)
        page.get_by_label("Password").fill(seeded.password)
        page.get_by_role("button", name="Sign in").click()
        page.locator("#inbox-rows a").first.click()
        box = page.get_by_label("Reply on X")
        suggestions = page.locator("#faq-suggestions")
        expect(suggestions).to_contain_text("Compensation for delays", timeout=10_000)
        box.press_sequentially("Hi! ", delay=20)
        suggestions.get_by_role("button", name="Insert answer").first.click()
        value = box.input_value()
        assert value.startswith("Hi!\n\nIf your train is more than 30 minutes late")
        assert value.endswith("https://rail.example/delay")
        count = page.locator("#reply-count").inner_text()
        length = int(count.split(" / ")[0])
        assert count.endswith("/ 280")
        assert length == len(value)
        assert problems == []
        browser.close()
    with database.reader() as session:
        kinds = session.scalars(select(FaqEvent.kind).where(FaqEvent.source == "agent")).all()
    assert kinds == ["inserted"]


def test_keystrokes_do_not_read_the_version_but_see_edits_from_other_nodes_within_the_check_interval(
    client: TestClient, seeded: Seeded, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import update

    from tilsvar.faq import service
    from tilsvar.models import utcnow
    from tilsvar.models.knowledge import FaqArticle

    ids = _articles(client, seeded)
    ask = {"q": "bicycle"}
    first = client.get("/api/v1/faq/suggest", params=ask, headers=auth(seeded.agent_token)).json()
    assert first["suggestions"][0]["title"] == "Bikes <on> board"
    # Another node changes the article (not through this process's actions): within the check
    # interval this process answers from its cached index without reading the version ...
    with database.session() as session:
        session.execute(
            update(FaqArticle)
            .where(FaqArticle.id == ids["bike"])
            .values(title="Bicycles", updated_at=utcnow())
        )
    monkeypatch.setattr(service, "VERSION_CHECK_SECONDS", 3600.0)
    cached = client.get("/api/v1/faq/suggest", params=ask, headers=auth(seeded.agent_token)).json()
    assert cached["suggestions"][0]["title"] == "Bikes <on> board"
    # ... and once the interval has passed it reads the version and rebuilds.
    monkeypatch.setattr(service, "VERSION_CHECK_SECONDS", 0.0)
    fresh = client.get("/api/v1/faq/suggest", params=ask, headers=auth(seeded.agent_token)).json()
    assert fresh["suggestions"][0]["title"] == "Bicycles"
