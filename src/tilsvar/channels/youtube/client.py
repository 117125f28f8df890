"""The YouTube Data API v3 client: list comment threads, reply, set moderation status, quota
arithmetic (Pacific-time days) and the mapping of Google's error answers to ``DeliveryError``.

Google errors look like ``{"error": {"code": 403, "message": …, "errors": [{"reason":
"quotaExceeded", "domain": "youtube.quota"}]}}``. ``quotaExceeded`` / ``dailyLimitExceeded`` mean
"wait for the reset at midnight Pacific" (:class:`QuotaExceeded`, retryable, with the reset time);
401 means the OAuth token is gone (reconnect); 429, ``rateLimitExceeded`` and 5xx are retried.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tilsvar.channels.base import (
    Author,
    DeliveryError,
    InboundMessage,
    ModerationRequest,
    OutboundReply,
    SendResult,
)

API_BASE = "https://www.googleapis.com"
PACIFIC = ZoneInfo("America/Los_Angeles")
DAILY_QUOTA = 10_000
COSTS = {
    "commentThreads.list": 1,
    "comments.list": 1,
    "comments.insert": 50,
    "comments.setModerationStatus": 50,
}
MODERATION_STATUS = {"hide": "heldForReview", "unhide": "published", "delete": "rejected"}
QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})
RETRY_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "backendError"})
TIMEOUT = httpx.Timeout(15.0)


def quota_day(now: datetime) -> date:
    """The quota day ``now`` falls in (quotas reset at midnight Pacific time)."""
    return now.astimezone(PACIFIC).date()


def next_reset(now: datetime) -> datetime:
    """The next midnight Pacific time after ``now``, in UTC (DST-aware)."""
    tomorrow = quota_day(now) + timedelta(days=1)
    return datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=PACIFIC).astimezone(UTC)


def poll_interval(*, now: datetime, used: int, budget: int, reserve: int, pages_per_poll: float) -> float:
    """Seconds until the next poll so that polling spends what is left of today's ``budget`` (less
    ``reserve`` units kept for replies and moderation) evenly until the reset; at least 60 s."""
    left = budget - reserve - used
    seconds_left = max((next_reset(now) - now).total_seconds(), 1.0)
    if left <= 0:
        return seconds_left  # nothing left for polling today: wait for the reset
    polls = left / max(pages_per_poll, 1.0)
    return max(seconds_left / polls, 60.0)


class QuotaExceeded(DeliveryError):
    """YouTube refused because the day's quota is spent; try again after ``retry_at``."""

    def __init__(self, reason: str, *, retry_at: datetime) -> None:
        super().__init__(reason, retryable=True)
        self.retry_at = retry_at


def map_error(response: httpx.Response, *, now: datetime | None = None) -> DeliveryError:
    try:
        error = dict(response.json().get("error") or {})
    except (ValueError, AttributeError):
        error = {}
    details = [item for item in error.get("errors") or [] if isinstance(item, dict)]
    reasons = {str(item.get("reason") or "") for item in details}
    message = str(error.get("message") or response.text[:200])
    reason = f"YouTube answered {response.status_code}: {message}"
    if reasons & QUOTA_REASONS:
        reset = next_reset(now or datetime.now(UTC))
        return QuotaExceeded(
            f"{reason} (daily quota spent; resumes after {reset:%Y-%m-%d %H:%M} UTC)", retry_at=reset
        )
    if response.status_code == 401:
        return DeliveryError(
            f"{reason} — the access token is no longer valid; reconnect the channel",
            retryable=False,
            needs_reconnect=True,
        )
    if response.status_code in {429, 500, 502, 503, 504} or reasons & RETRY_REASONS:
        return DeliveryError(f"{reason} (will retry)", retryable=True)
    return DeliveryError(reason, retryable=False)


@dataclass(frozen=True, slots=True)
class ThreadPage:
    """One page of ``commentThreads.list``: the raw thread resources and the next page token."""

    items: list[dict[str, Any]]
    next_page_token: str | None
    cost: int = COSTS["commentThreads.list"]
    extra: dict[str, Any] = field(default_factory=dict)


def _request(
    method: str,
    path: str,
    *,
    credentials: dict[str, Any],
    config: dict[str, Any],
    client: httpx.Client | None,
    **kwargs: Any,
) -> httpx.Response:
    token = str(credentials.get("access_token") or "")
    if not token:
        raise DeliveryError(
            "the channel has no access token; reconnect it", retryable=False, needs_reconnect=True
        )
    base = str(config.get("api_base") or API_BASE).rstrip("/")
    http = client or httpx.Client(timeout=TIMEOUT)
    try:
        response = http.request(method, base + path, headers={"Authorization": f"Bearer {token}"}, **kwargs)
    except httpx.HTTPError as error:
        raise DeliveryError(
            f"YouTube unreachable: {type(error).__name__}: {error}", retryable=True
        ) from error
    finally:
        if client is None:
            http.close()
    if response.status_code >= 400:
        raise map_error(response)
    return response


