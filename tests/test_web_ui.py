"""The web UI over HTTP: sign-in and cookies, the inbox across channels, brand isolation, escaping of
customer text, CSRF, replying through the outbound queue, retry, admin jobs and the live stream."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tilsvar.db import Database

from conftest import IngestFn, Seeded
from helpers import csrf_in, sign_in


def conversation_in(page: str) -> str:
    """The id of the first conversation linked from a page."""
    match = re.search(r"/conversations/(\d+)", page)
    assert match, page
    return match.group(1)


@pytest.fixture
def admin_csrf(client: TestClient, seeded: Seeded) -> str:
    return sign_in(client, seeded.admin.email, seeded.password)


def test_sign_in_sets_a_safe_cookie_and_bad_passwords_are_refused(client: TestClient, seeded: Seeded) -> None:
    assert client.get("/inbox", follow_redirects=False).headers["location"] == "/login?next=/inbox"
    bad = client.post("/login", data={"email": seeded.admin.email, "password": "nope"})
    assert bad.status_code == 401
    assert "wrong e-mail or password" in bad.text
    good = client.post(
        "/login",
        data={"email": seeded.admin.email, "password": seeded.password, "next": "https://evil.example/"},
        follow_redirects=False,
    )
    assert good.headers["location"] == "/inbox"  # no open redirect
    cookie = good.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert client.get("/inbox").status_code == 200


def test_inbox_shows_every_channel_and_hides_other_brands_from_an_agent(
    client: TestClient, seeded: Seeded, ingest: IngestFn
) -> None:
    ingest(seeded.x_channel, "Toget er forsinket", external_id="x1", minutes_ago=200)
    ingest(seeded.fb_channel, "Hvor er min taske?", external_id="f1", author_id="kari", minutes_ago=5)
    ingest(seeded.market_channel, "Åbent søndag?", external_id="m1", author_id="per")
    sign_in(client, seeded.agent.email, seeded.password)
    page = client.get("/inbox").text
    assert "Toget er forsinket" in page
    assert "Hvor er min taske?" in page
    assert "3 h 20 min" in page
    assert "Åbent søndag?" not in page
    assert page.index("Hvor er min taske?") < page.index("Toget er forsinket")  # newest waiting first
    oldest_first = client.get("/inbox?sort=waiting").text
    assert oldest_first.index("Toget er forsinket") < oldest_first.index("Hvor er min taske?")
    only_x = client.get("/inbox?platform=x").text
    assert "Hvor er min taske?" not in only_x
    rows = client.get("/inbox/rows?view=unanswered")
    assert rows.text.lstrip().startswith('<tbody id="inbox-rows"')


def test_other_brands_conversation_is_a_404_page(
    client: TestClient, seeded: Seeded, ingest: IngestFn, database: Database
) -> None:
    ingest(seeded.market_channel, "market", external_id="m1")
    sign_in(client, seeded.admin.email, seeded.password)
    conversation_id = conversation_in(client.get("/inbox").text)
    client.post("/logout", data={"csrf_token": csrf_in(client.get("/inbox").text)})
    sign_in(client, seeded.agent.email, seeded.password)
    response = client.get(f"/conversations/{conversation_id}")
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]


def test_customer_text_is_escaped_and_the_csp_is_strict(
    client: TestClient, seeded: Seeded, ingest: IngestFn, admin_csrf: str
) -> None:
    attack = "<script>alert(1)</script><img src=x onerror=alert(1)>\"'"
    ingest(seeded.fb_channel, attack, external_id="xss", author_name="<b>Mallory</b>")
    page = client.get("/inbox")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<b>Mallory</b>" not in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    conversation_id = conversation_in(page.text)
    thread = client.get(f"/conversations/{conversation_id}")
    assert "<img src=x" not in thread.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in thread.text


def test_posts_without_the_csrf_token_are_refused(
    client: TestClient, seeded: Seeded, ingest: IngestFn, admin_csrf: str
) -> None:
    ingest(seeded.fb_channel, "hej", external_id="c1")
    conversation_id = conversation_in(client.get("/inbox").text)
    assert client.post(f"/conversations/{conversation_id}/reply", data={"text": "x"}).status_code == 403
    wrong = client.post(f"/conversations/{conversation_id}/reply", data={"text": "x", "csrf_token": "forged"})
    assert wrong.status_code == 403


def test_reply_goes_through_the_queue_and_shows_its_delivery_state(
    client: TestClient,
    seeded: Seeded,
    ingest: IngestFn,
    admin_csrf: str,
    run_jobs: Callable[[], int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("tilsvar.channels.simulated.TRANSIENT_FAILURE_RATE", 0.0)
    ingest(seeded.fb_channel, "Hvornår kommer toget?", external_id="r1")
    conversation_id = conversation_in(client.get("/inbox").text)
    response = client.post(
        f"/conversations/{conversation_id}/reply",
        data={"text": "Om 5 minutter 🚆", "csrf_token": admin_csrf},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "thread-refresh"
    thread = client.get(f"/conversations/{conversation_id}/thread").text
    assert "Om 5 minutter 🚆" in thread
    assert "queued" in thread
    run_jobs()
    thread = client.get(f"/conversations/{conversation_id}/thread").text
    assert "✓ sent" in thread
    assert "Nothing here" in client.get("/inbox").text


def test_reply_errors_keep_the_text(
    client: TestClient, seeded: Seeded, ingest: IngestFn, admin_csrf: str
) -> None:
    ingest(seeded.x_channel, "hi", external_id="t1")
    conversation_id = conversation_in(client.get("/inbox").text)
    long_text = "å" * 281
    response = client.post(
        f"/conversations/{conversation_id}/reply",
        data={"text": long_text, "csrf_token": admin_csrf},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert "at most 280 characters" in response.text
    assert long_text in response.text
    assert 'data-limit="280"' in response.text


def test_failed_reply_shows_the_reason_and_can_be_retried(
    client: TestClient,
    seeded: Seeded,
    ingest: IngestFn,
    admin_csrf: str,
    run_jobs: Callable[[], int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("tilsvar.channels.simulated.TRANSIENT_FAILURE_RATE", 0.0)
    ingest(seeded.fb_channel, "Hjælp", external_id="dm1", kind="dm", minutes_ago=26 * 60)
    conversation_id = conversation_in(client.get("/inbox").text)
    client.post(f"/conversations/{conversation_id}/reply", data={"text": "Hej", "csrf_token": admin_csrf})
    run_jobs()
    thread = client.get(f"/conversations/{conversation_id}/thread").text
    assert "failed: outside the 24-hour messaging window" in thread
    message_id = re.findall(r"/messages/(\d+)/retry", thread)[0]
    retried = client.post(
        f"/messages/{message_id}/retry", data={"csrf_token": admin_csrf}, follow_redirects=False
    )
    assert retried.status_code == 303
    assert ">queued" in client.get(f"/conversations/{conversation_id}/thread").text.replace("\n", "").replace(
        " ", ""
    )


def test_admin_jobs_page_is_for_admins(client: TestClient, seeded: Seeded) -> None:
    sign_in(client, seeded.agent.email, seeded.password)
    assert client.get("/admin/jobs").status_code == 403
    sign_in(client, seeded.admin.email, seeded.password)
    page = client.get("/admin/jobs")
    assert page.status_code == 200
    assert "No dead jobs" in page.text


def test_live_stream_and_docs(client: TestClient, seeded: Seeded) -> None:
    assert client.get("/events", follow_redirects=False).status_code == 303
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower()


def test_filter_form_values_are_accepted_as_sent(client: TestClient, seeded: Seeded, admin_csrf: str) -> None:
    for url in (
        "/inbox?view=all&platform=&brand_id=&sort=recent",
        "/inbox/rows?view=unanswered&brand_id=&cursor=",
        "/inbox?view=bogus&sort=bogus&platform=myspace&brand_id=abc",
        "/inbox?cursor=garbage",
    ):
        assert client.get(url).status_code == 200, url
