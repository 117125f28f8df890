"""The conversation view shows the post a comment belongs to (docs/ui.md): a signed Meta feed webhook
carries the post; its text (escaped, personal data masked), author, time and a link to it on Facebook
appear above the thread. Without the post's text only its id and link are shown."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tilsvar.channels import meta
from tilsvar.db import Database
from webhook_support import connect, dumps, message

from conftest import Seeded

APP_SECRET = "meta-app-secret"
PAGE_ID = "448242228374517"
CREDENTIALS = {"app_secret": APP_SECRET, "verify_token": "verify", "access_token": "page-token"}
POST_ID = f"{PAGE_ID}_122131676912594941"


@pytest.fixture
def page(database: Database, seeded: Seeded) -> int:
    return connect(
        database,
        seeded.rail,
        platform="facebook",
        account="NordicRailPage",
        account_id=PAGE_ID,
        credentials=CREDENTIALS,
    )


def deliver(client: TestClient, value: dict[str, Any]) -> None:
    payload = {
        "object": "page",
        "entry": [{"id": PAGE_ID, "time": 1742667606, "changes": [{"field": "feed", "value": value}]}],
    }
    raw = dumps(payload)
    answer = client.post(
        "/webhooks/meta",
        content=raw,
        headers={"Content-Type": "application/json", meta.SIGNATURE_HEADER: meta.sign(raw, APP_SECRET)},
    )
    assert answer.status_code == 200, answer.text


def comment(comment_id: str, post: dict[str, Any] | None) -> dict[str, Any]:
    value: dict[str, Any] = {
        "from": {"id": "9038263149527012", "name": "Jane Customer"},
        "message": "Is the 07:12 to Bergen late?",
        "post_id": POST_ID,
        "comment_id": comment_id,
        "created_time": 1742667604,
        "item": "comment",
        "parent_id": POST_ID,
        "verb": "add",
    }
    if post is not None:
        value["post"] = post
    return value


def sign_in(client: TestClient, seeded: Seeded) -> None:
    response = client.post(
        "/login",
        data={"email": seeded.admin.email, "password": seeded.password, "next": "/inbox"},
        follow_redirects=False,
    )
    assert response.status_code == 303


def test_the_post_a_comment_belongs_to_is_shown_escaped_and_masked(
    client: TestClient, page: int, database: Database, seeded: Seeded, run_jobs: Callable[[], int]
) -> None:
    deliver(
        client,
        comment(
            "122131676912594941_1",
            {
                "id": POST_ID,
                "message": "New <b>timetable</b> from Monday! Questions: kundeservice@nordicrail.example",
                "from": {"id": PAGE_ID, "name": "Nordic Rail"},
                "created_time": "2025-03-22T18:20:04+0000",
                "permalink_url": "https://www.facebook.com/NordicRail/posts/122131676912594941",
            },
        ),
    )
    run_jobs()
    stored = message(database, page, "122131676912594941_1")
    assert stored.context is not None
    assert stored.context["post_id"] == POST_ID
    sign_in(client, seeded)
    html = client.get(f"/conversations/{stored.conversation_id}").text
    context = re.search(r'<aside class="platform-context".*?</aside>', html, re.S)
    assert context, html
    block = context.group(0)
    assert "New &lt;b&gt;timetable&lt;/b&gt; from Monday!" in block  # escaped
    assert "<b>timetable" not in html
    assert "kundeservice@nordicrail.example" not in html  # masked like the customer's text
    assert "[EMAIL]" in block
    assert "Nordic Rail" in block
    assert 'href="https://www.facebook.com/NordicRail/posts/122131676912594941"' in block
    assert '<time datetime="2025-03-22T18:20:04+00:00"' in block
    # Above the thread: the context comes before the first message.
    assert html.index("platform-context") < html.index('class="msg in"')


def test_without_the_posts_text_the_id_and_a_link_are_shown(
    client: TestClient, page: int, database: Database, seeded: Seeded, run_jobs: Callable[[], int]
) -> None:
    deliver(client, comment("122131676912594941_2", None))
    run_jobs()
    stored = message(database, page, "122131676912594941_2")
    sign_in(client, seeded)
    html = client.get(f"/conversations/{stored.conversation_id}").text
    assert POST_ID in html
    assert f'href="https://www.facebook.com/{POST_ID}"' in html


def test_a_javascript_link_from_the_platform_is_never_rendered(
    client: TestClient, page: int, database: Database, seeded: Seeded, run_jobs: Callable[[], int]
) -> None:
    deliver(
        client,
        comment(
            "122131676912594941_3", {"id": POST_ID, "message": "Hi", "permalink_url": "javascript:alert(1)"}
        ),
    )
    run_jobs()
    stored = message(database, page, "122131676912594941_3")
    sign_in(client, seeded)
    html = client.get(f"/conversations/{stored.conversation_id}").text
    assert "javascript:" not in html
    assert f'href="https://www.facebook.com/{POST_ID}"' in html
