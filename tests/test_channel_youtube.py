"""YouTube contract: commentThreads.list parsing (threads, replies, moderation status, own comments
skipped), the poll job (pages, quota ledger per Pacific day, adaptive interval, quotaExceeded backs
off until the reset, 401 needs reconnect), comments.insert replies and setModerationStatus
moderation, all against respx mocks shaped like Google's documented answers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx
from sqlalchemy import select

from tilsvar.channels import youtube
from tilsvar.channels.base import DeliveryError, ModerationRequest, OutboundReply
from tilsvar.db import Database
from tilsvar.jobs.channel_jobs import POLL_JOB
from tilsvar.jobs.queue import enqueue
from tilsvar.models import Channel, Job, utcnow
from tilsvar.models.channel_state import ChannelState
from webhook_support import connect, messages

from conftest import Seeded

API = "https://www.googleapis.com/youtube/v3"
OWN = "UCbrandchannel0000000000"


def comment(
    comment_id: str, text: str, *, author: str = "UCviewer", status: str = "published", **more: Any
) -> dict[str, Any]:
    return {
        "kind": "youtube#comment",
        "etag": "e",
        "id": comment_id,
        "snippet": {
            "channelId": OWN,
            "videoId": "dQw4w9WgXcQ",
            "textDisplay": text,
            "textOriginal": text,
            "authorDisplayName": "@viewer",
            "authorProfileImageUrl": "https://yt3.example/a.jpg",
            "authorChannelUrl": "http://www.youtube.com/@viewer",
            "authorChannelId": {"value": author},
            "canRate": True,
            "viewerRating": "none",
            "likeCount": 0,
            "moderationStatus": status,
            "publishedAt": "2026-05-01T10:00:00Z",
            "updatedAt": "2026-05-01T10:00:00Z",
            **more,
        },
    }


def thread(top: dict[str, Any], *replies: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "youtube#commentThread",
        "etag": "t",
        "id": top["id"],
        "snippet": {
            "channelId": OWN,
            "videoId": "dQw4w9WgXcQ",
            "canReply": True,
            "totalReplyCount": len(replies),
            "isPublic": True,
            "topLevelComment": top,
        },
        "replies": {"comments": list(replies)},
    }


def page(*threads: dict[str, Any], next_token: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kind": "youtube#commentThreadListResponse",
        "pageInfo": {"totalResults": len(threads), "resultsPerPage": 100},
        "items": list(threads),
    }
    if next_token:
        data["nextPageToken"] = next_token
    return data


def google_error(code: int, reason: str, message: str = "denied") -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "errors": [{"message": message, "domain": "youtube", "reason": reason}],
        }
    }


@pytest.fixture
def channel_id(database: Database, seeded: Seeded) -> int:
    return connect(
        database,
        seeded.rail,
        platform="youtube",
        account="NordicRailTV",
        account_id=OWN,
        credentials={"access_token": "ya29.token"},
    )


def test_threads_parse_into_comments_with_replies_and_the_channels_own_are_skipped() -> None:
    items = [
        thread(
            comment("UgzTop1", "Where is my refund?", status="heldForReview"),
            comment("UgzTop1.r1", "Same here", author="UCother"),
            comment("UgzTop1.r2", "We are looking into it", author=OWN),
        )
    ]
    found = youtube.parse_threads(items, account="NordicRailTV", channel_id=OWN)
    assert [(m.external_id, m.in_reply_to, m.thread_id) for m in found] == [
        ("UgzTop1", None, "UgzTop1"),
        ("UgzTop1.r1", "UgzTop1", None),
    ]
    assert found[0].extra["moderation_status"] == "heldForReview"
    assert found[0].created_at == datetime(2026, 5, 1, 10, tzinfo=UTC)
    assert found[0].author is not None
    assert found[0].author.id == "UCviewer"


def test_quota_days_reset_at_midnight_pacific_across_daylight_saving() -> None:
    summer = datetime(2026, 7, 1, 6, 59, tzinfo=UTC)  # 23:59 PDT
    assert youtube.quota_day(summer).isoformat() == "2026-06-30"
    assert youtube.next_reset(summer) == datetime(2026, 7, 1, 7, 0, tzinfo=UTC)
    winter = datetime(2026, 12, 1, 7, 59, tzinfo=UTC)  # 23:59 PST
    assert youtube.next_reset(winter) == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def test_the_poll_interval_spreads_the_remaining_budget_until_the_reset() -> None:
    now = datetime(2026, 7, 1, 7, 0, tzinfo=UTC)  # just after a reset: 24 h left
    relaxed = youtube.poll_interval(now=now, used=0, budget=10_000, reserve=2_000, pages_per_poll=100)
    assert relaxed == pytest.approx(86400 / 80)
    assert youtube.poll_interval(now=now, used=0, budget=10_000, reserve=2_000, pages_per_poll=1) == 60.0
    spent = youtube.poll_interval(now=now, used=8_000, budget=10_000, reserve=2_000, pages_per_poll=1)
    assert spent == pytest.approx(86400)  # nothing left for polling: wait for the reset


def test_errors_map_to_backoff_reconnect_or_failure() -> None:
    now = datetime(2026, 7, 1, 12, tzinfo=UTC)
    quota = youtube.map_error(httpx.Response(403, json=google_error(403, "quotaExceeded")), now=now)
    assert isinstance(quota, youtube.QuotaExceeded)
    assert quota.retryable
    assert quota.retry_at == datetime(2026, 7, 2, 7, tzinfo=UTC)
    gone = youtube.map_error(httpx.Response(401, json=google_error(401, "authError")))
    assert gone.needs_reconnect
    assert not gone.retryable
    missing = youtube.map_error(httpx.Response(404, json=google_error(404, "commentNotFound")))
    assert not missing.retryable
    assert "404" in missing.reason
    assert youtube.map_error(httpx.Response(503, text="busy")).retryable


def _poll(database: Database, channel_id: int, run_jobs: Callable[[], int]) -> None:
    with database.session() as session:
        enqueue(session, queue="maintenance", kind=POLL_JOB, payload={"channel_id": channel_id})
    run_jobs()


@respx.mock
def test_a_poll_stores_new_comments_pages_books_quota_and_schedules_the_next(
    database: Database, channel_id: int, run_jobs: Callable[[], int]
) -> None:
    route = respx.get(f"{API}/commentThreads")
    route.side_effect = [
        httpx.Response(200, json=page(thread(comment("UgzA", "Toget er forsinket")), next_token="P2")),
        httpx.Response(200, json=page(thread(comment("UgzB", "Refund?"), comment("UgzB.1", "+1")))),
        httpx.Response(200, json=page(thread(comment("UgzH", "spam spam", status="heldForReview")))),
    ]
    _poll(database, channel_id, run_jobs)
    first = route.calls[0].request
    assert first.headers["Authorization"] == "Bearer ya29.token"
    assert first.url.params["allThreadsRelatedToChannelId"] == OWN
    assert first.url.params["part"] == "snippet,replies"
    assert first.url.params["order"] == "time"
    assert route.calls[1].request.url.params["pageToken"] == "P2"
    assert route.calls[2].request.url.params["moderationStatus"] == "heldForReview"
    assert sorted(str(m.external_id) for m in messages(database, channel_id)) == [
        "UgzA",
        "UgzB",
        "UgzB.1",
        "UgzH",
    ]
    with database.reader() as session:
        state = session.get_one(ChannelState, channel_id)
        assert state.quota_used == 3
        assert state.quota_day == youtube.quota_day(utcnow()).isoformat()
        assert state.poll_state["since"].startswith("2026-05-01")
        queued = session.scalars(select(Job).where(Job.kind == POLL_JOB, Job.status == "queued")).one()
        assert queued.run_at > utcnow()
    # The next poll sees the same comments again: nothing is stored twice.
    route.side_effect = [httpx.Response(200, json=page(thread(comment("UgzA", "Toget er forsinket"))))] * 2
    with database.session() as session:
        for job in session.scalars(select(Job).where(Job.kind == POLL_JOB, Job.status == "queued")):
            job.run_at = utcnow()
    run_jobs()
    assert len(messages(database, channel_id)) == 4
    with database.reader() as session:
        assert session.get_one(ChannelState, channel_id).quota_used == 5


@respx.mock
def test_quota_exceeded_backs_off_until_the_pacific_reset(
    database: Database, channel_id: int, run_jobs: Callable[[], int]
) -> None:
    respx.get(f"{API}/commentThreads").mock(
        return_value=httpx.Response(403, json=google_error(403, "quotaExceeded"))
    )
    _poll(database, channel_id, run_jobs)
    with database.reader() as session:
        state = session.get_one(ChannelState, channel_id)
        assert "quota" in state.last_error
        assert state.next_poll_at == youtube.next_reset(utcnow())


@respx.mock
def test_a_refused_token_marks_the_channel_needs_reconnect(
    database: Database, channel_id: int, run_jobs: Callable[[], int]
) -> None:
    respx.get(f"{API}/commentThreads").mock(
        return_value=httpx.Response(401, json=google_error(401, "authError"))
    )
    _poll(database, channel_id, run_jobs)
    with database.reader() as session:
        assert session.get_one(Channel, channel_id).status == "needs_reconnect"


def _reply(in_reply_to: str) -> OutboundReply:
    return OutboundReply(
        platform="youtube",
        account="NordicRailTV",
        kind="comment",
        text="Sorry — refunds take 5 days.",
        thread_key="UgzTop1",
        in_reply_to=in_reply_to,
        recipient_id=None,
        last_inbound_at=utcnow(),
        idempotency_key="k",
        credentials={"access_token": "ya29.token"},
        config={},
    )


@respx.mock
def test_a_reply_is_comments_insert_on_the_top_level_comment() -> None:
    route = respx.post(f"{API}/comments").mock(
        return_value=httpx.Response(
            200, json=comment("UgzTop1.new", "Sorry — refunds take 5 days.", author=OWN)
        )
    )
    sent = youtube.YouTubeConnector().send_reply(_reply("UgzTop1.r1"))
    assert sent.external_id == "UgzTop1.new"
    request = route.calls[0].request
    assert request.url.params["part"] == "snippet"
    import json

    assert json.loads(request.content) == {
        "snippet": {"parentId": "UgzTop1", "textOriginal": "Sorry — refunds take 5 days."}
    }


@respx.mock
@pytest.mark.parametrize(
    ("action", "status"), [("hide", "heldForReview"), ("unhide", "published"), ("delete", "rejected")]
)
def test_moderation_sets_the_documented_status(action: str, status: str) -> None:
    route = respx.post(f"{API}/comments/setModerationStatus").mock(return_value=httpx.Response(204))
    youtube.YouTubeConnector().moderate(
        ModerationRequest(
            platform="youtube",
            account="NordicRailTV",
            external_id="UgzTop1",
            action=action,  # type: ignore[arg-type]
            credentials={"access_token": "ya29.token"},
            config={},
        )
    )
    assert route.calls[0].request.url.params["id"] == "UgzTop1"
    assert route.calls[0].request.url.params["moderationStatus"] == status


@respx.mock
def test_a_reply_over_quota_is_retried_later() -> None:
    respx.post(f"{API}/comments").mock(
        return_value=httpx.Response(403, json=google_error(403, "quotaExceeded"))
    )
    with pytest.raises(DeliveryError) as raised:
        youtube.YouTubeConnector().send_reply(_reply("UgzTop1"))
    assert raised.value.retryable
    assert isinstance(raised.value, youtube.QuotaExceeded)