def list_comment_threads(
    *,
    channel_id: str,
    credentials: dict[str, Any],
    config: dict[str, Any],
    page_token: str | None = None,
    moderation_status: str | None = None,
    client: httpx.Client | None = None,
) -> ThreadPage:
    """One page (up to 100 threads, newest first) of the threads on the channel and all its videos."""
    params = {
        "part": "snippet,replies",
        "allThreadsRelatedToChannelId": channel_id,
        "order": "time",
        "maxResults": "100",
        "textFormat": "plainText",
    }
    if page_token:
        params["pageToken"] = page_token
    if moderation_status:
        params["moderationStatus"] = moderation_status
    data = _request(
        "GET",
        "/youtube/v3/commentThreads",
        credentials=credentials,
        config=config,
        client=client,
        params=params,
    ).json()
    return ThreadPage(
        items=[item for item in data.get("items") or [] if isinstance(item, dict)],
        next_page_token=data.get("nextPageToken") or None,
    )


def _time(value: Any) -> datetime:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return datetime.now(UTC)


def _comment(resource: dict[str, Any], *, account: str, parent: str | None, video: str) -> InboundMessage:
    snippet = dict(resource.get("snippet") or {})
    author_id = str(dict(snippet.get("authorChannelId") or {}).get("value") or "")
    status = str(snippet.get("moderationStatus") or "published")
    return InboundMessage(
        platform="youtube",
        account=account,
        external_id=str(resource.get("id") or ""),
        direction="in",
        kind="comment",
        text=str(snippet.get("textOriginal") or snippet.get("textDisplay") or ""),
        created_at=_time(snippet.get("publishedAt")),
        author=Author(
            id=author_id,
            handle=str(snippet.get("authorDisplayName") or ""),
            name=str(snippet.get("authorDisplayName") or "").lstrip("@"),
        )
        if author_id
        else None,
        in_reply_to=parent,
        thread_id=None if parent else str(resource.get("id") or ""),
        extra={
            "video_id": video,
            "moderation_status": status,
            "subject": f"Comment on video {video}" if video else "Comment on the channel",
        },
    )


def parse_threads(items: list[dict[str, Any]], *, account: str, channel_id: str) -> list[InboundMessage]:
    """The comments of ``commentThreads`` resources: each top-level comment starts a conversation,
    its replies join it. The channel's own comments (its replies) are skipped."""
    found: list[InboundMessage] = []
    for thread in items:
        snippet = dict(thread.get("snippet") or {})
        top = dict(snippet.get("topLevelComment") or {})
        video = str(snippet.get("videoId") or dict(top.get("snippet") or {}).get("videoId") or "")
        if not top.get("id"):
            continue
        top_id = str(top["id"])
        candidates = [(top, None)] + [
            (reply, top_id)
            for reply in dict(thread.get("replies") or {}).get("comments") or []
            if isinstance(reply, dict) and reply.get("id")
        ]
        for resource, parent in candidates:
            author = dict(dict(resource.get("snippet") or {}).get("authorChannelId") or {}).get("value")
            if author and str(author) == channel_id:
                continue
            found.append(_comment(resource, account=account, parent=parent, video=video))
    return found


class YouTubeConnector:
    """Replies (``comments.insert``) and moderation (``comments.setModerationStatus``)."""

    def __init__(self, client: httpx.Client | None = None) -> None:
        self._client = client

    def send_reply(self, reply: OutboundReply) -> SendResult:
        target = reply.in_reply_to or (reply.thread_key if not reply.thread_key.startswith("dm:") else "")
        if not target:
            raise DeliveryError(
                "nothing to reply to: the conversation has no customer comment", retryable=False
            )
        parent = target.split(".")[0]  # a reply's id is "<top-level id>.<suffix>"; replies go to the top
        response = _request(
            "POST",
            "/youtube/v3/comments",
            credentials=reply.credentials,
            config=reply.config,
            client=self._client,
            params={"part": "snippet"},
            json={"snippet": {"parentId": parent, "textOriginal": reply.text}},
        )
        comment_id = str(response.json().get("id") or "")
        if not comment_id:
            raise DeliveryError("YouTube accepted the reply but returned no id", retryable=False)
        return SendResult(external_id=comment_id)

    def moderate(self, request: ModerationRequest) -> None:
        """hide → heldForReview, unhide → published, delete → rejected (see the package docstring)."""
        status = MODERATION_STATUS[request.action]
        _request(
            "POST",
            "/youtube/v3/comments/setModerationStatus",
            credentials=request.credentials,
            config=request.config,
            client=self._client,
            params={"id": request.external_id, "moderationStatus": status},
        )
