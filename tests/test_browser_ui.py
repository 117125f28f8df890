"""The agent's day in a real browser (issue 9), headless Debian Chromium driven by Playwright: triage a
queue by keyboard, the ? dialog, live view counts, reply on each platform kind, send and resolve with
the satisfaction survey, hide an abusive comment and undo, reveal personal data after a supervisor's
approval, light and dark themes at laptop and tablet widths, and axe-core on the main pages with no
serious or critical violation. Step screenshots go to test-artifacts/browser/; the README's to
docs/screenshots/."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tilsvar.actions.org import do_create_channel
from tilsvar.db import Database
from tilsvar.events import ConversationUpdated, record_events
from tilsvar.models import Brand, Channel, Message, Team

from conftest import IngestFn, Seeded

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "docs" / "screenshots"
ARTIFACTS = ROOT / "test-artifacts" / "browser"
AXE = ROOT / "src" / "tilsvar" / "web" / "static" / "vendor" / "axe-core" / "axe.min.js"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
# What the accessibility check runs: WCAG 2.1 A/AA plus axe's best practices.
AXE_RUN = """async () => {
  const result = await axe.run(document, {runOnly: {type: "tag",
      values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
      targets: v.nodes.slice(0, 5).map(n => n.target.join(" "))}));
}"""

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed (make chromium)"),
]

Browser = Callable[..., Any]


@pytest.fixture
def new_page() -> Iterator[Browser]:
    """Pages in separate browser contexts (two people at once), each collecting console errors."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        contexts = []

        def make(width: int = 1280, height: int = 800, scheme: str = "light") -> Any:
            context = browser.new_context(
                viewport={"width": width, "height": height},
                locale="en-GB",
                color_scheme="dark" if scheme == "dark" else "light",
            )
            contexts.append(context)
            page: Any = context.new_page()
            problems: list[str] = []
            page.problems = problems

            def on_console(message: Any) -> None:
                if message.type == "error":
                    problems.append(f"{message.text} @ {message.location}")

            def on_error(error: Any) -> None:
                problems.append(str(error))

            page.on("console", on_console)
            page.on("pageerror", on_error)
            return page

        yield make
        for context in contexts:
            context.close()
        browser.close()


