"""The agent's inbox in a real browser with 100k conversations: time to first render, live update
latency, and the accessibility check (issue 9).

Fills a fresh database through `tilsvar import` (100k conversations, 130k messages, as
bench/inbox_latency.py), starts `tilsvar serve` in its own process, signs a user in with headless
Chromium (Playwright) and loads /inbox 20 times (after 2 warm-up loads). Per load it reads the browser's
Navigation Timing: the server's part (request start → response end of the HTML) and the first
contentful paint (navigation start → first paint of content, i.e. server + browser), and the time until
the per-view counts (fetched after the first render) are on screen. Then, with the inbox open, it stores
a new customer message in this process (another process, as the worker or an import would) and times
until the row is visible in the browser, 10 times: the event log is polled every
``events_poll_seconds`` (1 s) across processes, so that bounds it. Last, axe-core (vendored) runs on the
inbox and a conversation and the serious/critical violations are counted.

Prints one JSON object. Needs Debian chromium (/usr/bin/chromium) and Playwright for Python.
"""

from __future__ import annotations

import argparse
import json
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import log, percentiles, server, temporary_database
from bench.inbox_latency import fill

CHROMIUM = "/usr/bin/chromium"
EMAIL = "agent@tilsvar.invalid"
PASSWORD = secrets.token_urlsafe(16)  # a throwaway database
AXE_RUN = """async () => {
  const result = await axe.run(document, {runOnly: {type: "tag",
      values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}});
  return result.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length}));
}"""
TIMING = """() => {
  const n = performance.getEntriesByType("navigation")[0];
  const fcp = performance.getEntriesByName("first-contentful-paint")[0];
  return {server: n.responseEnd - n.requestStart, ttfb: n.responseStart - n.startTime,
          fcp: fcp ? fcp.startTime : null, dcl: n.domContentLoadedEventEnd - n.startTime};
}"""


def create_user() -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "tilsvar",
            "users",
            "create",
            "--email",
            EMAIL,
            "--role",
            "admin",
            "--name",
            "Bench Agent",
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
        check=True,
        capture_output=True,
        text=True,
    )


def ingest_one(number: int) -> str:
    from sqlalchemy import select

    from tilsvar.actions.ingest import do_ingest_messages
    from tilsvar.channels.base import Author, InboundMessage
    from tilsvar.db import get_database
    from tilsvar.models import Channel, utcnow

    database = get_database()
    text = f"Live probe {number} — toget holder stille"
    with database.session() as session:
        channel = session.scalars(select(Channel).where(Channel.platform == "x").limit(1)).one()
        message = InboundMessage(
            platform=channel.platform,
            account=channel.account,
            external_id=f"ui-speed-{number}-{time.time_ns()}",
            direction="in",
            kind="comment",
            text=text,
            created_at=utcnow(),
            author=Author(id=f"probe{number}", handle=f"@probe{number}", name=f"Probe {number}"),
        )
        do_ingest_messages(session, messages=[message])
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=130_000)
    parser.add_argument("--loads", type=int, default=20)
    parser.add_argument("--live-samples", type=int, default=10)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with temporary_database("sqlite") as (data_dir, url), tempfile.TemporaryDirectory() as folder:
        filled = fill(
            Path(folder) / "inbox.jsonl",
            conversations=args.conversations,
            messages=args.messages,
            batch_size=2000,
        )
        log(f"filled: {filled}")
        create_user()
        with (
            server(data_dir, url, TILSVAR_WORKER_IN_PROCESS="no") as (base, _process),
            sync_playwright() as pw,
        ):
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
            page.goto(f"{base}/login")
            page.get_by_label("E-mail").fill(EMAIL)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_selector("#inbox-rows tr[data-conversation-id]")
            server_ms: list[float] = []
            fcp_ms: list[float] = []
            counts_ms: list[float] = []
            for load in range(args.loads + 2):
                started = time.perf_counter()
                page.goto(f"{base}/inbox", wait_until="load")
                page.wait_for_selector("#inbox-tabs .count")
                counted = (time.perf_counter() - started) * 1000
                timing: dict[str, Any] = page.evaluate(TIMING)
                if load < 2:
                    continue  # warm-up
                server_ms.append(timing["server"])
                fcp_ms.append(timing["fcp"] if timing["fcp"] is not None else timing["dcl"])
                counts_ms.append(counted)
            rows = page.locator("#inbox-rows tr[data-conversation-id]").count()
            page.wait_for_function("() => document.getElementById('live-status').classList.contains('on')")
            live_ms: list[float] = []
            for number in range(args.live_samples):
                started = time.perf_counter()
                text = ingest_one(number)
                page.wait_for_function(
                    "t => document.getElementById('inbox-rows').textContent.includes(t)",
                    arg=text,
                    timeout=30_000,
                )
                live_ms.append((time.perf_counter() - started) * 1000)
                time.sleep(0.5)
            page.add_script_tag(url="/static/vendor/axe-core/axe.min.js")
            inbox_violations = page.evaluate(AXE_RUN)
            page.locator("#inbox-rows td.message a").first.click()
            page.wait_for_selector("#workflow-panel")
            page.add_script_tag(url="/static/vendor/axe-core/axe.min.js")
            conversation_violations = page.evaluate(AXE_RUN)
            browser.close()
    every = inbox_violations + conversation_violations
    result = {
        "benchmark": "ui_speed",
        "backend": "sqlite",
        "database": {"conversations": filled["conversations"], "messages": filled["messages"]},
        "rows_on_first_page": rows,
        "loads": args.loads,
        "inbox_server_ms": percentiles(server_ms),
        "inbox_first_contentful_paint_ms": percentiles(fcp_ms),
        "inbox_with_view_counts_ms": percentiles(counts_ms),
        "live_update_to_row_visible_ms": percentiles(live_ms),
        "axe": {
            "pages": ["inbox", "conversation"],
            "serious_or_critical": sum(1 for v in every if v["impact"] in ("serious", "critical")),
            "violations": every,
        },
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
