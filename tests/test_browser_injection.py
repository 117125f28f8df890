"""Customer text can never run in an agent's browser: script, HTML, SVG, `javascript:` links,
markdown and template payloads arrive as customer messages through the generic API channel and a
signed Meta webhook (with a hostile author name too), and a real browser (Debian Chromium) opens the
inbox and each conversation: no dialog opens, no injected element exists, no script flag is set, the
payloads show as plain text, and the page reports no Content-Security-Policy violation at all."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tilsvar.channels import meta
from tilsvar.db import Database
from webhook_support import connect

from conftest import Seeded

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]
PAGE_ID = "448242228374517"
APP_SECRET = "meta-app-secret"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed (make chromium)"),
]

PAYLOADS = [
    "<script>window.__xss = 'script'; alert(1)</script>",
    '<img src="x" data-injected="img" onerror="window.__xss=\'img\'; alert(2)">',
    '<svg data-injected="svg" onload="window.__xss=\'svg\'"></svg>',
    '"><iframe data-injected="iframe" src="javascript:window.__xss=\'iframe\'"></iframe>',
    "[click me](javascript:window.__xss='markdown') **bold** <b data-injected=\"b\">b</b>",
    "{{ 7*7 }} {% raw %} ${7*7} <style>body { display: none }</style>",
    '<a href="javascript:alert(3)" data-injected="a">pay here</a> &lt;escaped&gt; &amp;',
]
HOSTILE_NAME = '<img src=x data-injected="name" onerror="alert(4)">'

WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__violations.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile);
});
"""


@pytest.fixture
def page() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.add_init_script(WATCH)
        yield context.new_page()
        context.close()
        browser.close()


def _deliver(live_server: str, database: Database, seeded: Seeded) -> None:
    auth = {"Authorization": f"Bearer {seeded.admin_token}"}
    for index, payload in enumerate(PAYLOADS):
        response = httpx.post(
            f"{live_server}/api/v1/inbound",
            headers=auth,
            json={
                "account": "rail-app",
                "external_id": f"xss-{index}",
                "author": {"id": f"attacker-{index}", "name": HOSTILE_NAME, "handle": "<b>h</b>"},
                "text": payload,
            },
        )
        assert response.status_code == 201, response.text
    connect(
        database,
        seeded.rail,
        platform="facebook",
        account="NordicRailPage",
        account_id=PAGE_ID,
        credentials={"app_secret": APP_SECRET, "verify_token": "v", "access_token": "t"},
    )
    for index, payload in enumerate(PAYLOADS[:3]):
        body = {
            "object": "page",
            "entry": [
                {
                    "id": PAGE_ID,
                    "time": 1742667606,
                    "changes": [
                        {
                            "field": "feed",
                            "value": {
                                "from": {"id": f"fb-attacker-{index}", "name": HOSTILE_NAME},
                                "post_id": f"{PAGE_ID}_1",
                                "comment_id": f"{PAGE_ID}_c{index}",
                                "parent_id": f"{PAGE_ID}_1",
                                "created_time": 1742667604 + index,
                                "item": "comment",
                                "verb": "add",
                                "message": payload,
                            },
                        }
                    ],
                }
            ],
        }
        raw = json.dumps(body).encode()
        response = httpx.post(
            f"{live_server}/webhooks/meta",
            content=raw,
            headers={"Content-Type": "application/json", meta.SIGNATURE_HEADER: meta.sign(raw, APP_SECRET)},
        )
        assert response.status_code == 200, response.text


def _assert_inert(page: object, dialogs: list[str]) -> None:
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    assert dialogs == []
    assert page.evaluate("window.__xss === undefined")
    injected = page.evaluate(
        "document.querySelectorAll('[data-injected], iframe, svg[onload], img[onerror], "
        'a[href^="javascript:"]\')'
        ".length"
    )
    assert injected == 0
    assert page.evaluate("window.__violations") == []


def test_customer_payloads_never_execute(
    page: object, live_server: str, database: Database, seeded: Seeded
) -> None:
    from playwright.sync_api import Dialog, Page, expect

    assert isinstance(page, Page)
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    _deliver(live_server, database, seeded)

    page.goto(f"{live_server}/login")
    page.get_by_label("E-mail").fill(seeded.admin.email)
    page.get_by_label("Password").fill(seeded.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    page.goto(f"{live_server}/inbox?view=all")
    # The webhook deliveries are processed by the server's worker; wait for all of them.
    for _ in range(40):
        if page.locator("#inbox-rows tr").count() >= len(PAYLOADS) + 3:
            break
        page.wait_for_timeout(250)
        page.reload()
    expect(page.locator("#inbox-rows tr")).to_have_count(len(PAYLOADS) + 3)
    _assert_inert(page, dialogs)

    links = [
        link.get_attribute("href") for link in page.locator("#inbox-rows a[href^='/conversations/']").all()
    ]
    assert len(set(links)) == len(PAYLOADS) + 3
    shown = ""
    for href in sorted(set(links), key=str):
        page.goto(f"{live_server}{href}")
        expect(page.locator("#thread")).to_be_visible()
        page.wait_for_timeout(100)
        _assert_inert(page, dialogs)
        shown += page.locator("#thread").inner_text()
    for payload in PAYLOADS:
        assert payload.split(">", 1)[0] in shown or payload[:20] in shown  # shown as text, not markup
    assert "<script>window.__xss" in shown
    assert "{{ 7*7 }}" in shown
    # {{ 7*7 }} was not evaluated anywhere (the messages' times, "2026-12-07 01:49 UTC", aside)
    assert "49" not in re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", "", shown)
