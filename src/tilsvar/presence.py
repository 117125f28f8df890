"""Who is looking at or typing in a conversation right now, for the collision warning before sending.

Presence is short-lived and high-frequency (a heartbeat every few seconds while a page is open), so it
lives in memory, not in the database: each entry expires ``TTL_SECONDS`` after its last heartbeat.

Multi-node: each API node knows only the agents whose browsers talk to it. Behind a load balancer
without sticky sessions, two agents on different nodes do not see each other here; the second line of
defence works everywhere: the reply box shows a "someone replied meanwhile" warning from the event
stream (``reply.queued`` events are in the shared database log), and the collision check on send
(``POST .../presence`` answers with ``replied_since``) reads the database. Routing presence through
PostgreSQL LISTEN/NOTIFY would make it cluster-wide; it is not needed on one node.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Literal

State = Literal["viewing", "typing"]
TTL_SECONDS = 30.0


@dataclass(frozen=True)
class Presence:
    user_id: int
    name: str
    state: State
    seen: float  # time.monotonic()


class PresenceBoard:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_conversation: dict[int, dict[int, Presence]] = {}

    def touch(self, conversation_id: int, *, user_id: int, name: str, state: State) -> None:
        with self._lock:
            self._by_conversation.setdefault(conversation_id, {})[user_id] = Presence(
                user_id, name, state, time.monotonic()
            )

    def leave(self, conversation_id: int, *, user_id: int) -> None:
        with self._lock:
            self._by_conversation.get(conversation_id, {}).pop(user_id, None)

    def others(self, conversation_id: int, *, user_id: int) -> list[Presence]:
        """Everyone else present in the conversation, typing first."""
        cutoff = time.monotonic() - TTL_SECONDS
        with self._lock:
            entries = self._by_conversation.get(conversation_id, {})
            for key in [key for key, entry in entries.items() if entry.seen < cutoff]:
                del entries[key]
            found = [entry for key, entry in entries.items() if key != user_id]
        return sorted(found, key=lambda entry: (entry.state != "typing", entry.name))

    def clear(self) -> None:
        with self._lock:
            self._by_conversation.clear()


board = PresenceBoard()
