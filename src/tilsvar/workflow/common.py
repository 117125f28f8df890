"""Vocabulary the workflow engines share (priorities, conversation kinds, references to objects).

Kept apart so that `sla`, `rules` and `assignment` agree on names without importing each other.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

Priority = Literal["low", "normal", "high", "urgent"]
PRIORITIES: tuple[Priority, ...] = ("low", "normal", "high", "urgent")
PRIORITY_RANK: dict[str, int] = {name: rank for rank, name in enumerate(PRIORITIES)}

Kind = Literal["comment", "dm", "email", "chat", "post"]
KINDS: tuple[Kind, ...] = ("comment", "dm", "email", "chat", "post")

# A team, agent, brand or channel as the caller names it: a database id or a slug.
Ref = int | str


def require_aware(moment: datetime, what: str = "datetime") -> datetime:
    """The same instant in UTC; naive datetimes are refused (they are a bug at the caller)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got {moment.isoformat()}")
    return moment.astimezone(UTC)
