"""The web UI in a real browser (headless Debian Chromium driven by Playwright): sign in, see a new
message arrive live, reply and watch it become sent, with no console errors or CSP violations.
Writes the README screenshots to docs/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import IngestFn, Seeded

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed (make chromium)"),
]


@pytest.fixture
def page() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context(
            viewport={"width": 1280, "height": 800}, locale="en-GB", color_scheme="light"
        )
        yield context.new_page()
        context.close()
        browser.close()


def test_sign_in_live_inbox_reply_and_delivery(
    page: object, live_server: str, seeded: Seeded, ingest: IngestFn, monkeypatch: pytest.MonkeyPatch
) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    monkeypatch.setattr("tilsvar.channels.simulated.TRANSIENT_FAILURE_RATE", 0.0)
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))

    ingest(
        seeded.x_channel,
        "@NordicRailHelp Toget fra Odense er forsinket igen 😡",
        external_id="x1",
        author_name="Mette Hansen",
        minutes_ago=95,
    )
    ingest(
        seeded.fb_channel,
        "Hej, kan jeg få refunderet min billet?",
        external_id="f1",
        author_id="jens",
        author_name="Jens Nielsen",
        minutes_ago=42,
    )
    ingest(
        seeded.market_channel,
        "Har I åbent på søndag?",
        external_id="m1",
        author_id="sofie",
        author_name="Sofie Larsen",
        minutes_ago=12,
    )
    ingest(
        seeded.api_channel,
        "Appen viser ikke min billet",
        external_id="a1",
        author_id="ola",
        author_name="Ola Nordmann",
        minutes_ago=3,
        kind="chat",
    )

    page.goto(f"{live_server}/inbox")
    page.get_by_label("E-mail").fill(seeded.admin.email)
    page.get_by_label("Password").fill(seeded.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    expect(page.locator("#inbox-rows tr")).to_have_count(4)
    expect(page.locator("#live-status")).to_have_class("live-dot on")

    # A customer writes while the agent looks at the inbox: it appears without a reload.
    ingest(
        seeded.fb_channel,
        "Wifi virker ikke i toget igen…",
        external_id="f2",
        author_id="freja",
        author_name="Freja Jensen",
    )
    expect(page.locator("#inbox-rows")).to_contain_text("Wifi virker ikke i toget igen", timeout=10_000)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "inbox.png"))

    page.get_by_role("link", name="Jens Nielsen").click()
    expect(page.get_by_role("heading", name="Jens Nielsen", level=1)).to_be_visible()
    box = page.get_by_label("Reply on Facebook")
    box.fill("Hej Jens! Du kan søge refusion under 'Rejsetidsgaranti' på vores hjemmeside. /Astrid")
    expect(page.locator("#reply-count")).to_contain_text("/ 8000")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator("#thread .msg.out")).to_have_count(1)
    expect(page.locator("#thread .msg.out .delivery")).to_contain_text("sent", timeout=15_000)
    expect(box).to_have_value("")
    page.screenshot(path=str(SCREENSHOTS / "conversation.png"))

    page.goto(f"{live_server}/inbox")
    expect(page.locator("#inbox-rows")).not_to_contain_text("Jens Nielsen")
    assert problems == []


def test_x_reply_counter_warns_over_280(
    page: object, live_server: str, seeded: Seeded, ingest: IngestFn
) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    ingest(seeded.x_channel, "hej", external_id="x9")
    page.goto(f"{live_server}/login")
    page.get_by_label("E-mail").fill(seeded.agent.email)
    page.get_by_label("Password").fill(seeded.password)
    page.get_by_role("button", name="Sign in").click()
    page.locator("#inbox-rows a").first.click()
    page.get_by_label("Reply on X").fill("å" * 281)
    expect(page.locator("#reply-count")).to_have_text("281 / 280")
    expect(page.locator("#reply-count")).to_have_class("over")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("at most 280 characters")
