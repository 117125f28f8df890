"""Social listening: monitors poll X recent search (respx-mocked, answers shaped like X's), keep the
posts that don't @-mention the brand once per brand, advance the since_id cursor, wait for the rate
limit's reset, and a mention becomes a conversation (proactive outreach) or is dismissed; the API
and the web page list them for the right brands only, escaped."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx
from fastapi.testclient import TestClient
from sqlalchemy import select

from tilsvar.db import Database
from tilsvar.jobs.listening_jobs import POLL_JOB, poll_monitors
from tilsvar.jobs.queue import ClaimedJob
from tilsvar.models import AuditEntry, Conversation, Message, utcnow
from tilsvar.models.listening import Monitor
from webhook_support import connect

from conftest import Seeded

SEARCH = "https://api.x.com/2/tweets/search/recent"
BRAND_USER_ID = "2975699229"


@pytest.fixture
def x_live(database: Database, seeded: Seeded) -> int:
    return connect(
        database,
        seeded.rail,
        platform="x",
        account="NordicRail",
        account_id=BRAND_USER_ID,
        credentials={"bearer_token": "app-bearer", "consumer_secret": "cs"},
    )


def post(
    post_id: str, text: str, *, author: str = "111", mentions: list[str] | None = None
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": post_id,
        "text": text,
        "author_id": author,
        "created_at": "2026-12-06T05:00:00.000Z",
        "conversation_id": post_id,
        "lang": "da",
        "edit_history_tweet_ids": [post_id],
    }
    if mentions:
        item["entities"] = {
            "mentions": [{"start": 0, "end": len(m) + 1, "username": m, "id": "9"} for m in mentions]
        }
    return item


def answer(posts: list[dict[str, Any]], *, remaining: int = 59, next_token: str = "") -> httpx.Response:
    meta: dict[str, Any] = {"result_count": len(posts)}
    if posts:
        meta |= {"newest_id": posts[0]["id"], "oldest_id": posts[-1]["id"]}
    if next_token:
        meta["next_token"] = next_token
    reset = int((datetime.now(UTC) + timedelta(minutes=15)).timestamp())
    return httpx.Response(
        200,
        json={
            "data": posts,
            "includes": {
                "users": [
                    {"id": "111", "name": "Jens <b>K</b>", "username": "jens_k"},
                    {"id": BRAND_USER_ID, "name": "Nordic Rail", "username": "NordicRail"},
                ]
            },
            "meta": meta,
        }
        if posts
        else {"meta": meta},
        headers={"x-rate-limit-remaining": str(remaining), "x-rate-limit-reset": str(reset)},
    )


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def poll(database: Database) -> None:
    poll_monitors(
        database, ClaimedJob(id=0, queue="maintenance", kind=POLL_JOB, payload={}, attempts=1, max_attempts=3)
    )


def make_due(database: Database) -> None:
    with database.session() as session:
        for monitor in session.scalars(select(Monitor)):
            monitor.next_poll_at = utcnow() - timedelta(seconds=1)


def test_a_monitor_polls_keeps_unmentioned_posts_once_and_advances_its_cursor(
    client: TestClient, database: Database, seeded: Seeded, x_live: int
) -> None:
    created = client.post(
        "/api/v1/listening/monitors",
        json={"channel_id": x_live, "name": "Brand name", "query": '"nordic rail" -is:retweet'},
        headers=auth(seeded.admin_token),
    )
    assert created.status_code == 201, created.text
    assert created.json()["active"] is True
    with respx.mock(assert_all_called=True) as mock:
        route = mock.get(SEARCH).mock(
            return_value=answer(
                [
                    post("1880000000000000003", "Nordic Rail toget er forsinket <script>x</script>"),
                    post("1880000000000000002", "@NordicRail hvor er toget?", mentions=["NordicRail"]),
                    post("1880000000000000001", "Nordic Rail: new timetable", author=BRAND_USER_ID),
                ]
            )
        )
        poll(database)
        first = dict(route.calls[0].request.url.params)
        assert first["query"] == '"nordic rail" -is:retweet'
        assert "since_id" not in first
        assert route.calls[0].request.headers["authorization"] == "Bearer app-bearer"
    stream = client.get("/api/v1/listening/mentions", headers=auth(seeded.agent_token)).json()["items"]
    assert [m["external_id"] for m in stream] == ["1880000000000000003"]  # no @-mention, not our own
    assert stream[0]["author_handle"] == "jens_k"
    assert stream[0]["url"] == "https://x.com/jens_k/status/1880000000000000003"

    make_due(database)
    with respx.mock(assert_all_called=True) as mock:
        route = mock.get(SEARCH).mock(
            return_value=answer(
                [post("1880000000000000004", "nordic rail again"), post("1880000000000000003", "dup")]
            )
        )
        poll(database)
        assert dict(route.calls[0].request.url.params)["since_id"] == "1880000000000000003"
    stream = client.get("/api/v1/listening/mentions", headers=auth(seeded.agent_token)).json()["items"]
    assert [m["external_id"] for m in stream] == ["1880000000000000004", "1880000000000000003"]
    monitors = client.get("/api/v1/listening/monitors", headers=auth(seeded.agent_token)).json()["items"]
    assert monitors[0]["since_id"] == "1880000000000000004"


def test_rate_limits_are_respected(
    client: TestClient, database: Database, seeded: Seeded, x_live: int
) -> None:
    client.post(
        "/api/v1/listening/monitors",
        json={"channel_id": x_live, "name": "m", "query": "nordicrail", "poll_seconds": 60},
        headers=auth(seeded.admin_token),
    )
    reset = int((datetime.now(UTC) + timedelta(minutes=10)).timestamp())
    with respx.mock() as mock:
        mock.get(SEARCH).mock(
            return_value=httpx.Response(
                429,
                json={"title": "Too Many Requests"},
                headers={"x-rate-limit-reset": str(reset), "x-rate-limit-remaining": "0"},
            )
        )
        poll(database)
    with database.reader() as session:
        monitor = session.scalars(select(Monitor)).one()
        assert monitor.next_poll_at is not None
        assert monitor.next_poll_at >= datetime.fromtimestamp(reset, UTC) - timedelta(seconds=1)
        assert "rate limit" in monitor.last_error
    # Spent window on a successful answer: the next poll waits for the reset, not the interval.
    make_due(database)
    with respx.mock() as mock:
        mock.get(SEARCH).mock(return_value=answer([post("1880000000000000009", "nordicrail")], remaining=0))
        poll(database)
    with database.reader() as session:
        monitor = session.scalars(select(Monitor)).one()
        assert monitor.next_poll_at is not None
        assert monitor.next_poll_at > utcnow() + timedelta(minutes=5)
        assert monitor.last_error == ""


def test_pages_are_followed_with_next_token(
    client: TestClient, database: Database, seeded: Seeded, x_live: int
) -> None:
    client.post(
        "/api/v1/listening/monitors",
        json={"channel_id": x_live, "name": "m", "query": "nordicrail"},
        headers=auth(seeded.admin_token),
    )
    with respx.mock() as mock:
        route = mock.get(SEARCH).mock(
            side_effect=[
                answer([post("1880000000000000020", "a nordicrail")], next_token="b26v89c19zqg8o3f"),
                answer([post("1880000000000000010", "b nordicrail")]),
            ]
        )
        poll(database)
        assert dict(route.calls[1].request.url.params)["next_token"] == "b26v89c19zqg8o3f"
    with database.reader() as session:
        assert session.scalars(select(Monitor)).one().since_id == "1880000000000000020"


def test_a_mention_becomes_a_conversation_or_is_dismissed(
    client: TestClient, database: Database, seeded: Seeded, x_live: int, run_jobs: Callable[[], int]
) -> None:
    client.post(
        "/api/v1/listening/monitors",
        json={"channel_id": x_live, "name": "m", "query": "nordicrail"},
        headers=auth(seeded.admin_token),
    )
    with respx.mock() as mock:
        mock.get(SEARCH).mock(
            return_value=answer(
                [post("1880000000000000031", "nordicrail why late"), post("1880000000000000030", "meh")]
            )
        )
        poll(database)
    items = client.get("/api/v1/listening/mentions", headers=auth(seeded.agent_token)).json()["items"]
    convert, dismiss = items[0]["id"], items[1]["id"]
    converted = client.post(f"/api/v1/listening/mentions/{convert}/convert", headers=auth(seeded.agent_token))
    assert converted.status_code == 200, converted.text
    conversation_id = converted.json()["conversation_id"]
    again = client.post(f"/api/v1/listening/mentions/{convert}/convert", headers=auth(seeded.agent_token))
    assert again.json()["conversation_id"] == conversation_id  # no second conversation
    with database.reader() as session:
        conversation = session.get_one(Conversation, conversation_id)
        assert (conversation.channel_id, conversation.thread_key) == (x_live, "1880000000000000031")
        message = session.scalars(select(Message).where(Message.conversation_id == conversation_id)).one()
        assert (message.text, message.direction) == ("nordicrail why late", "in")
        actions = set(session.scalars(select(AuditEntry.action)))
        assert {"listening.monitor_created", "listening.mention_converted"} <= actions
    assert (
        client.post(f"/api/v1/listening/mentions/{dismiss}/dismiss", headers=auth(seeded.agent_token)).json()[
            "status"
        ]
        == "dismissed"
    )
    assert client.get("/api/v1/listening/mentions", headers=auth(seeded.agent_token)).json()["items"] == []
    done = client.get("/api/v1/listening/mentions?status=all", headers=auth(seeded.agent_token)).json()[
        "items"
    ]
    assert {m["status"] for m in done} == {"converted", "dismissed"}
    # Read-only roles may look but not act; monitors are configured by admins/supervisors.
    analyst = client.post(f"/api/v1/listening/mentions/{dismiss}/dismiss", headers=auth(seeded.analyst_token))
    assert analyst.status_code == 403
    agent_monitor = client.post(
        "/api/v1/listening/monitors",
        json={"channel_id": x_live, "name": "m2", "query": "x"},
        headers=auth(seeded.agent_token),
    )
    assert agent_monitor.status_code == 403


def test_other_brands_do_not_see_or_touch_mentions(
    client: TestClient, database: Database, seeded: Seeded, x_live: int
) -> None:
    from tilsvar.actions.org import do_create_api_token, do_create_user
    from tilsvar.models import Brand, Organization

    client.post(
        "/api/v1/listening/monitors",
        json={"channel_id": x_live, "name": "m", "query": "nordicrail"},
        headers=auth(seeded.admin_token),
    )
    with respx.mock() as mock:
        mock.get(SEARCH).mock(return_value=answer([post("1880000000000000051", "nordicrail")]))
        poll(database)
    with database.session() as session:
        market_agent = do_create_user(
            session,
            organization=session.get_one(Organization, seeded.org.id),
            email="mia@fjordmarket.example",
            role="admin",
            brands=[session.get_one(Brand, seeded.market.id)],
        )
        token = do_create_api_token(session, user=market_agent, name="t")
    other = auth(token)
    assert client.get("/api/v1/listening/mentions", headers=other).json()["items"] == []
    assert client.get("/api/v1/listening/monitors", headers=other).json()["items"] == []
    with database.reader() as session:
        from tilsvar.models.listening import Mention

        mention_id = session.scalars(select(Mention.id)).one()
        monitor_id = session.scalars(select(Monitor.id)).one()
    assert client.post(f"/api/v1/listening/mentions/{mention_id}/convert", headers=other).status_code == 404
    assert (
        client.patch(
            f"/api/v1/listening/monitors/{monitor_id}", json={"active": False}, headers=other
        ).status_code
        == 404
    )
    created = client.post(
        "/api/v1/listening/monitors",
        json={"channel_id": x_live, "name": "m", "query": "q"},
        headers=other,
    )
    assert created.status_code == 404
    paused = client.patch(
        f"/api/v1/listening/monitors/{monitor_id}", json={"active": False}, headers=auth(seeded.admin_token)
    )
    assert paused.json()["active"] is False


def test_the_web_page_lists_monitors_and_mentions_escaped(
    client: TestClient, database: Database, seeded: Seeded, x_live: int
) -> None:
    login = client.post(
        "/login",
        data={"email": seeded.admin.email, "password": seeded.password, "next": "/listening"},
        follow_redirects=False,
    )
    assert login.status_code == 303
    page = client.get("/listening").text
    csrf = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    added = client.post(
        "/listening/monitors",
        data={
            "csrf_token": csrf,
            "channel_id": str(x_live),
            "name": "<i>Brand</i>",
            "query": "nordicrail",
            "poll_seconds": "300",
        },
        follow_redirects=False,
    )
    assert added.status_code == 303
    with respx.mock() as mock:
        mock.get(SEARCH).mock(
            return_value=answer([post("1880000000000000041", "nordicrail <script>alert(1)</script>")])
        )
        poll(database)
    page = client.get("/listening").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page
    assert "&lt;i&gt;Brand&lt;/i&gt;" in page
    assert "Jens &lt;b&gt;K&lt;/b&gt;" in page
    from tilsvar.models.listening import Mention

    with database.reader() as session:
        mention_id = session.scalars(select(Mention.id)).one()
    converted = client.post(
        f"/listening/mentions/{mention_id}/convert", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert converted.status_code == 303
    assert converted.headers["location"].startswith("/conversations/")