def sign_in(page: Any, base: str, email: str, password: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{base}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()


def shot(page: Any, name: str, *, docs: bool = False) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    if docs:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def axe_violations(page: Any, name: str) -> list[dict[str, Any]]:
    """Run axe-core (loaded from the app's own origin, so the strict CSP allows it) and keep the result."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(url="/static/vendor/axe-core/axe.min.js")
    violations: list[dict[str, Any]] = page.evaluate(AXE_RUN)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"axe-{name}.json").write_text(json.dumps(violations, indent=1))
    return violations


def serious(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [v for v in violations if v["impact"] in ("serious", "critical")]


def no_sideways_scroll(page: Any) -> None:
    overflow = page.evaluate(
        "() => [document.documentElement.scrollWidth - document.documentElement.clientWidth,"
        " document.querySelector('.topbar').scrollWidth - document.querySelector('.topbar').clientWidth]"
    )
    assert overflow == [0, 0], overflow


def test_keyboard_triage_live_counts_themes_and_accessibility(
    new_page: Browser, live_server: str, seeded: Seeded, ingest: IngestFn
) -> None:
    from playwright.sync_api import expect

    assert AXE.exists()
    ingest(
        seeded.x_channel,
        "@NordicRailHelp Toget fra Odense er forsinket igen 😡",
        external_id="x1",
        author_id="mette",
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
        seeded.fb_channel,
        "Er der plads til cykler i IC4?",
        external_id="f2",
        author_id="ane",
        author_name="Ane Holm",
        minutes_ago=20,
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
    page = new_page()
    sign_in(page, live_server, seeded.admin.email, seeded.password)
    rows = page.locator("#inbox-rows tr[data-conversation-id]")
    expect(rows).to_have_count(4)
    expect(page.locator("#live-status")).to_have_class("live-dot on")
    unanswered = page.locator('#inbox-tabs a[data-view="unanswered"] .count')
    expect(unanswered).to_have_text("4")
    no_sideways_scroll(page)  # the top bar fits at 1280 px
    assert serious(axe_violations(page, "inbox")) == []

    # ? lists every shortcut in a dialog; Esc closes it.
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Resolve")
    assert serious(axe_violations(page, "shortcuts")) == []
    shot(page, "shortcuts", docs=True)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    # j/k move, the focused row is marked; e resolves the current row in place.
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    current = page.locator("#inbox-rows tr.current")
    expect(current).to_have_count(1)
    first_id = rows.nth(0).get_attribute("data-conversation-id")
    assert current.get_attribute("data-conversation-id") == first_id
    page.keyboard.press("j")
    second = rows.nth(1)
    second_id = second.get_attribute("data-conversation-id")
    second_name = second.locator("td.message strong").inner_text()
    page.keyboard.press("e")
    expect(page.locator("#bulk-result")).to_contain_text("Done: 1")
    expect(page.locator(f'#inbox-rows tr[data-conversation-id="{second_id}"]')).to_have_count(0)
    expect(unanswered).to_have_text("3")
    expect(page.locator('#inbox-tabs a[data-view="resolved"] .count')).to_have_text("1")

    # A customer writes meanwhile: the row and the counts follow over the event stream.
    ingest(
        seeded.fb_channel,
        "Wifi virker ikke i toget igen…",
        external_id="f3",
        author_id="freja",
        author_name="Freja Jensen",
    )
    expect(page.locator("#inbox-rows")).to_contain_text("Wifi virker ikke", timeout=10_000)
    expect(unanswered).to_have_text("4", timeout=10_000)
    assert second_name not in page.locator("#inbox-rows").inner_text()
    shot(page, "inbox", docs=True)

    # o opens the current conversation, r goes to the reply box, u back to the inbox, / to search.
    page.keyboard.press("j")
    page.keyboard.press("o")
    expect(page.locator("#thread")).to_be_visible()
    expect(page.locator("#workflow-panel")).to_be_visible()
    assert serious(axe_violations(page, "conversation")) == []
    page.keyboard.press("r")
    expect(page.locator("#reply-text")).to_be_focused()
    page.keyboard.type("Hej")
    page.keyboard.press("Escape")
    page.keyboard.press("n")
    expect(page.locator("#note-text")).to_be_focused()
    page.keyboard.press("Escape")
    page.keyboard.press("u")
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    page.keyboard.press("/")
    expect(page.locator("#global-search")).to_be_focused()
    page.keyboard.press("Escape")

    # Dark theme by the toggle (auto → light → dark), kept across pages; and axe again in dark.
    toggle = page.locator("#theme-toggle")
    toggle.click()
    toggle.click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    expect(page.locator('#inbox-tabs a[data-view="unanswered"] .count')).to_have_text("4")
    assert serious(axe_violations(page, "inbox-dark")) == []
    shot(page, "inbox-dark", docs=True)
    page.goto(f"{live_server}/search?q=billet")
    assert serious(axe_violations(page, "search-dark")) == []
    page.goto(f"{live_server}/dashboard")
    assert serious(axe_violations(page, "dashboard-dark")) == []
    assert page.problems == []

    # Tablet (portrait iPad width), dark by the system setting: nothing scrolls sideways.
    tablet = new_page(width=820, height=1180, scheme="dark")
    sign_in(tablet, live_server, seeded.agent.email, seeded.password)
    no_sideways_scroll(tablet)
    assert serious(axe_violations(tablet, "inbox-tablet")) == []
    shot(tablet, "inbox-tablet", docs=True)
    assert tablet.problems == []


def _channel(database: Database, seeded: Seeded, platform: str) -> Channel:
    with database.session() as session:
        channel = do_create_channel(
            session,
            brand=session.get_one(Brand, seeded.rail.id),
            platform=platform,
            account=f"rail-{platform}",
            mode="simulated",
            team=session.get_one(Team, seeded.service_team.id),
        )
        session.expunge(channel)
        return channel


@pytest.mark.parametrize(
    ("platform", "kind", "limit"),
    [
        ("x", "comment", 280),
        ("facebook", "comment", 8000),
        ("facebook", "dm", 8000),
        ("instagram", "comment", 2200),
        ("linkedin", "comment", 1250),
        ("youtube", "comment", 10000),
        ("api", "chat", 20000),
    ],
)
def test_reply_on_each_platform_kind(
    new_page: Browser,
    live_server: str,
    seeded: Seeded,
    ingest: IngestFn,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
    platform: str,
    kind: str,
    limit: int,
) -> None:
    from playwright.sync_api import expect

    monkeypatch.setattr("tilsvar.channels.simulated.TRANSIENT_FAILURE_RATE", 0.0)
    channel = {"x": seeded.x_channel, "facebook": seeded.fb_channel, "api": seeded.api_channel}.get(platform)
    channel = channel or _channel(database, seeded, platform)
    ingest(
        channel, "Hvornår kommer toget?", external_id=f"{platform}-{kind}", author_name="Kim Berg", kind=kind
    )
    page = new_page()
    sign_in(page, live_server, seeded.agent.email, seeded.password)
    page.get_by_role("link", name="Kim Berg").click()
    box = page.locator("#reply-text")
    box.fill("Om fem minutter")
    page.get_by_role("button", name="Insert 🚆").click()
    expect(page.locator("#reply-count")).to_have_text(f"16 / {limit}")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator("#thread .msg.out .text")).to_have_text("Om fem minutter🚆")
    expect(page.locator("#thread .msg.out .delivery")).to_contain_text("sent", timeout=40_000)
    shot(page, f"reply-{platform}-{kind}")
    assert page.problems == []


def test_send_and_resolve_shows_the_satisfaction_request(
    new_page: Browser,
    live_server: str,
    seeded: Seeded,
    ingest: IngestFn,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import httpx
    from playwright.sync_api import expect

    monkeypatch.setattr("tilsvar.channels.simulated.TRANSIENT_FAILURE_RATE", 0.0)
    enabled = httpx.put(
        f"{live_server}/api/v1/channels/{seeded.fb_channel.id}/workflow",
        json={"csat_enabled": True, "csat_mode": "link"},
        headers={"Authorization": f"Bearer {seeded.admin_token}"},
    )
    assert enabled.status_code == 200, enabled.text
    ingest(seeded.fb_channel, "Mit kort er spærret", external_id="c1", author_name="Lise Dahl")
    page = new_page()
    sign_in(page, live_server, seeded.agent.email, seeded.password)
    page.get_by_role("link", name="Lise Dahl").click()
    expect(page.locator("#reply-text")).to_be_visible()
    page.keyboard.press("r")
    expect(page.locator("#reply-text")).to_be_focused()
    page.keyboard.type("Nu virker det igen. God dag!")
    page.get_by_role("button", name="Send and resolve").click()
    expect(page.locator("#workflow-panel h2 .status")).to_have_text("resolved", timeout=10_000)
    expect(page.locator("#workflow-panel")).to_contain_text("asked, no answer yet", timeout=10_000)
    expect(page.locator("#thread")).to_contain_text("How did we do?", timeout=15_000)
    shot(page, "send-and-resolve", docs=True)
    assert page.problems == []


def _wait_for_moderation_state(database: Database, message_id: int, state: str) -> None:
    """Until the live server's worker has carried out the platform call (its first job may wait for
    the worker's model warm-up, tens of seconds on a loaded machine)."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        with database.reader() as session:
            if session.get_one(Message, message_id).moderation_state == state:
                return
        time.sleep(0.2)
    raise AssertionError(f"message {message_id} never became {state}")


def test_hide_an_abusive_comment_and_undo(
    new_page: Browser, live_server: str, seeded: Seeded, ingest: IngestFn, database: Database
) -> None:
    from playwright.sync_api import expect

    # abuse the lexicons and models let through ("I er nogle idioter/klovne" are flagged by themselves
    # now), so the supervisor hides it by hand
    message_id = ingest(
        seeded.fb_channel, "Gå hjem og skam jer allesammen", external_id="abuse", author_name="Troll Hansen"
    )
    page = new_page()
    sign_in(page, live_server, seeded.supervisor.email, seeded.password)
    page.get_by_role("link", name="Troll Hansen").click()
    expect(page.locator("#thread details.moderate")).to_be_visible()
    page.keyboard.press("h")  # opens "Hide…" and puts the caret in its reason
    reason = page.locator("#thread details.moderate input[name=reason]")
    expect(reason).to_be_focused()
    reason.fill("abusive language")
    page.keyboard.press("Enter")
    moderation = page.locator("#thread .moderation")
    # once the platform has answered, the page shows it at once, by a live event (moderation.changed),
    # not with the thread's 30-second refresh
    _wait_for_moderation_state(database, message_id, "hidden")
    expect(moderation).to_contain_text("Hidden on the platform", timeout=10_000)
    shot(page, "hidden-comment")
    moderation.locator("input[name=reason]").fill("a colleague misread it")
    # a live event for this conversation while the reason is being typed does not wipe it
    page.evaluate("document.body.dataset.lastEvent = ''")
    with database.session() as session:
        conversation_id = session.get_one(Message, message_id).conversation_id
        record_events(
            session,
            [
                ConversationUpdated(
                    organization_id=seeded.org.id, brand_id=seeded.rail.id, conversation_id=conversation_id
                )
            ],
        )
    expect(page.locator("body")).to_have_attribute("data-last-event", "conversation.updated")
    page.wait_for_timeout(1000)  # a refresh, had one been sent, would have been swapped in by now
    expect(moderation.locator("input[name=reason]")).to_have_value("a colleague misread it")
    moderation.get_by_role("button", name="Undo: show again").click()
    _wait_for_moderation_state(database, message_id, "restored")
    expect(page.locator("#thread .moderation")).to_contain_text("Shown again", timeout=10_000)
    assert page.problems == []


def test_reveal_personal_data_after_approval(
    new_page: Browser, live_server: str, seeded: Seeded, ingest: IngestFn, database: Database
) -> None:
    from playwright.sync_api import expect

    phone = "+45 20 11 22 33"
    message_id = ingest(
        seeded.x_channel, f"Ring til mig på {phone} tak", external_id="pii", author_name="Per Lund"
    )
    agent = new_page()
    sign_in(agent, live_server, seeded.agent.email, seeded.password)
    agent.get_by_role("link", name="Per Lund").click()
    reason = agent.get_by_label("Why you need to see the personal data")
    expect(reason).to_be_visible(timeout=15_000)  # once the pipeline has masked the number
    with database.reader() as session:
        assert session.get_one(Message, message_id).has_pii
    expect(agent.locator("#thread")).not_to_contain_text(phone)
    reason.fill("customer asks to be called back")
    agent.get_by_role("button", name="Reveal").click()
    expect(agent.locator("#reveal-pending")).to_be_visible()

    supervisor = new_page()
    sign_in(supervisor, live_server, seeded.supervisor.email, seeded.password)
    supervisor.goto(f"{live_server}/admin/privacy")
    supervisor.get_by_role("button", name="Approve").first.click()
    expect(supervisor.locator("body")).to_contain_text("approved")

    agent.get_by_role("link", name="Back to the conversation").click()
    agent.get_by_label("Why you need to see the personal data").fill("customer asks to be called back")
    agent.get_by_role("button", name="Reveal").click()
    expect(agent.locator("ol.revealed")).to_contain_text(phone)
    shot(agent, "revealed")
    assert agent.problems == []
    assert supervisor.problems == []
