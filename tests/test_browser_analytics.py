"""The dashboard and a wall screen in a real browser (headless Debian Chromium via Playwright): charts
drawn by the vendored Chart.js with no console errors or CSP violations, the wall screen updated live
over SSE when a message arrives. Writes docs/screenshots/dashboard.png and wall.png."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import and_, func, or_, select

from tilsvar.db import Database
from tilsvar.models import Job, utcnow
from tilsvar.reports.rollups import refresh_rollups

from conftest import IngestFn, Seeded
from helpers import auth

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--disable-sync"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed (make chromium)"),
]

TRAFFIC = [
    ("x", "@NordicRailHelp Toget fra Odense er forsinket igen, hvornår kommer det?", 300, 25),
    ("x", "Wifi virker ikke i toget, det er tredje gang i denne uge", 260, None),
    ("fb", "Hej, kan jeg få refunderet min billet når toget var 40 min forsinket?", 240, 90),
    ("fb", "Tak for en god tur i dag, personalet var super venlige!", 200, 15),
    ("fb", "Jeg har mistet min taske i toget til Aarhus, hvem kan jeg kontakte?", 180, 420),
    ("api", "Appen crasher når jeg køber pendlerkort", 150, 40),
    ("market", "Har I åbent på søndag?", 140, 10),
    ("market", "Min ordre er ikke kommet, ordrenummer 5512", 120, None),
    ("x", "Hvorfor er der aflyst igen?! Det er helt uacceptabelt", 90, 60),
    ("fb", "Kan man tage cykel med i regionaltoget?", 60, 20),
    ("api", "Jeg kan ikke logge ind i appen", 40, None),
    ("market", "Tilbuddet på kaffe, gælder det også online?", 20, None),
]


@pytest.fixture
def page() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context(
            viewport={"width": 1400, "height": 1000}, locale="en-GB", color_scheme="light"
        )
        yield context.new_page()
        context.close()
        browser.close()


def _wait_for_jobs(database: Database) -> None:
    """Until the live server's worker has done every job that is due (SLA checks and channel health
    checks queued for later are not waited for: they made this wait out its whole deadline)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with database.reader() as session:
            due = or_(Job.status == "running", and_(Job.status == "queued", Job.run_at <= utcnow()))
            if not session.scalar(select(func.count()).select_from(Job).where(due)):
                return
        time.sleep(0.2)


def _traffic(seeded: Seeded, ingest: IngestFn) -> None:
    channels = {
        "x": seeded.x_channel,
        "fb": seeded.fb_channel,
        "api": seeded.api_channel,
        "market": seeded.market_channel,
    }
    for number, (key, text, minutes_ago, reply_after) in enumerate(TRAFFIC):
        channel = channels[key]
        eid = f"b{number}"
        ingest(
            channel,
            text,
            external_id=eid,
            author_id=f"c{number}",
            author_name=f"Kunde {number}",
            minutes_ago=minutes_ago,
        )
        if reply_after is not None:
            ingest(
                channel,
                "Tak for din besked, vi hjælper dig gerne.",
                external_id=f"{eid}r",
                direction="out",
                in_reply_to=eid,
                minutes_ago=minutes_ago - reply_after,
            )


def test_dashboard_and_wall_screen_in_a_browser(
    page: object,
    live_server: str,
    database: Database,
    seeded: Seeded,
    ingest: IngestFn,
    run_jobs: Callable[[], int],
) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    _traffic(seeded, ingest)
    _wait_for_jobs(database)
    refresh_rollups(database, wait=True)

    page.goto(f"{live_server}/dashboard")
    page.get_by_label("E-mail").fill(seeded.admin.email)
    page.get_by_label("Password").fill(seeded.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.locator("body")).to_have_attribute("data-charts-ready", "yes")
    expect(page.locator('[data-kpi="inquiries"]')).to_have_text(str(len(TRAFFIC)))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)
    page.locator(".kpi", has_text="Unanswered inquiries").click()
    expect(page.get_by_role("heading", name="Conversations behind the number")).to_be_visible()
    expect(page.locator("tbody a[href^='/conversations/']")).to_have_count(
        sum(1 for row in TRAFFIC if row[3] is None)
    )

    token = httpx.post(
        f"{live_server}/api/v1/wall-screens",
        json={"name": "Customer centre"},
        headers=auth(seeded.admin_token),
    ).json()["token"]
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(f"{live_server}/wall/{token}")
    expect(page.locator('[data-field="today.inquiries"]').first).to_have_text(str(len(TRAFFIC)))
    expect(page.locator("#wall-live")).to_have_class("live-dot on")
    ingest(
        seeded.fb_channel,
        "Er der togbusser i weekenden?",
        external_id="live1",
        author_id="late",
        minutes_ago=0,
    )
    refresh_rollups(database, wait=True)
    expect(page.locator('[data-field="today.inquiries"]').first).to_have_text(
        str(len(TRAFFIC) + 1), timeout=15_000
    )
    page.screenshot(path=str(SCREENSHOTS / "wall.png"))
    assert "Kunde" not in page.content()
    assert problems == []
