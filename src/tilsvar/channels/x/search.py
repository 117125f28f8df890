"""X recent search (``GET /2/tweets/search/recent``) for brand listening: posts that talk about the
brand without @-mentioning it never reach the Account Activity webhook, so monitors poll for them.

Pure: one call in, parsed posts out. The caller keeps the ``since_id`` cursor (the newest id seen,
so each poll reads only newer posts) and the pacing: X answers ``x-rate-limit-remaining`` and
``x-rate-limit-reset`` (epoch seconds) on every call, and 429 when the window is spent, which
raises ``RateLimited`` with the reset time. Posts by the brand's own account, and posts that
@-mention it (those arrive through the webhook already), are left out. Authentication is an app
bearer token (``bearer_token``) or the user's OAuth 2.0 token (``access_token``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from tilsvar.channels.base import DeliveryError
from tilsvar.channels.x.outbound import API_BASE

TIMEOUT = httpx.Timeout(15.0)
PATH = "/2/tweets/search/recent"
MAX_RESULTS = 100  # X's page size limit for recent search
MAX_PAGES = 3  # pages (``next_token``) one poll follows; more new posts than that are cut at the newest
SOURCE = "x_recent_search"


class RateLimited(DeliveryError):
    """The search window is spent; try again at ``reset_at``."""

    def __init__(self, reset_at: datetime) -> None:
        super().__init__(f"X rate limit reached; resets at {reset_at.isoformat()}", retryable=True)
        self.reset_at = reset_at


@dataclass(frozen=True, slots=True)
class FoundPost:
    """One post a monitor found."""

    id: str
    text: str
    created_at: datetime
    author_id: str
    author_handle: str
    author_name: str
    conversation_id: str
    url: str
    lang: str = ""


@dataclass(slots=True)
class SearchPage:
    posts: list[FoundPost] = field(default_factory=list)
    newest_id: str = ""  # the cursor for the next poll (unchanged when nothing new was found)
    skipped: int = 0  # own posts and @-mentions of the brand
    remaining: int | None = None
    reset_at: datetime | None = None


def _epoch(value: str | None) -> datetime | None:
    if value and value.isdigit():
        return datetime.fromtimestamp(int(value), UTC)
    return None


def _when(value: Any) -> datetime:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(UTC)


def parse_page(data: dict[str, Any], *, brand_handle: str = "", brand_user_id: str = "") -> SearchPage:
    """The posts of one recent-search answer (``expansions=author_id``), leaving out the brand's own
    posts and those that @-mention the brand."""
    users = {str(user.get("id")): user for user in dict(data.get("includes") or {}).get("users") or []}
    handle = brand_handle.lstrip("@").lower()
    page = SearchPage(newest_id=str(dict(data.get("meta") or {}).get("newest_id") or ""))
    for post in data.get("data") or []:
        author_id = str(post.get("author_id") or "")
        mentions = {
            str(mention.get("username") or "").lower()
            for mention in dict(post.get("entities") or {}).get("mentions") or []
        }
        if (brand_user_id and author_id == brand_user_id) or (handle and handle in mentions):
            page.skipped += 1
            continue
        author = users.get(author_id, {})
        username = str(author.get("username") or "")
        post_id = str(post["id"])
        page.posts.append(
            FoundPost(
                id=post_id,
                text=str(post.get("text") or ""),
                created_at=_when(post.get("created_at")),
                author_id=author_id,
                author_handle=username,
                author_name=str(author.get("name") or username),
                conversation_id=str(post.get("conversation_id") or post_id),
                url=f"https://x.com/{username or 'i/web'}/status/{post_id}",
                lang=str(post.get("lang") or ""),
            )
        )
    return page


def recent_search(
    query: str,
    *,
    credentials: dict[str, Any],
    config: dict[str, Any],
    since_id: str = "",
    brand_handle: str = "",
    client: httpx.Client | None = None,
) -> SearchPage:
    """One page of posts newer than ``since_id`` matching ``query`` (X search syntax)."""
    token = str(credentials.get("bearer_token") or credentials.get("access_token") or "")
    if not token:
        raise DeliveryError(
            "the X channel has no bearer token for search", retryable=False, needs_reconnect=True
        )
    params: dict[str, str | int] = {
        "query": query,
        "max_results": MAX_RESULTS,
        "tweet.fields": "created_at,author_id,conversation_id,entities,lang",
        "expansions": "author_id",
        "user.fields": "username,name",
    }
    if since_id:
        params["since_id"] = since_id
    base = str(config.get("api_base") or API_BASE).rstrip("/")
    max_pages = int(config.get("search_max_pages") or MAX_PAGES)
    http = client or httpx.Client(timeout=TIMEOUT)
    result = SearchPage()
    try:
        for number in range(max_pages):
            data, remaining, reset_at = _get(http, base + PATH, params, token)
            page = parse_page(
                data, brand_handle=brand_handle, brand_user_id=str(config.get("account_id") or "")
            )
            result.posts += page.posts
            result.skipped += page.skipped
            result.newest_id = result.newest_id or page.newest_id  # the first page holds the newest
            result.remaining, result.reset_at = remaining, reset_at
            next_token = str(dict(data.get("meta") or {}).get("next_token") or "")
            if not next_token or number + 1 == max_pages or (remaining is not None and remaining <= 0):
                break
            params["next_token"] = next_token
    finally:
        if client is None:
            http.close()
    return result


def _get(
    http: httpx.Client, url: str, params: dict[str, str | int], token: str
) -> tuple[dict[str, Any], int | None, datetime | None]:
    """One call: its JSON, the calls left in the rate-limit window and when the window resets."""
    try:
        response = http.get(url, params=params, headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as error:
        raise DeliveryError(f"X unreachable: {type(error).__name__}: {error}", retryable=True) from error
    reset_at = _epoch(response.headers.get("x-rate-limit-reset"))
    if response.status_code == 429:
        raise RateLimited(reset_at or datetime.now(UTC))
    if response.status_code in {401, 403}:
        raise DeliveryError(
            f"X refused the search ({response.status_code}): {response.text[:200]}",
            retryable=False,
            needs_reconnect=response.status_code == 401,
        )
    if response.status_code >= 400:
        raise DeliveryError(
            f"X search failed ({response.status_code}): {response.text[:200]}",
            retryable=response.status_code >= 500,
        )
    try:
        data = response.json()
    except ValueError as error:
        raise DeliveryError("X answered with something that is not JSON", retryable=True) from error
    remaining = response.headers.get("x-rate-limit-remaining")
    return (
        data if isinstance(data, dict) else {},
        int(remaining) if remaining and remaining.isdigit() else None,
        reset_at,
    )
