"""Web chat: the widget script and its public endpoints (CORS limited to the channel's origins,
unknown key → 404, other sites → 403, oversize → 413, rate limits → 429), chat messages through the
normal ingest path as one conversation per visitor, agents' replies read back by the widget; and, in
Chromium, a plain HTML page on another origin with the one script tag, end to end, where a script
typed by the customer is shown as text and never runs."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from tilsvar import cli
from tilsvar.actions.webchat import do_connect_webchat_channel
from tilsvar.channels.webchat import RateLimiter, origin_allowed
from tilsvar.db import Database
from tilsvar.models import Brand, Channel, Conversation, Message

from conftest import Seeded
from helpers import auth

SITE = "https://www.nordicrail.example"
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
def chat(database: Database, seeded: Seeded) -> tuple[int, str]:
    with database.session() as session:
        channel = do_connect_webchat_channel(
            session, brand=session.get_one(Brand, seeded.rail.id), account="rail-web", allowed_origins=[SITE]
        )
        return channel.id, str(channel.config["public_key"])


def visitor() -> dict[str, str]:
    return {"Origin": SITE, "X-Visitor-Token": secrets.token_hex(24)}


def test_the_widget_script_is_served_for_a_known_key_only(client: TestClient, chat: tuple[int, str]) -> None:
    _, key = chat
    response = client.get(f"/widget/{key}.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/javascript")
    assert f'"key": "{key}"' in response.text
    assert "innerHTML" not in response.text  # all text goes in through textContent
    assert "http" not in response.text.replace('"base": "http://testserver"', "")  # no third parties
    assert client.get("/widget/not-a-key.js").status_code == 404


def test_a_visitor_posts_and_reads_back_their_chat_with_the_brands_reply(
    client: TestClient, chat: tuple[int, str], database: Database, seeded: Seeded, run_jobs: Any
) -> None:
    channel_id, key = chat
    headers = visitor()
    preflight = client.options(
        f"/api/widget/{key}/messages",
        headers={"Origin": SITE, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == SITE
    assert "X-Visitor-Token" in preflight.headers["access-control-allow-headers"]

    first = {"text": "Hej! Er toget til Aarhus aflyst?", "client_id": "abc12345"}
    posted = client.post(f"/api/widget/{key}/messages", json=first, headers=headers)
    assert posted.status_code == 201, posted.text
    assert posted.headers["access-control-allow-origin"] == SITE
    again = client.post(f"/api/widget/{key}/messages", json=first, headers=headers)
    assert again.json()["id"] == posted.json()["id"]  # a resent POST is not a second message
    client.post(f"/api/widget/{key}/messages", json={"text": "Og bussen?"}, headers=headers)

    with database.reader() as session:
        rows = list(
            session.scalars(select(Message).where(Message.channel_id == channel_id).order_by(Message.id))
        )
        conversation = session.get_one(Conversation, rows[0].conversation_id)
    assert [row.text for row in rows] == ["Hej! Er toget til Aarhus aflyst?", "Og bussen?"]
    assert {row.kind for row in rows} == {"chat"}
    assert {row.conversation_id for row in rows} == {conversation.id}
    assert conversation.waiting_since is not None

    # Another visitor is another conversation and never sees this one.
    other = visitor()
    client.post(f"/api/widget/{key}/messages", json={"text": "Hvor er mit hittegods?"}, headers=other)
    assert [
        m["text"] for m in client.get(f"/api/widget/{key}/messages", headers=other).json()["messages"]
    ] == ["Hvor er mit hittegods?"]

    reply = client.post(
        f"/api/v1/conversations/{conversation.id}/replies",
        json={"text": "Nej, det kører som planlagt."},
        headers=auth(seeded.agent_token),
    )
    assert reply.status_code == 202
    before = client.get(f"/api/widget/{key}/messages", headers=headers).json()["messages"]
    assert [m["direction"] for m in before] == ["in", "in"]  # queued, not sent yet
    run_jobs()
    after = client.get(f"/api/widget/{key}/messages", headers=headers)
    assert after.status_code == 200
    assert after.headers["access-control-allow-origin"] == SITE
    assert [(m["direction"], m["text"]) for m in after.json()["messages"]] == [
        ("in", "Hej! Er toget til Aarhus aflyst?"),
        ("in", "Og bussen?"),
        ("out", "Nej, det kører som planlagt."),
    ]
    with database.reader() as session:
        sent = session.scalars(select(Message).where(Message.direction == "out")).one()
    assert sent.delivery_state == "sent"


def test_unknown_keys_other_sites_bad_tokens_and_oversize_messages_are_refused(
    client: TestClient, chat: tuple[int, str]
) -> None:
    _, key = chat
    url = f"/api/widget/{key}/messages"
    assert client.post("/api/widget/nope/messages", json={"text": "x"}, headers=visitor()).status_code == 404
    assert client.get("/api/widget/nope/messages", headers=visitor()).status_code == 404
    evil = {**visitor(), "Origin": "https://evil.example"}
    refused = client.post(url, json={"text": "x"}, headers=evil)
    assert refused.status_code == 403
    assert "access-control-allow-origin" not in refused.headers
    assert client.get(url, headers=evil).status_code == 403
    assert client.options(url, headers={"Origin": "https://evil.example"}).status_code == 403
    no_origin = visitor()
    del no_origin["Origin"]
    assert client.post(url, json={"text": "x"}, headers=no_origin).status_code == 403
    assert (
        client.post(url, json={"text": "x"}, headers={"Origin": SITE, "X-Visitor-Token": "short"}).status_code
        == 401
    )
    assert client.post(url, json={"text": "x" * 2001}, headers=visitor()).status_code == 413
    assert client.post(url, content=b'{"text": "' + b"x" * 9000 + b'"}', headers=visitor()).status_code == 413
    assert client.post(url, content=b"not json", headers=visitor()).status_code == 400
    assert client.post(url, json={"text": "   "}, headers=visitor()).status_code == 422


def test_posting_is_rate_limited(
    client: TestClient, chat: tuple[int, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, key = chat
    monkeypatch.setattr("tilsvar.api.webchat.POSTS", RateLimiter(per_minute=1, burst=3))
    headers = visitor()
    codes = [
        client.post(f"/api/widget/{key}/messages", json={"text": f"spam {n}"}, headers=headers).status_code
        for n in range(5)
    ]
    assert codes == [201, 201, 201, 429, 429]


def test_origins_compare_scheme_host_and_port() -> None:
    allowed = ["https://www.nordicrail.example", "http://localhost:8080"]
    assert origin_allowed("https://www.nordicrail.example", allowed)
    assert origin_allowed("https://WWW.nordicrail.example:443", allowed)
    assert not origin_allowed("http://www.nordicrail.example", allowed)
    assert not origin_allowed("https://www.nordicrail.example.evil.example", allowed)
    assert not origin_allowed("http://localhost:8081", allowed)
    assert not origin_allowed("null", allowed)
    assert not origin_allowed(None, allowed)


def test_channels_add_webchat_prints_the_script_tag(database: Database, seeded: Seeded) -> None:
    result = CliRunner().invoke(
        cli.app,
        [
            "channels", "add", "--platform", "webchat", "--account", "fjord-web", "--brand", "market",
            "--allowed-origin", "https://fjordmarket.example",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with database.reader() as session:
        added = session.scalars(select(Channel).where(Channel.platform == "webchat")).one()
    assert added.config["allowed_origins"] == ["https://fjordmarket.example"]
    assert f'/widget/{added.config["public_key"]}.js" async></script>' in result.output
    refused = CliRunner().invoke(
        cli.app, ["channels", "add", "--platform", "webchat", "--account", "x-web", "--brand", "market"]
    )
    assert refused.exit_code != 0


# --- in a real browser --------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed (make chromium)")
def test_the_widget_on_a_plain_page_end_to_end_in_chromium(
    live_server: str, brand_site: tuple[str, dict[str, str]], database: Database, seeded: Seeded
) -> None:
    from playwright.sync_api import expect, sync_playwright

    site, pages = brand_site
    with database.session() as session:
        channel = do_connect_webchat_channel(
            session, brand=session.get_one(Brand, seeded.rail.id), account="rail-web", allowed_origins=[site]
        )
        channel_id, key = channel.id, str(channel.config["public_key"])
    pages["/"] = (
        "<!doctype html><html><head><meta charset=utf-8><title>Nordic Rail</title></head><body>"
        f'<h1>Nordic Rail</h1><script src="{live_server}/widget/{key}.js" async></script></body></html>'
    )
    payload = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
    requests: list[str] = []
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        )
        page = browser.new_page()
        page.on("request", lambda request: requests.append(request.url))
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(f"{site}/")
        widget = page.locator("[data-tilsvar-chat]")
        widget.get_by_role("button", name="Chat with Nordic Rail").click()
        box = widget.get_by_label("Message")
        box.fill("Hej, mit tog er forsinket")
        box.press("Enter")
        expect(widget.locator('li[data-direction="customer"]')).to_have_count(1)
        box.fill(payload)
        widget.get_by_role("button", name="Send").click()
        expect(widget.locator('li[data-direction="customer"]').nth(1)).to_have_text(payload)

        # It arrived in the inbox through the normal path.
        api = httpx.Client(base_url=live_server, headers=auth(seeded.agent_token))
        inbox = api.get("/api/v1/conversations", params={"view": "all"}).json()
        mine = [item for item in inbox["items"] if item.get("channel_id") == channel_id] or inbox["items"]
        with database.reader() as session:
            conversation_id = session.scalars(
                select(Conversation.id).where(Conversation.channel_id == channel_id)
            ).one()
        assert any(item["id"] == conversation_id for item in mine)
        texts = [m["text"] for m in api.get(f"/api/v1/conversations/{conversation_id}").json()["messages"]]
        assert texts == ["Hej, mit tog er forsinket", payload]

        # An agent answers; the in-process worker delivers, and the widget shows it.
        answer = "Beklager! Toget er ca. 10 min forsinket. <b>ikke fed</b>"
        assert (
            api.post(f"/api/v1/conversations/{conversation_id}/replies", json={"text": answer}).status_code
            == 202
        )
        expect(widget.locator('li[data-direction="brand"]')).to_have_text(answer, timeout=15000)
        api.close()

        assert page.evaluate("window.__pwned") is None
        assert widget.locator("img").count() == 0
        assert problems == []
        hosts = {url.split("/")[2] for url in requests}
        assert hosts <= {site.split("/")[2], live_server.split("/")[2]}  # no third-party requests
        browser.close()
