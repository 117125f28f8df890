"""Shapes of the API's JSON answers, for the OpenAPI document and for tests that hold the API to it.

Hot read endpoints build plain dicts (``inbox`` rows' ``as_json``) and answer with them directly, which
skips FastAPI's generic encoder (several milliseconds for a page of 50); these models describe the same
shape, and ``tests/test_api.py`` validates real answers against them with unknown keys forbidden.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BrandRef(Strict):
    id: int
    name: str


class ChannelRef(Strict):
    id: int
    platform: str
    account: str
    name: str


class SlaOut(Strict):
    level: str  # ok, warning, breached, paused, none
    due_at: str | None  # the earliest due time of a running SLA clock


class ConversationOut(Strict):
    id: int
    brand: BrandRef
    channel: ChannelRef
    kind: str
    status: str
    customer: str | None
    preview: str
    message_count: int
    waiting_since: str | None
    waiting_minutes: float | None
    last_message_at: str
    first_inbound_at: str | None
    first_response_at: str | None
    assignee_id: int | None
    priority: str
    intent: str | None
    sentiment: str | None
    language: str | None
    pii_exposed: bool
    flagged: bool
    team_id: int | None
    sla: SlaOut


class InboxPageOut(Strict):
    items: list[ConversationOut]
    next_cursor: str | None


class ModerationIn(BaseModel):
    action: Literal["hide", "unhide", "delete"]
    reason: str = Field(min_length=1, max_length=300)


class ClearFlagIn(BaseModel):
    reason: str = Field(default="looked at, fine", max_length=300)
