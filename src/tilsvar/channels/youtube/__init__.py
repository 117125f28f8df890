"""YouTube (Data API v3): comments are polled (YouTube has no comment webhooks), replies are
``comments.insert`` and moderation is ``comments.setModerationStatus``, all within a daily quota
(PROTOCOLS.md §3.2). Pure: parsing, quota arithmetic and the HTTP client; no database.

Quota: 10,000 units a day per Google Cloud project, reset at midnight Pacific time;
``commentThreads.list`` costs 1 unit a page, ``comments.insert`` and ``comments.setModerationStatus``
50 each. Moderation mapping (Tilsvar's actions → YouTube's statuses):

- ``hide`` → ``heldForReview``: the comment disappears from the public page and can be published
  again (YouTube's ``rejected`` cannot be undone, and Tilsvar's hide must be).
- ``unhide`` → ``published``.
- ``delete`` → ``rejected``: the channel owner cannot delete someone else's comment; rejecting removes
  it for good (and hides its replies).
"""

from __future__ import annotations

from tilsvar.channels.youtube.client import (
    API_BASE,
    COSTS,
    DAILY_QUOTA,
    MODERATION_STATUS,
    QuotaExceeded,
    ThreadPage,
    YouTubeConnector,
    list_comment_threads,
    map_error,
    next_reset,
    parse_threads,
    poll_interval,
    quota_day,
)

__all__ = [
    "API_BASE",
    "COSTS",
    "DAILY_QUOTA",
    "MODERATION_STATUS",
    "QuotaExceeded",
    "ThreadPage",
    "YouTubeConnector",
    "list_comment_threads",
    "map_error",
    "next_reset",
    "parse_threads",
    "poll_interval",
    "quota_day",
]
